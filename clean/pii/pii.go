// Package pii finds and redacts personal data in document text: e-mail
// addresses and telephone numbers. The clean stage redacts with it and the
// audit stage counts what is left with it, so both use the same definition.
//
// Telephone numbers are validated with github.com/nyaruka/phonenumbers
// (v1.8.1, a Go port of Google's libphonenumber). That port has no
// PhoneNumberMatcher, so this package extracts candidates itself with rules
// modelled on the Java PhoneNumberMatcher. A candidate must not be glued to
// letters or digits, and must not look like a date, publication pages or a
// year range. It must also parse as a valid number.
//
// Functions in this package never log and never put text they scanned into
// an error or panic message.
package pii

import (
	"sort"
	"strings"
)

// Placeholder types. Redact replaces a match of type T by "<T>".
const (
	TypeEmail = "EMAIL"
	TypePhone = "PHONE"
)

// Match is one piece of personal data in a text.
type Match struct {
	// Type is TypeEmail or TypePhone.
	Type string
	// Start and End are byte offsets into the scanned text: the match is
	// text[Start:End].
	Start, End int
}

// Find returns the e-mail addresses and telephone numbers in text, sorted by
// Start and not overlapping. E-mail addresses are found first; a telephone
// candidate that overlaps an address is dropped, so the digits inside
// "john.5551234567@example.com" are not reported twice.
func Find(text string) []Match {
	var matches []Match

	// Neither pattern crosses a line break, so each line is scanned on its
	// own, and only when it has an '@', a bracketed "at" or enough digits.
	// The regular expressions have no literal prefix to search for, so
	// skipping lines this way is what keeps Find fast.
	for lo := 0; lo < len(text); {
		hi := strings.IndexByte(text[lo:], '\n')
		if hi < 0 {
			hi = len(text)
		} else {
			hi += lo
		}
		line := text[lo:hi]
		var emails []Match
		if strings.IndexByte(line, '@') >= 0 || hasBracketedAt(line) {
			emails = findEmails(text, lo, hi)
			matches = append(matches, emails...)
		}
		if countDigits(line) >= minPhoneDigits {
			matches = append(matches, findPhones(text, lo, hi, emails)...)
		}
		lo = hi + 1
	}
	return resolveOverlaps(matches)
}

// maxRedactPasses bounds the redaction loop in Redact. Each pass removes at
// least one '@' or seven digits, so the loop always ends; the bound only
// guards against a bug in that reasoning.
const maxRedactPasses = 16

// Redact returns text with every match of Find replaced by its placeholder
// ("<EMAIL>", "<PHONE>") and the number of replacements by type. Every other
// occurrence of a string that was found is replaced as well, so a number
// that appears once in a recognised form and once glued to a word does not
// leak. Redaction repeats until Find reports nothing, because removing a
// match can change the context of its neighbours.
func Redact(text string) (string, map[string]int64) {
	counts := map[string]int64{}
	found := map[string]string{} // matched string -> type
	for pass := 0; pass < maxRedactPasses; pass++ {
		matches := Find(text)
		for _, m := range matches {
			found[text[m.Start:m.End]] = m.Type
		}
		matches = resolveOverlaps(append(matches, findLiterals(text, found)...))
		if len(matches) == 0 {
			break
		}
		text = replace(text, matches, counts)
	}
	return text, counts
}

// findLiterals returns every occurrence in text of a string in found.
func findLiterals(text string, found map[string]string) []Match {
	var matches []Match
	for s, typ := range found {
		for offset := 0; ; {
			i := strings.Index(text[offset:], s)
			if i < 0 {
				break
			}
			start := offset + i
			matches = append(matches, Match{Type: typ, Start: start, End: start + len(s)})
			offset = start + len(s)
		}
	}
	return matches
}

// replace substitutes each match's placeholder into text and adds one to
// counts[type] per match. matches must be sorted and non-overlapping.
func replace(text string, matches []Match, counts map[string]int64) string {
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, m := range matches {
		b.WriteString(text[last:m.Start])
		b.WriteString("<" + m.Type + ">")
		counts[m.Type]++
		last = m.End
	}
	b.WriteString(text[last:])
	return b.String()
}

// resolveOverlaps sorts matches by Start and merges overlapping ones into a
// single span with the type of the earliest (on a tie, the longest) match.
func resolveOverlaps(matches []Match) []Match {
	if len(matches) < 2 {
		return matches
	}
	sort.Slice(matches, func(i, j int) bool {
		if matches[i].Start != matches[j].Start {
			return matches[i].Start < matches[j].Start
		}
		return matches[i].End > matches[j].End
	})
	out := matches[:1]
	for _, m := range matches[1:] {
		last := &out[len(out)-1]
		if m.Start < last.End {
			last.End = max(last.End, m.End)
			continue
		}
		out = append(out, m)
	}
	return out
}
