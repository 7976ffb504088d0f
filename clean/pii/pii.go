// Package pii finds and redacts personal data in document text: e-mail
// addresses, telephone numbers, payment card numbers, IBANs, US Social
// Security numbers, public IP addresses, credentials in URLs, dates of birth
// and Chinese resident identity card numbers. The clean stage redacts with
// it and the audit stage counts what is left with it, so both use the same
// definition.
//
// Every numeric type is validated, not only matched by shape: cards by IIN
// and the Luhn check, IBANs by country length and MOD 97-10, identity card
// numbers by their MOD 11-2 check character and birth date, SSNs by the
// ranges the SSA issues, IP addresses by net/netip. Each file cites the
// specification it follows.
//
// Telephone numbers are validated with github.com/nyaruka/phonenumbers
// (v1.8.1, a Go port of Google's libphonenumber). That port has no
// PhoneNumberMatcher, so this package extracts candidates itself with rules
// modelled on the Java PhoneNumberMatcher. A candidate must not be glued to
// letters or digits, and must not look like a date, publication pages or a
// year range. It must also parse as a valid number. Chinese mobile numbers
// in national form are found by a separate rule (cnphone.go).
//
// Functions in this package never log and never put text they scanned into
// an error or panic message.
package pii

import (
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Placeholder types. Redact replaces a match of type T by "<T>".
const (
	TypeEmail          = "EMAIL"
	TypePhone          = "PHONE"
	TypeCard           = "CARD"
	TypeIBAN           = "IBAN"
	TypeSSN            = "SSN"
	TypeIP             = "IP"
	TypeURLCredentials = "URL_CREDENTIALS"
	TypeDOB            = "DOB"
	TypeCNID           = "CN_ID"
)

// precedence ranks the types for resolving overlapping candidates: a
// higher rank wins. Types whose validation is stricter, or whose match
// contains the others (a URL's userinfo contains what looks like an e-mail
// address), rank higher. PHONE ranks lowest because its shape rules are the
// loosest.
var precedence = map[string]int{
	TypeURLCredentials: 9,
	TypeEmail:          8,
	TypeCNID:           7,
	TypeIBAN:           6,
	TypeCard:           5,
	TypeSSN:            4,
	TypeDOB:            3,
	TypeIP:             2,
	TypePhone:          1,
}

// Match is one piece of personal data in a text.
type Match struct {
	// Type is one of the Type constants.
	Type string
	// Start and End are byte offsets into the scanned text: the match is
	// text[Start:End].
	Start, End int
}

// Find returns the personal data in text, sorted by Start and not
// overlapping. Overlapping candidates resolve to one match: the candidate
// of the type with the higher precedence wins, then the longer one, then
// the earlier one, and the losers are dropped. So the digits inside
// "john.5551234567@example.com" are one e-mail address, an identity card
// number is not also a phone number, and "https://u:p@host" is one
// URL_CREDENTIALS match and not an e-mail address.
func Find(text string) []Match {
	// Full-width forms ("１３８１２３４５６７８", "ａ＠ｂ．ｃｏｍ"), common in
	// Chinese and Japanese text, are matched as their ASCII letters and
	// digits, and the matches mapped back to the original offsets.
	if folded, origin, ok := foldFullWidth(text); ok {
		matches := find(folded)
		for i := range matches {
			matches[i].Start, matches[i].End = origin[matches[i].Start], origin[matches[i].End]
		}
		return matches
	}
	return find(text)
}

// foldFullWidth returns text with each full-width ASCII form (U+FF01 to
// U+FF5E) replaced by its ASCII character and the ideographic space by a
// space. origin[i] is the offset in text of byte i of the result, and
// origin[len(result)] is len(text). ok is false when text has no such
// character.
func foldFullWidth(text string) (string, []int, bool) {
	if !strings.ContainsFunc(text, isFullWidthForm) {
		return "", nil, false
	}
	var b strings.Builder
	origin := make([]int, 0, len(text)+1)
	for i, r := range text {
		if isFullWidthForm(r) {
			if r == '\u3000' {
				r = ' '
			} else {
				r -= 0xFEE0
			}
			b.WriteRune(r)
			origin = append(origin, i)
			continue
		}
		n := utf8.RuneLen(r)
		if r == utf8.RuneError {
			_, n = utf8.DecodeRuneInString(text[i:])
		}
		b.WriteString(text[i : i+n])
		for k := 0; k < n; k++ {
			origin = append(origin, i+k)
		}
	}
	origin = append(origin, len(text))
	return b.String(), origin, true
}

func isFullWidthForm(r rune) bool {
	return (r >= 0xFF01 && r <= 0xFF5E) || r == '\u3000'
}

// find is Find on text without full-width forms.
func find(text string) []Match {
	var matches []Match

	// No pattern crosses a line break, so each line is scanned on its own,
	// and each finder runs only when the line has the characters its
	// matches need: an '@', enough digits, "://", a cue word. Skipping
	// lines this way is what keeps Find fast.
	for lo := 0; lo < len(text); {
		hi := strings.IndexByte(text[lo:], '\n')
		if hi < 0 {
			hi = len(text)
		} else {
			hi += lo
		}
		matches = findInLine(matches, text, lo, hi)
		lo = hi + 1
	}
	return resolveOverlaps(matches)
}

// findInLine appends the candidates in the line text[lo:hi] to matches.
func findInLine(matches []Match, text string, lo, hi int) []Match {
	line := text[lo:hi]
	at := strings.IndexByte(line, '@') >= 0
	var emails []Match
	if at || hasBracketedAt(line) {
		emails = findEmails(text, lo, hi)
		matches = append(matches, emails...)
	}
	if at && strings.Contains(line, "://") {
		matches = append(matches, findURLCredentials(text, lo, hi)...)
	}

	digits := countDigits(line)
	if digits >= minPhoneDigits {
		matches = append(matches, findPhones(text, lo, hi, emails)...)
	}
	if digits >= cnMobileDigits {
		matches = append(matches, findCNMobiles(text, lo, hi)...)
	}
	if digits >= minCardDigits {
		matches = append(matches, findCards(text, lo, hi)...)
	}
	if digits >= cnIDLength-1 {
		matches = append(matches, findCNIDs(text, lo, hi)...)
	}
	if digits >= 9 {
		matches = append(matches, findSSNs(text, lo, hi)...)
	}
	if digits >= 2 && len(line) >= 15 {
		matches = append(matches, findIBANs(text, lo, hi)...)
	}
	if digits >= 4 && strings.IndexByte(line, '.') >= 0 {
		matches = append(matches, findIPv4(text, lo, hi)...)
	}
	if strings.Count(line, ":") >= 2 {
		matches = append(matches, findIPv6(text, lo, hi)...)
	}
	if digits >= 4 && hasDOBCue(line) {
		matches = append(matches, findDOBs(text, lo, hi)...)
	}
	return matches
}

// maxRedactPasses bounds the redaction loop in Redact. Nearly every match
// contains a digit, an '@' or a ':' and no placeholder does, so each pass
// removes at least one of them and the loop ends. The bound guards the
// exceptions (an obfuscated "joe [at] example [dot] org" has none).
const maxRedactPasses = 16

// Redact returns text with every match of Find replaced by its placeholder
// ("<EMAIL>", "<CARD>", ...) and the number of replacements by type. Every other
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

// resolveOverlaps returns matches without overlaps, sorted by Start. Among
// overlapping matches the one with the higher precedence wins, then the
// longer one, then the earlier one. The others are dropped. It reorders
// matches in place.
func resolveOverlaps(matches []Match) []Match {
	if len(matches) < 2 {
		return matches
	}
	sort.Slice(matches, func(i, j int) bool {
		a, b := matches[i], matches[j]
		if pa, pb := precedence[a.Type], precedence[b.Type]; pa != pb {
			return pa > pb
		}
		if la, lb := a.End-a.Start, b.End-b.Start; la != lb {
			return la > lb
		}
		return a.Start < b.Start
	})

	// Accept each match in rank order unless it overlaps one already
	// accepted; kept stays sorted by Start.
	var kept []Match
	for _, m := range matches {
		i := sort.Search(len(kept), func(i int) bool { return kept[i].Start >= m.Start })
		if i > 0 && kept[i-1].End > m.Start {
			continue
		}
		if i < len(kept) && kept[i].Start < m.End {
			continue
		}
		kept = slices.Insert(kept, i, m)
	}
	return kept
}
