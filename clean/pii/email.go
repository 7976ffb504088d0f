package pii

import "regexp"

// emailRE matches an address in the dot-atom form of RFC 5322 section 3.4.1,
// restricted to ASCII. The local part is atext characters and single dots.
// The domain has at least two LDH labels (RFC 1035 section 2.3.1), and the
// last one is alphabetic. An address written as "<user@host.org>" is matched
// with its angle brackets, so that the redacted text reads "<EMAIL>" and not
// "<<EMAIL>>".
//
// The obfuscated form with a bracketed "at" and optional bracketed "dot"
// ("user [at] example [dot] org", "user(at)example.org") is also matched,
// because the brackets make it unambiguous. The bare form "user at example
// dot org" is not matched: in prose it cannot be told apart from ordinary
// words.
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
	atWord     = `\s*[\[({]\s*(?i:at)\s*[\])}]\s*`
	dotWord    = `(?:\.|\s*[\[({]\s*(?i:dot)\s*[\])}]\s*)`
	obfuscated = `(?:` + label + dotWord + `)+` + topLabel

	obfuscatedAddress = `[A-Za-z0-9._%+-]*[A-Za-z0-9_%+-]` + atWord + obfuscated
)

// findEmails returns the e-mail addresses in text, in order.
func findEmails(text string) []Match {
	var matches []Match
	for _, loc := range emailRE.FindAllStringIndex(text, -1) {
		matches = append(matches, Match{Type: TypeEmail, Start: loc[0], End: loc[1]})
	}
	return matches
}
