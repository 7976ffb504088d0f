package tokenizer

// The byte-to-unicode table of GPT-2's byte-level BPE is bytes_to_unicode in
// OpenAI's gpt-2 encoder.py, which the ByteLevel pre-tokenizer of Hugging
// Face tokenizers 0.23 reproduces. The printable bytes 33..126, 161..172 and
// 174..255 map to the rune of the same value. The remaining 68 bytes map, in
// increasing order, to U+0100 onwards.

// byteLevelMaxRune is one past the largest rune that byteToRune produces
// (U+0100 + 68 - 1 = U+0143).
const byteLevelMaxRune = 0x144

var (
	// byteToRune maps a byte to its byte-level rune.
	byteToRune [256]rune
	// runeToByte maps a byte-level rune back to its byte; runeIsByte marks
	// which entries are valid.
	runeToByte [byteLevelMaxRune]byte
	runeIsByte [byteLevelMaxRune]bool
	// byteLevelOrder lists the 256 bytes in GPT-2 vocabulary order: first the
	// bytes that map to themselves, then the others.
	byteLevelOrder [256]byte
)

func init() {
	printable := func(b int) bool {
		return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)
	}
	n := 0
	for b := 0; b < 256; b++ {
		if printable(b) {
			byteToRune[b] = rune(b)
			byteLevelOrder[n] = byte(b)
			n++
		}
	}
	next := rune(256)
	for b := 0; b < 256; b++ {
		if !printable(b) {
			byteToRune[b] = next
			byteLevelOrder[n] = byte(b)
			n++
			next++
		}
	}
	for b := 0; b < 256; b++ {
		runeToByte[byteToRune[b]] = byte(b)
		runeIsByte[byteToRune[b]] = true
	}
}

// byteLevelString maps every byte of s to its byte-level rune.
func byteLevelString(s string) string {
	buf := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		buf[i] = byteToRune[s[i]]
	}
	return string(buf)
}

// byteLevelBytes appends the bytes that token stands for to dst. A token
// containing a rune outside the byte-level alphabet (an added token such as
// a Chinese word) contributes its UTF-8 bytes unchanged, as the Rust decoder
// does.
func byteLevelBytes(dst []byte, token string) []byte {
	start := len(dst)
	for _, r := range token {
		if r < 0 || r >= byteLevelMaxRune || !runeIsByte[r] {
			return append(dst[:start], token...)
		}
		dst = append(dst, runeToByte[r])
	}
	return dst
}
