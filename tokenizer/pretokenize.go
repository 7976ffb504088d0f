package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Hand-written matchers for the two split patterns that byte-level BPE
// tokenizers use. Go's regexp has no lookahead, and its \s is ASCII-only,
// so the patterns cannot run there unchanged. Each matcher returns the end
// of the match that starts at i, following Oniguruma's leftmost-first
// alternation (the engine of Hugging Face tokenizers 0.23). Every rune is
// matched by some alternative, so consecutive matches cover the whole text.
//
// Character classes follow Oniguruma with UTF-8: \s is the Unicode
// White_Space property (it includes U+0085 and excludes U+FEFF), \p{L} and
// \p{N} are the Unicode general categories L and N. Bytes that are not valid
// UTF-8 (impossible in Rust strings) count as "other" characters.
//
// NOTE: the classes come from Go's unicode tables (Unicode 15.0 in Go 1.26),
// and Oniguruma 6.9 in the Rust library may use another Unicode version, so
// characters assigned in between can split differently.

// gpt2Pattern is the split pattern of OpenAI's GPT-2 encoder and of the
// ByteLevel pre-tokenizer with use_regex=true.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// cl100kPattern is the split pattern of tiktoken's cl100k_base, also used by
// Llama 3.
const cl100kPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// qwen2Pattern is cl100kPattern with single digits, as in Qwen2's
// tokenizer.json.
const qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// splitFunc returns the end of the pre-token that starts at byte i of s
// (i < len(s)); the result is always greater than i.
type splitFunc func(s string, i int) int

// charClass is the class of a rune for the split patterns.
type charClass uint8

const (
	classOther charClass = iota
	classSpace
	classLetter
	classNumber
)

// classify returns the rune at byte i of s, its width and its class.
func classify(s string, i int) (rune, int, charClass) {
	c := s[i]
	if c < utf8.RuneSelf {
		return rune(c), 1, asciiClass[c]
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && w == 1 {
		return r, 1, classOther
	}
	switch {
	case unicode.IsLetter(r):
		return r, w, classLetter
	case unicode.Is(unicode.N, r):
		return r, w, classNumber
	case unicode.Is(unicode.White_Space, r):
		return r, w, classSpace
	}
	return r, w, classOther
}

var asciiClass [utf8.RuneSelf]charClass

func init() {
	for c := 0; c < utf8.RuneSelf; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			asciiClass[c] = classLetter
		case c >= '0' && c <= '9':
			asciiClass[c] = classNumber
		case c == ' ', c >= '\t' && c <= '\r':
			asciiClass[c] = classSpace
		}
	}
}

// classAt returns the class of the rune at byte i and the byte after it, or
// ok=false at the end of s.
func classAt(s string, i int) (charClass, int, bool) {
	if i >= len(s) {
		return 0, i, false
	}
	_, w, cl := classify(s, i)
	return cl, i + w, true
}

// skipClass returns the end of the run of runes of class cl starting at i.
func skipClass(s string, i int, cl charClass) int {
	for i < len(s) {
		c, next, _ := classAt(s, i)
		if c != cl {
			return i
		}
		i = next
	}
	return i
}

// contractionLen returns the length of the contraction 's 't 're 've 'm 'll
// 'd at i, or 0. With foldCase the letters match case-insensitively under
// Unicode simple case folding, which also folds U+017F (long s) to s.
func contractionLen(s string, i int, foldCase bool) int {
	if s[i] != '\'' || i+1 >= len(s) {
		return 0
	}
	lower := func(c byte) byte {
		if foldCase && c >= 'A' && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	switch lower(s[i+1]) {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if i+2 < len(s) && lower(s[i+2]) == 'e' {
			return 3
		}
	case 'l':
		if i+2 < len(s) && lower(s[i+2]) == 'l' {
			return 3
		}
	}
	if foldCase && len(s)-i >= 3 && s[i+1:i+3] == "\u017f" {
		return 3
	}
	return 0
}

// whitespaceMatch implements the tail `\s+(?!\S)|\s+` at i, where the rune
// at i is whitespace: the run of whitespace, minus its last rune when a
// non-space follows and the run is longer than one rune.
func whitespaceMatch(s string, i int) int {
	end, last := i, i
	for end < len(s) {
		c, next, _ := classAt(s, end)
		if c != classSpace {
			break
		}
		last = end
		end = next
	}
	if end < len(s) && last > i {
		return last
	}
	return end
}

// splitGPT2 matches gpt2Pattern at i.
func splitGPT2(s string, i int) int {
	if n := contractionLen(s, i, false); n > 0 {
		return i + n
	}
	cl, next, _ := classAt(s, i)

	// ` ?\p{L}+`, ` ?\p{N}+` and ` ?[^\s\p{L}\p{N}]+` with the leading space.
	if s[i] == ' ' {
		if ncl, after, ok := classAt(s, next); ok && ncl != classSpace {
			return skipClass(s, after, ncl)
		}
	}
	if cl != classSpace {
		return skipClass(s, next, cl)
	}
	return whitespaceMatch(s, i)
}

// splitCL100K matches cl100kPattern at i.
func splitCL100K(s string, i int) int { return splitDigitGroups(s, i, 3) }

// splitQwen2 matches qwen2Pattern at i.
func splitQwen2(s string, i int) int { return splitDigitGroups(s, i, 1) }

// splitDigitGroups matches cl100kPattern at i, with \p{N}{1,maxDigits} in
// place of \p{N}{1,3}.
func splitDigitGroups(s string, i int, maxDigits int) int {
	if n := contractionLen(s, i, true); n > 0 {
		return i + n
	}
	cl, next, _ := classAt(s, i)

	// `[^\r\n\p{L}\p{N}]?\p{L}+`
	if cl == classLetter {
		return skipClass(s, next, classLetter)
	}
	if cl != classNumber && s[i] != '\r' && s[i] != '\n' {
		if ncl, after, ok := classAt(s, next); ok && ncl == classLetter {
			return skipClass(s, after, classLetter)
		}
	}

	// `\p{N}{1,3}`
	if cl == classNumber {
		end := next
		for k := 1; k < maxDigits; k++ {
			ncl, after, ok := classAt(s, end)
			if !ok || ncl != classNumber {
				break
			}
			end = after
		}
		return end
	}

	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	start := -1
	if cl == classOther {
		start = i
	} else if s[i] == ' ' {
		if ncl, _, ok := classAt(s, next); ok && ncl == classOther {
			start = next
		}
	}
	if start >= 0 {
		end := skipClass(s, start, classOther)
		for end < len(s) && (s[end] == '\r' || s[end] == '\n') {
			end++
		}
		return end
	}

	// `\s*[\r\n]+`: the whitespace run up to and including its last \r or \n.
	end, lastNewline := i, -1
	for end < len(s) {
		c, after, _ := classAt(s, end)
		if c != classSpace {
			break
		}
		if s[end] == '\r' || s[end] == '\n' {
			lastNewline = after
		}
		end = after
	}
	if lastNewline > 0 {
		return lastNewline
	}
	return whitespaceMatch(s, i)
}
