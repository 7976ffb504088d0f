package neardup

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Shingling. A document's shingle set is built over its lower-cased text:
//
//   - For space-separated scripts, tokens are maximal runs of letters,
//     digits and combining marks, so punctuation and spacing differences do
//     not change the set, and a shingle is n consecutive tokens (w-shingling,
//     Broder 1997).
//   - When at least cjkShare of the letters are Han, Hiragana or Katakana
//     (Chinese and Japanese, which do not separate words with spaces),
//     tokens are single letters and digits and a shingle is n consecutive
//     characters.
//
// Each token is hashed once with 64-bit FNV-1a (Fowler-Noll-Vo). A
// shingle's hash combines its n token hashes in order, so a document costs
// one pass over its bytes plus n cheap steps per shingle.

// FNV-1a 64-bit parameters.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// cjkShare is the minimum share of Han, Hiragana and Katakana letters among
// all letters for which a text is shingled by characters. Half is an
// estimate: mixed Chinese text with Latin terms stays above it, and English
// text quoting a few Chinese names stays below.
const cjkShare = 0.5

// mix64 is the finalizer of SplitMix64 (Steele, Lea, Flood, "Fast
// Splittable Pseudorandom Number Generators", OOPSLA 2014), a bijection
// that spreads every input bit over the output.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// combine folds the hashes of one shingle's tokens, in order.
func combine(tokens []uint64) uint64 {
	h := uint64(fnvOffset64)
	for _, t := range tokens {
		h = mix64(h ^ t)
	}
	return h
}

// isTokenRune reports whether r belongs to a word token.
func isTokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)
}

// hashRune folds the UTF-8 bytes of r into the FNV-1a hash h.
func hashRune(h uint64, r rune) uint64 {
	if r < utf8.RuneSelf {
		return (h ^ uint64(r)) * fnvPrime64
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	for _, b := range buf[:n] {
		h = (h ^ uint64(b)) * fnvPrime64
	}
	return h
}

// wordTokens appends the hashes of text's lower-cased word tokens to dst
// and returns it with the number of letters and of Han, Hiragana and
// Katakana letters.
func wordTokens(dst []uint64, text string) (tokens []uint64, letters, cjk int) {
	h := uint64(fnvOffset64)
	inToken := false
	for i := 0; i < len(text); {
		var r rune
		if c := text[i]; c < utf8.RuneSelf {
			r = rune(c)
			i++
			// ASCII fast path.
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			case 'A' <= c && c <= 'Z':
				r += 'a' - 'A'
			default:
				if inToken {
					dst = append(dst, h)
					h, inToken = fnvOffset64, false
				}
				continue
			}
			if c > '9' {
				letters++
			}
			h = (h ^ uint64(r)) * fnvPrime64
			inToken = true
			continue
		}

		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		if !isTokenRune(r) {
			if inToken {
				dst = append(dst, h)
				h, inToken = fnvOffset64, false
			}
			continue
		}
		if unicode.IsLetter(r) {
			letters++
			if isCJK(r) {
				cjk++
			}
		}
		h = hashRune(h, unicode.ToLower(r))
		inToken = true
	}
	if inToken {
		dst = append(dst, h)
	}
	return dst, letters, cjk
}

// charTokens appends the hashes of text's lower-cased letters and digits,
// one per character, to dst.
func charTokens(dst []uint64, text string) []uint64 {
	for _, r := range text {
		if isTokenRune(r) {
			dst = append(dst, hashRune(fnvOffset64, unicode.ToLower(r)))
		}
	}
	return dst
}

// tokenize returns the token hashes of text, by words or by characters
// depending on its script, reusing buf.
func tokenize(buf []uint64, text string) []uint64 {
	tokens, letters, cjk := wordTokens(buf[:0], text)
	if cjk > 0 && float64(cjk) >= cjkShare*float64(letters) {
		tokens = charTokens(tokens[:0], text)
	}
	return tokens
}

// wholeTextHash hashes the lower-cased, trimmed text as one shingle, for
// texts with no token (only punctuation or symbols).
func wholeTextHash(text string) uint64 {
	h := uint64(fnvOffset64)
	for _, r := range strings.TrimSpace(text) {
		h = hashRune(h, unicode.ToLower(r))
	}
	return mix64(h)
}

// forEachShingle calls fn with the hash of every n-token shingle of
// tokens. Fewer than n tokens form a single shingle of all of them. It
// returns false when there is no token.
func forEachShingle(tokens []uint64, n int, fn func(uint64)) bool {
	if len(tokens) == 0 {
		return false
	}
	if len(tokens) < n {
		fn(combine(tokens))
		return true
	}
	for i := 0; i+n <= len(tokens); i++ {
		fn(combine(tokens[i : i+n]))
	}
	return true
}
