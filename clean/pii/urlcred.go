package pii

import (
	"regexp"
	"strings"
)

// urlCredentialsRE matches a URL whose userinfo (RFC 3986 section 3.2.1)
// holds a password: scheme "://" user ":" password "@" host. The user may
// be empty ("https://:token@host"), the password may not. The match span is
// the userinfo alone, so Redact turns "https://bob:s3cret@example.com/x"
// into "https://<URL_CREDENTIALS>@example.com/x" and the host, which names
// a service and not a person, stays readable.
var urlCredentialsRE = regexp.MustCompile(
	`[A-Za-z][A-Za-z0-9+.\-]*://([^\s/?#@:\[\]<>"'` + "`" + `]*:[^\s/?#@<>"'` + "`" + `]+)@[A-Za-z0-9\[]`)

// findURLCredentials returns the userinfo of URLs with credentials in
// text[lo:hi].
func findURLCredentials(text string, lo, hi int) []Match {
	var matches []Match
	for _, loc := range urlCredentialsRE.FindAllStringSubmatchIndex(text[lo:hi], -1) {
		// CVS writes its access method where a password would be
		// ("cvs://:pserver:anoncvs@host"); that is no credential.
		if strings.HasPrefix(text[lo+loc[2]:], ":pserver:") {
			continue
		}
		matches = append(matches, Match{Type: TypeURLCredentials, Start: lo + loc[2], End: lo + loc[3]})
	}
	return matches
}
