package clean

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// textRepair counts what repairText changed in one document.
type textRepair struct {
	// invalidUTF8 is the number of invalid byte sequences replaced by
	// U+FFFD. A run of adjacent invalid bytes counts once.
	invalidUTF8 int
	// controls is the number of control characters removed.
	controls int
}

// repairText replaces each run of invalid UTF-8 bytes by one U+FFFD and
// removes control characters (Unicode category Cc) other than "\n", "\t"
// and "\r", and the byte-order mark U+FEFF. "\r" stays for
// normalizeWhitespace, which turns it into "\n".
func repairText(s string) (string, textRepair) {
	var r textRepair
	if isClean(s) {
		return s, r
	}

	var b strings.Builder
	b.Grow(len(s))
	lastInvalid := false
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if c == utf8.RuneError && size == 1 {
			if !lastInvalid {
				b.WriteRune(utf8.RuneError)
				r.invalidUTF8++
			}
			lastInvalid = true
			continue
		}
		lastInvalid = false
		if isRemovedControl(c) {
			r.controls++
			continue
		}
		b.WriteRune(c)
	}
	return b.String(), r
}

// isClean reports whether s is valid UTF-8 without removable controls, the
// common case, so repairText can return s without copying.
func isClean(s string) bool {
	for _, c := range s {
		if c == utf8.RuneError || isRemovedControl(c) {
			return false
		}
	}
	return true
}

func isRemovedControl(c rune) bool {
	if c == '\n' || c == '\t' || c == '\r' {
		return false
	}
	return c == '\uFEFF' || unicode.IsControl(c)
}

// normalizeUnicode applies the normalization form (NFC or NFKC; anything
// else panics, because Config.Validate rejects it). s must be valid UTF-8.
func normalizeUnicode(s, form string) string {
	switch strings.ToUpper(form) {
	case "", NFC:
		return norm.NFC.String(s)
	case NFKC:
		return norm.NFKC.String(s)
	default:
		panic("clean: unknown normalization form " + form)
	}
}

// normalizeWhitespace makes line breaks and spacing uniform while keeping
// paragraphs. "\r\n" and a lone "\r" become "\n". Each run of spaces, tabs
// and other horizontal Unicode space becomes one space. Spaces at the end of
// a line go, and three or more line breaks become one blank line. Blank
// lines and spaces at the start and end of the text are removed. A single leading space on a line is kept, because some formats
// use it (continuation lines in Debian copyright files).
func normalizeWhitespace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	pendingSpace := false
	newlines := 0 // line breaks seen since the last non-space character
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		i += size

		switch {
		case c == '\r':
			if i < len(s) && s[i] == '\n' {
				i++
			}
			fallthrough
		case c == '\n':
			newlines++
			pendingSpace = false // trailing spaces go
		case unicode.IsSpace(c):
			pendingSpace = true
		default:
			if b.Len() > 0 {
				switch {
				case newlines >= 2:
					b.WriteString("\n\n")
				case newlines == 1:
					b.WriteByte('\n')
				}
			}
			if pendingSpace && b.Len() > 0 {
				b.WriteByte(' ')
			}
			newlines = 0
			pendingSpace = false
			b.WriteRune(c)
		}
	}
	return b.String()
}
