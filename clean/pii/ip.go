package pii

import (
	"net/netip"
	"strings"
)

// IP addresses are validated with net/netip. Only addresses that can point
// at one subscriber on the public Internet are reported. For IPv4 these are
// global unicast addresses outside the private (RFC 1918), shared
// (RFC 6598) and reserved 0/8 and 240/4 blocks. For IPv6 they are addresses
// in the global unicast block 2000::/3 (RFC 4291). Loopback, link-local, multicast and private
// addresses identify no one outside their network and are left alone.
// Documentation ranges (192.0.2.0/24, 2001:db8::/32) are reported, so that
// examples behave like real addresses.
//
// A dotted quad is not an address when it is a version or outline number:
// it must not follow a word of notIPWords ("version 1.2.3.4", "section
// 10.1.2.3") and must not consist of four one-digit parts ("1.2.3.4"). An
// address followed by a port (":8080") or a prefix length ("/24") is found.

var notIPWords = map[string]bool{
	"v": true, "ver": true, "version": true, "versions": true, "release": true, "rev": true,
	"revision": true, "build": true, "firmware": true, "section": true, "sec": true,
	"sections": true, "chapter": true, "clause": true, "article": true, "art": true,
	"rule": true, "paragraph": true, "para": true, "item": true, "items": true,
	"part": true, "step": true, "table": true, "figure": true, "fig": true,
	"appendix": true, "note": true, "oid": true,
}

var (
	sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork        = netip.MustParsePrefix("0.0.0.0/8")
	reservedClassE     = netip.MustParsePrefix("240.0.0.0/4")
	globalUnicastIPv6  = netip.MustParsePrefix("2000::/3")
)

// findIPv4 returns the public IPv4 addresses in text[lo:hi].
func findIPv4(text string, lo, hi int) []Match {
	var matches []Match
	for i := lo; i < hi; i++ {
		if !isDigit(text[i]) || (i > lo && (isDigit(text[i-1]) || text[i-1] == '.')) {
			continue
		}
		end, ok := scanDottedQuad(text, i, hi)
		if !ok {
			continue
		}
		if ipSeparate(text, i, end) && !followsNotIPWord(text, i) && !allOneDigit(text[i:end]) {
			if addr, err := netip.ParseAddr(text[i:end]); err == nil && publicAddr(addr) {
				matches = append(matches, Match{Type: TypeIP, Start: i, End: end})
			}
		}
		i = end - 1
	}
	return matches
}

// scanDottedQuad returns the end of four dot-separated runs of one to three
// digits starting at text[i]. It fails when a fifth part or a longer run
// follows (OIDs, long version strings).
func scanDottedQuad(text string, i, hi int) (int, bool) {
	j := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if j >= hi || text[j] != '.' {
				return j, false
			}
			j++
		}
		k := j
		for j < hi && isDigit(text[j]) && j-k < 4 {
			j++
		}
		if j == k || j-k > 3 {
			return max(j, i+1), false
		}
	}
	if j+1 < hi && text[j] == '.' && isDigit(text[j+1]) {
		return j, false
	}
	return j, true
}

// findIPv6 returns the global unicast IPv6 addresses in text[lo:hi],
// including compressed ("2001:db8::1") and IPv4-embedded
// ("::ffff:203.0.113.7") forms. A zone ("%eth0") is not part of the match.
func findIPv6(text string, lo, hi int) []Match {
	var matches []Match
	for i := lo; i < hi; i++ {
		if !isHexDigit(text[i]) && text[i] != ':' {
			continue
		}
		if i > lo && (isASCIIWordByte(text[i-1]) || text[i-1] == ':' || text[i-1] == '.') {
			continue
		}
		j := i
		colons := 0
		for j < hi && (isHexDigit(text[j]) || text[j] == ':' || text[j] == '.') {
			if text[j] == ':' {
				colons++
			}
			j++
		}
		if colons < 2 {
			i = j
			continue
		}
		end := trimIPv6(text, i, j)
		if end < hi && isASCIIWordByte(text[end]) {
			i = j
			continue
		}
		if addr, err := netip.ParseAddr(text[i:end]); err == nil && publicAddr(addr) {
			matches = append(matches, Match{Type: TypeIP, Start: i, End: end})
		}
		i = j
	}
	return matches
}

// trimIPv6 drops sentence punctuation after an IPv6 candidate text[i:j]: a
// trailing dot, or a single trailing colon (but not the "::" of a
// compressed address).
func trimIPv6(text string, i, j int) int {
	for j > i && text[j-1] == '.' {
		j--
	}
	if j-i >= 2 && text[j-1] == ':' && text[j-2] != ':' {
		j--
	}
	return j
}

// publicAddr reports whether addr can identify a subscriber on the public
// Internet.
func publicAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	if addr.Is6() {
		return globalUnicastIPv6.Contains(addr) && !addr.IsPrivate()
	}
	if !addr.IsGlobalUnicast() || addr.IsPrivate() {
		return false
	}
	return !sharedAddressSpace.Contains(addr) && !thisNetwork.Contains(addr) && !reservedClassE.Contains(addr)
}

// ipSeparate reports whether the dotted quad text[start:end] is separate
// from its neighbours: not glued to an ASCII letter, digit or underscore,
// and not joined to one by "-", "_", "@", "=" or "#" before ("build-1.2.3.4")
// or by "-" after. It may be followed by a port (":8080") or a prefix length
// ("/24").
func ipSeparate(text string, start, end int) bool {
	if start > 0 {
		c := text[start-1]
		if isASCIIWordByte(c) {
			return false
		}
		if strings.IndexByte("-_@=#", c) >= 0 && start > 1 && isASCIIWordByte(text[start-2]) {
			return false
		}
	}
	if end < len(text) && (isASCIIWordByte(text[end]) || text[end] == '-') {
		return false
	}
	return true
}

// followsNotIPWord reports whether the word before start is one of
// notIPWords.
func followsNotIPWord(text string, start int) bool {
	return notIPWords[previousWord(text, start)] || strings.HasSuffix(strings.TrimRight(text[:start], " "), "§")
}

// allOneDigit reports whether every dot-separated part of s is one digit.
func allOneDigit(s string) bool {
	return len(s) == 7
}

func isHexDigit(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

func isASCIIWordByte(c byte) bool {
	return isDigit(c) || isASCIILetter(c) || c == '_'
}
