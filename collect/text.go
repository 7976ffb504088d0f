package collect

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// maxTitle is the maximum title length in bytes; longer first lines are cut
// at a rune boundary.
const maxTitle = 200

// normalizeText applies the minimal normalization that document IDs are
// computed on: CRLF and CR become LF, trailing spaces and tabs are removed
// from every line, and leading and trailing blank lines are dropped.
func normalizeText(s string) string {
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	var b strings.Builder
	b.Grow(len(s))
	for line := range strings.Lines(s) {
		b.WriteString(strings.TrimRight(line, " \t\n"))
		b.WriteByte('\n')
	}
	return strings.Trim(b.String(), "\n")
}

// firstLine returns the first non-blank line of s, trimmed and cut to
// maxTitle bytes.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			return cutTitle(line)
		}
	}
	return ""
}

// markdownTitle returns the text of the first ATX heading ("# Title"), or
// the first line when there is none.
func markdownTitle(s string) string {
	for line := range strings.Lines(s) {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			heading := strings.TrimSpace(strings.TrimRight(strings.TrimLeft(trimmed, "#"), "#"))
			if heading != "" {
				return cutTitle(heading)
			}
		}
	}
	return firstLine(s)
}

func cutTitle(s string) string {
	if len(s) <= maxTitle {
		return s
	}
	cut := maxTitle
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// binarySniffLen is how many leading bytes looksBinary inspects, the same
// window that git and GNU diff use for their NUL-byte test.
const binarySniffLen = 8000

// looksBinary reports whether data contains a NUL byte in its first
// binarySniffLen bytes.
func looksBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), binarySniffLen)], 0) >= 0
}
