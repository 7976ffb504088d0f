package collect

// robots.txt is parsed and matched as RFC 9309 (Robots Exclusion Protocol,
// September 2022) specifies. Groups start with user-agent lines. A crawler
// obeys the groups whose user-agent equals its product token
// (case-insensitively), or else the "*" groups. Rules match the URL's path
// and query, with "*" as any sequence and a final "$" as the end. The
// longest matching pattern wins, and Allow wins a tie. Crawl-delay is not
// part of the RFC, so it is read as seconds, as crawlers that honor it do.

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// maxRobotsBytes is how much of a robots.txt file is parsed. RFC 9309
// section 2.5 requires parsing at least 500 kibibytes.
const maxRobotsBytes = 500 << 10

// robotsRule is one Allow or Disallow line.
type robotsRule struct {
	allow   bool
	pattern string // percent-encoding normalized, never empty
}

// robotsGroup is one group of a robots.txt file.
type robotsGroup struct {
	agents     []string // lower case
	rules      []robotsRule
	crawlDelay time.Duration // zero when the group has none
}

// robotsFile is a parsed robots.txt.
type robotsFile struct {
	groups   []robotsGroup
	sitemaps []string
}

// robotsPolicy is the merged rule set of the groups that match one
// crawler's product token.
type robotsPolicy struct {
	rules      []robotsRule
	crawlDelay time.Duration
	// disallowAll is set when robots.txt could not be fetched because of a
	// server error, which RFC 9309 section 2.3.1.4 treats as a complete
	// disallow.
	disallowAll bool
	// sitemapURLs are the file's Sitemap lines, which apply to every agent.
	sitemapURLs []string
}

// parseRobots parses a robots.txt body. Lines it does not understand are
// skipped, as RFC 9309 section 2.2 requires.
func parseRobots(data []byte) *robotsFile {
	data = data[:min(len(data), maxRobotsBytes)]
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	f := &robotsFile{}
	var cur *robotsGroup
	lastWasAgent := false

	for _, line := range bytes.FieldsFunc(data, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		key, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name := strings.ToLower(strings.TrimSpace(string(key)))
		val := strings.TrimSpace(string(value))

		switch name {
		case "user-agent", "useragent", "user agent":
			if cur == nil || !lastWasAgent {
				f.groups = append(f.groups, robotsGroup{})
				cur = &f.groups[len(f.groups)-1]
			}
			cur.agents = append(cur.agents, strings.ToLower(agentToken(val)))
			lastWasAgent = true
			continue
		case "allow", "disallow":
			if cur != nil && val != "" {
				cur.rules = append(cur.rules, robotsRule{allow: name == "allow", pattern: collapseStars(normalizeRobotsPath(val))})
			}
		case "crawl-delay":
			if secs, err := strconv.ParseFloat(val, 64); cur != nil && err == nil && secs > 0 && secs < 86400 {
				cur.crawlDelay = time.Duration(secs * float64(time.Second))
			}
		case "sitemap", "site-map":
			if val != "" {
				f.sitemaps = append(f.sitemaps, val)
			}
		}
		lastWasAgent = false
	}
	return f
}

// agentToken returns the leading product token of a user-agent value: the
// letters, "_" and "-" before anything else ("adapt/1.0" gives "adapt").
// A "*" stays "*".
func agentToken(ua string) string {
	ua = strings.TrimSpace(ua)
	if strings.HasPrefix(ua, "*") {
		return "*"
	}
	end := 0
	for end < len(ua) {
		c := ua[end]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			break
		}
		end++
	}
	return ua[:end]
}

// policy returns the merged groups whose user-agent equals token, or the
// merged "*" groups when none does. No matching group means no rules.
func (f *robotsFile) policy(token string) *robotsPolicy {
	token = strings.ToLower(token)
	p := &robotsPolicy{}
	merge := func(want string) bool {
		found := false
		for _, g := range f.groups {
			for _, a := range g.agents {
				if a == want {
					p.rules = append(p.rules, g.rules...)
					p.crawlDelay = max(p.crawlDelay, g.crawlDelay)
					found = true
					break
				}
			}
		}
		return found
	}
	if token == "" || !merge(token) {
		merge("*")
	}
	return p
}

// allowed reports whether the path and query of a URL (its escaped path,
// then "?" and the raw query when there is one) may be fetched.
func (p *robotsPolicy) allowed(pathQuery string) bool {
	if pathQuery == "" {
		pathQuery = "/"
	}
	if pathQuery == "/robots.txt" {
		return true
	}
	if p.disallowAll {
		return false
	}
	pathQuery = normalizeRobotsPath(pathQuery)

	best, allow := -1, true
	for _, r := range p.rules {
		if !robotsMatch(r.pattern, pathQuery) {
			continue
		}
		n := len(r.pattern)
		if n > best || (n == best && r.allow) {
			best, allow = n, r.allow
		}
	}
	return allow
}

// robotsMatch reports whether pattern matches the start of path, with "*"
// matching any run of bytes and a final "$" matching the end of path. It
// tracks every path offset the pattern prefix can end at, so it runs in
// O(len(pattern) * len(path)).
func robotsMatch(pattern, path string) bool {
	anchored := strings.HasSuffix(pattern, "$")
	if anchored {
		pattern = pattern[:len(pattern)-1]
	}

	// A pattern with more literal bytes than path cannot match, which
	// bounds the work of long patterns from hostile files.
	if len(pattern)-strings.Count(pattern, "*") > len(path) {
		return false
	}

	pos := []int{0}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c == '*' {
			from := pos[0]
			pos = pos[:0]
			for j := from; j <= len(path); j++ {
				pos = append(pos, j)
			}
			continue
		}
		next := pos[:0]
		for _, p := range pos {
			if p < len(path) && path[p] == c {
				next = append(next, p+1)
			}
		}
		pos = next
		if len(pos) == 0 {
			return false
		}
	}

	if !anchored {
		return true
	}
	return pos[len(pos)-1] == len(path)
}

// normalizeRobotsPath percent-encodes bytes outside printable ASCII and
// upper-cases the hex digits of existing escapes, so that a pattern written
// in UTF-8 and a URL written with escapes compare equal (RFC 9309 section
// 2.2.2).
func normalizeRobotsPath(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte('%')
			b.WriteByte(upperHex(s[i+1]))
			b.WriteByte(upperHex(s[i+2]))
			i += 2
		case c <= ' ' || c >= 0x7f:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// collapseStars replaces each run of "*" with one, which matches the same
// paths. The rule's length for longest-match precedence shrinks with it.
func collapseStars(s string) string {
	for strings.Contains(s, "**") {
		s = strings.ReplaceAll(s, "**", "*")
	}
	return s
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func upperHex(c byte) byte {
	if c >= 'a' && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}
