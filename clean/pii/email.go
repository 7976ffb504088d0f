package pii

import (
	"regexp"
	"strings"
)

// emailRE matches an address in the dot-atom form of RFC 5322 section 3.4.1,
// restricted to ASCII. The local part is atext characters and single dots.
// The domain has at least two LDH labels (RFC 1035 section 2.3.1), and the
// last one is alphabetic. An address written as "<user@host.org>" is matched
// with its angle brackets, so that the redacted text reads "<EMAIL>" and not
// "<<EMAIL>>".
//
// The obfuscated form with a bracketed "at" and optional bracketed "dot"
// ("user [at] example [dot] org", "user(at)example.org") is also matched
// when it stays on one line, because the brackets make it unambiguous. The
// bare form "user at example dot org" is not matched, because in prose it
// cannot be distinguished from ordinary words. Internationalized addresses
// (non-ASCII local parts or domains) are not matched either.
var emailRE = regexp.MustCompile(
	`<` + address + `>` +
		`|` + address +
		`|` + obfuscatedAddress)

const (
	localPart  = `[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+)*`
	label      = `[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?`
	topLabel   = `[A-Za-z]{2,63}`
	domain     = `(?:` + label + `\.)+` + topLabel
	address    = localPart + `@` + domain
	atWord     = `[ \t]*[\[({][ \t]*(?i:at)[ \t]*[\])}][ \t]*`
	dotWord    = `(?:\.|[ \t]*[\[({][ \t]*(?i:dot)[ \t]*[\])}][ \t]*)`
	obfuscated = `(?:` + label + dotWord + `)+` + topLabel

	obfuscatedAddress = `[A-Za-z0-9._%+-]*[A-Za-z0-9_%+-]` + atWord + obfuscated
)

// findEmails returns the e-mail addresses in text[lo:hi], in order, with
// offsets into text.
func findEmails(text string, lo, hi int) []Match {
	var matches []Match
	for _, loc := range emailRE.FindAllStringIndex(text[lo:hi], -1) {
		start, end := lo+loc[0], lo+loc[1]

		// In "ssh://jane@host" the slashes belong to the URL, not to the
		// local part, although '/' is an atext character.
		for start > 0 && text[start-1] == ':' && text[start] == '/' {
			start++
			for text[start] == '/' {
				start++
			}
		}
		matches = append(matches, Match{Type: TypeEmail, Start: start, End: end})
	}
	return matches
}

// hasBracketedAt reports whether s contains an "at" in brackets, as in
// "[at]", "( AT )" or "{at}", which obfuscated addresses need.
func hasBracketedAt(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '[' && s[i] != '(' && s[i] != '{' {
			continue
		}
		j := skipBlanks(s, i+1)
		if j+2 > len(s) || !strings.EqualFold(s[j:j+2], "at") {
			continue
		}
		j = skipBlanks(s, j+2)
		if j < len(s) && (s[j] == ']' || s[j] == ')' || s[j] == '}') {
			return true
		}
	}
	return false
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}
