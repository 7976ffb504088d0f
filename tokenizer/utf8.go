package tokenizer

import "unicode/utf8"

// appendLossyUTF8 appends b to dst as text, replacing every maximal invalid
// subsequence with one U+FFFD. This is the rule of Rust's
// String::from_utf8_lossy, which Hugging Face's decoders use. Go's
// utf8.DecodeRune differs because it reports each invalid byte separately.
// For example E4 B8 41 becomes "\uFFFDA" here and "\uFFFD\uFFFDA" in Go.
func appendLossyUTF8(dst []byte, b []byte) []byte {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			dst = append(dst, b[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			dst = append(dst, b[i:i+size]...)
			i += size
			continue
		}
		i += invalidPrefixLen(b[i:])
		dst = append(dst, "\uFFFD"...)
	}
	return dst
}

// invalidPrefixLen returns how many bytes of b, which starts with an invalid
// or truncated UTF-8 sequence, form one maximal invalid subsequence: the lead
// byte plus the continuation bytes that a valid sequence could still have.
func invalidPrefixLen(b []byte) int {
	first := b[0]
	isCont := func(i int) bool { return i < len(b) && b[i] >= 0x80 && b[i] <= 0xBF }
	inRange := func(i int, lo, hi byte) bool { return i < len(b) && b[i] >= lo && b[i] <= hi }

	switch {
	case first >= 0xC2 && first <= 0xDF:
		return 1
	case first >= 0xE0 && first <= 0xEF:
		var ok bool
		switch {
		case first == 0xE0:
			ok = inRange(1, 0xA0, 0xBF)
		case first == 0xED:
			ok = inRange(1, 0x80, 0x9F)
		default:
			ok = isCont(1)
		}
		if !ok {
			return 1
		}
		return 2
	case first >= 0xF0 && first <= 0xF4:
		var ok bool
		switch first {
		case 0xF0:
			ok = inRange(1, 0x90, 0xBF)
		case 0xF4:
			ok = inRange(1, 0x80, 0x8F)
		default:
			ok = isCont(1)
		}
		if !ok {
			return 1
		}
		if !isCont(2) {
			return 2
		}
		return 3
	default:
		return 1
	}
}
