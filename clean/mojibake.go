package clean

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mojibake repair undoes one common encoding accident: UTF-8 bytes that a
// program decoded as Windows-1252 (or ISO 8859-1) and then stored as UTF-8
// again, so "é" (C3 A9) shows as "Ã©" and "İ" (C4 B0) as "Ä°". The byte
// table is the WHATWG Encoding Standard's windows-1252 index; the five
// bytes it leaves undefined (81 8D 8F 90 9D) and every byte 80-9F read as
// ISO 8859-1 map to the C1 controls U+0080-U+009F, which are mapped back
// as well.
//
// The repair works per run of characters that have a single-byte
// Windows-1252 or Latin-1 form at 0x80 or above. Inside a run, each
// sequence of such bytes that forms one complete, valid multi-byte UTF-8
// character is replaced by that character, and everything else stays. A
// correct accented letter stands next to ASCII ("São", "café"), so its
// byte never starts a valid sequence and it is left alone; a correct en
// dash or curly quote elsewhere in the text does not matter either,
// because each run is repaired on its own. The text is repaired again until
// nothing changes, which also undoes double encoding ("ÃƒÂ©" to "é").
// Each pass makes the text strictly shorter, so the loop ends.
//
// NOTE: a genuine capital Latin-1 letter directly followed by a Latin-1
// symbol ("Ã©" written on purpose, as in this comment) is indistinguishable
// from mojibake and is repaired too.

// cp1252High maps Windows-1252 bytes 0x80-0x9F to their characters; zero
// marks the five undefined bytes.
var cp1252High = [32]rune{
	'€', 0, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0, 'Ž', 0,
	0, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0, 'ž', 'Ÿ',
}

// cp1252Byte maps the characters of cp1252High back to their bytes.
var cp1252Byte = func() map[rune]byte {
	m := make(map[rune]byte, 27)
	for i, r := range cp1252High {
		if r != 0 {
			m[r] = byte(0x80 + i)
		}
	}
	return m
}()

// highByte returns the byte at or above 0x80 that r has in Windows-1252 or
// Latin-1, and false when r has none.
func highByte(r rune) (byte, bool) {
	if r >= 0x80 && r <= 0xFF {
		return byte(r), true
	}
	b, ok := cp1252Byte[r]
	return b, ok
}

// repairMojibake repairs mojibake in s, which must be valid UTF-8, and
// returns the text and the number of characters restored.
func repairMojibake(s string) (string, int) {
	total := 0
	for {
		fixed, n := repairMojibakeOnce(s)
		if n == 0 {
			return s, total
		}
		s = fixed
		total += n
	}
}

// repairMojibakeOnce makes one pass over s.
func repairMojibakeOnce(s string) (string, int) {
	// Quick return: mojibake needs a lead byte C2-F4, which as a character
	// is in U+00C2-U+00F4.
	if !hasMojibakeLead(s) {
		return s, 0
	}

	var b strings.Builder
	repaired := 0
	runBytes := make([]byte, 0, 16)
	runText := make([]rune, 0, 16)
	flush := func() {
		if len(runText) >= 2 {
			repaired += repairRun(&b, runBytes, runText)
		} else {
			for _, r := range runText {
				b.WriteRune(r)
			}
		}
		runBytes = runBytes[:0]
		runText = runText[:0]
	}
	b.Grow(len(s))
	for _, r := range s {
		if c, ok := highByte(r); ok {
			runBytes = append(runBytes, c)
			runText = append(runText, r)
			continue
		}
		flush()
		b.WriteRune(r)
	}
	flush()
	if repaired == 0 {
		return s, 0
	}
	return b.String(), repaired
}

func hasMojibakeLead(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		// U+00C0-U+00FF encode as C3 80-C3 BF, so U+00C2-U+00F4 are
		// C3 82-C3 B4.
		if s[i] == 0xC3 && s[i+1] >= 0x82 && s[i+1] <= 0xB4 {
			return true
		}
	}
	return false
}

// repairRun writes the repaired form of one run to b: bytes holds the run's
// single-byte forms and text its characters, index for index. It returns
// the number of characters restored.
func repairRun(b *strings.Builder, bytes []byte, text []rune) int {
	restored := 0
	for i := 0; i < len(bytes); {
		n := utf8SequenceLength(bytes[i])
		if n >= 2 && i+n <= len(bytes) {
			r, size := utf8.DecodeRune(bytes[i : i+n])
			if size == n && r != utf8.RuneError && plausibleRepair(r) {
				b.WriteRune(r)
				restored++
				i += n
				continue
			}
		}
		b.WriteRune(text[i])
		i++
	}
	return restored
}

// utf8SequenceLength returns the length of the UTF-8 sequence that lead
// starts, or 0 when lead cannot start a multi-byte sequence.
func utf8SequenceLength(lead byte) int {
	switch {
	case lead >= 0xC2 && lead <= 0xDF:
		return 2
	case lead >= 0xE0 && lead <= 0xEF:
		return 3
	case lead >= 0xF0 && lead <= 0xF4:
		return 4
	}
	return 0
}

// plausibleRepair rejects decoded characters that real text does not
// contain, so a chance byte pattern is not turned into a control character.
func plausibleRepair(r rune) bool {
	if unicode.IsControl(r) || r == '\uFFFD' || r == '\uFEFF' {
		return false
	}
	return unicode.IsPrint(r) || unicode.IsSpace(r) || r == '\u00AD' || unicode.Is(unicode.Cf, r)
}
