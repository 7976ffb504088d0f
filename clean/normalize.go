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
	// mojibake is the number of characters restored by repairMojibake.
	mojibake int
}

// repairText replaces each run of invalid UTF-8 bytes by one U+FFFD,
// repairs mojibake (see repairMojibake), and removes control characters
// (Unicode category Cc) other than "\n", "\t" and "\r", and the byte-order
// mark U+FEFF. "\r" stays for normalizeWhitespace, which turns it into
// "\n". Mojibake is repaired before controls are removed, because
// Latin-1 decoding turns bytes 80-9F into C1 controls.
func repairText(s string) (string, textRepair) {
	var r textRepair
	s, r.invalidUTF8 = replaceInvalidUTF8(s)
	s, r.mojibake = repairMojibake(s)
	if isClean(s) {
		return s, r
	}

	var b strings.Builder
	b.Grow(len(s))
	for _, c := range s {
		if isRemovedControl(c) {
			r.controls++
			continue
		}
		b.WriteRune(c)
	}
	return b.String(), r
}

// replaceInvalidUTF8 replaces each run of invalid bytes in s by one U+FFFD
// and returns the text and the number of runs replaced.
func replaceInvalidUTF8(s string) (string, int) {
	if utf8.ValidString(s) {
		return s, 0
	}

	var b strings.Builder
	b.Grow(len(s))
	runs := 0
	lastInvalid := false
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if c == utf8.RuneError && size == 1 {
			if !lastInvalid {
				b.WriteRune(utf8.RuneError)
				runs++
			}
			lastInvalid = true
			continue
		}
		lastInvalid = false
		b.WriteRune(c)
	}
	return b.String(), runs
}

// isClean reports whether s has no removable controls, the common case,
// so repairText can return s without copying.
func isClean(s string) bool {
	for _, c := range s {
		if isRemovedControl(c) {
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
		case isSpace(c):
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

// isSpace is unicode.IsSpace with the ASCII cases inlined, because the
// rules call it once per character.
func isSpace(r rune) bool {
	return r == ' ' || ('\t' <= r && r <= '\r') || (r >= 0x80 && unicode.IsSpace(r))
}
