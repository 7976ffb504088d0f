package pii

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the first region used to parse numbers written without
// a leading "+".
const DefaultRegion = "US"

// phoneRegions are the regions whose national format a number without a
// leading "+" may be in: it is a phone number when it is valid in any of
// them. China is there because the users' texts are often Chinese, where
// landlines are written "(021) 6404 1990" or "021-64041990".
//
// NOTE: national-format numbers of other countries (for example "030
// 1234567" in Germany) are not found; international "+CC" numbers are
// found for every region.
var phoneRegions = []string{DefaultRegion, "CN"}

// Digit-count limits of a phone number. E.164 allows at most 15 digits. The
// lower limit of 7 drops short numbers such as extensions, which are rarely
// personal data on their own.
const (
	minPhoneDigits = 7
	maxPhoneDigits = 15
)

// phoneCandidateRE matches a run of digits with at most two separator
// characters between digits, optionally led by "+" or "(". Limits on the
// number of digits are applied afterwards, so that a long run of digits
// (a UUID, a serial) is rejected as a whole instead of cut into pieces.
var phoneCandidateRE = regexp.MustCompile(`(?:\+[ \t]?|\([ \t]?)?\d(?:[ \t.\-/()]{0,2}\d)*`)

// Shapes that look like numbers but are not phone numbers. Slash-separated
// dates and publication pages ("211-227 (2003)") are rejected as in
// libphonenumber's PhoneNumberMatcher. ISO dates and IPv4 addresses are
// rejected as well. A candidate with dots must have the shape of a dotted
// phone number (617.253.1000), which rules out version strings.
var (
	isoDateRE     = regexp.MustCompile(`^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$`)
	slashDateRE   = regexp.MustCompile(`^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$`)
	pubPagesRE    = regexp.MustCompile(`\d{1,5}-+\d{1,5}[ \t]{0,4}\(\d{1,4}`)
	ipv4RE        = regexp.MustCompile(`^\d{1,3}(?:\.\d{1,3}){3}$`)
	dottedPhoneRE = regexp.MustCompile(`^(?:\+?\d{1,3}\.)?\(?\d{2,4}\)?\.\d{3,4}\.\d{3,4}$`)
	digitGroupRE  = regexp.MustCompile(`\d+`)
)

// phoneCueWords mark a following number as a phone number. A bare digit run
// without separators ("6172531000") is only reported after one of these,
// because without a cue it is more often an identifier than a phone number.
var phoneCueWords = []string{"tel", "phone", "fax", "mobile", "cell", "call"}

// referenceWords mark a following number as an identifier, not a phone
// number ("Ref. 617-253-1000", "ISBN 0-201-63361-2").
var referenceWords = map[string]bool{
	"no": true, "nr": true, "num": true, "number": true, "ref": true, "reference": true,
	"id": true, "isbn": true, "issn": true, "doi": true, "pmid": true, "pmcid": true,
	"invoice": true, "order": true, "case": true, "docket": true, "patent": true,
	"serial": true, "account": true, "acct": true, "version": true, "ver": true,
	"v": true, "cve": true, "rfc": true, "bug": true, "ticket": true, "#": true,
}

// findPhones returns the telephone numbers in text[lo:hi], in order, with
// offsets into text, leaving out candidates that overlap a match in skip.
// The characters around the candidates are read from all of text.
func findPhones(text string, lo, hi int, skip []Match) []Match {
	var matches []Match
	for _, loc := range phoneCandidateRE.FindAllStringIndex(text[lo:hi], -1) {
		start, end := lo+loc[0], lo+loc[1]
		if overlapsAny(start, end, skip) {
			continue
		}
		if !isolated(text, start, end) || followsReferenceWord(text, start) {
			continue
		}
		if end, ok := validPhone(text, start, end); ok {
			matches = append(matches, Match{Type: TypePhone, Start: start, End: end})
		}
	}
	return matches
}

// validPhone reports whether text[start:end] is a phone number. When the
// whole candidate is not valid, it retries with trailing space-separated
// groups dropped, so "617-253-1000 2 lines" still finds the number. It
// returns the end of the valid prefix.
func validPhone(text string, start, end int) (int, bool) {
	for {
		if isPhone(text, start, end) {
			return end, true
		}
		cut := strings.LastIndexAny(text[start:end], " \t")
		if cut <= 0 {
			return 0, false
		}
		end = start + len(strings.TrimRight(text[start:start+cut], " \t.-/("))
		if end <= start {
			return 0, false
		}
	}
}

// isPhone applies the shape rules and then phonenumbers' validation to one
// candidate.
func isPhone(text string, start, end int) bool {
	candidate := text[start:end]
	digits := countDigits(candidate)
	if digits < minPhoneDigits || digits > maxPhoneDigits {
		return false
	}

	// Reject shapes that are dates, versions, IP addresses or years.
	if isoDateRE.MatchString(candidate) || slashDateRE.MatchString(candidate) || pubPagesRE.MatchString(candidate) {
		return false
	}
	if strings.Contains(candidate, ".") && (ipv4RE.MatchString(candidate) || !dottedPhoneRE.MatchString(candidate)) {
		return false
	}
	if allYears(candidate) {
		return false
	}

	// A bare digit run needs a leading "+" or a cue word.
	if digits == len(candidate) && !followsPhoneCue(text, start) {
		return false
	}

	for _, region := range phoneRegions {
		number, err := phonenumbers.Parse(candidate, region)
		if err == nil && phonenumbers.IsValidNumber(number) {
			return true
		}
	}
	return false
}

// isolated reports whether text[start:end] is separate from the words
// around it. It must not be glued to a letter, digit or underscore, and not
// joined by a dot, hyphen, slash or similar to a word character (which makes
// it part of a version string, identifier, URL or hash). Han, kana and
// Hangul characters do not glue (see isGlueRune), because Chinese and
// Japanese write numbers right next to words ("座机021-64041990转123").
func isolated(text string, start, end int) bool {
	before, size := utf8.DecodeLastRuneInString(text[:start])
	if size > 0 {
		if isGlueRune(before) {
			return false
		}
		if strings.ContainsRune(".-/#=@&?%_", before) {
			beforeBefore, _ := utf8.DecodeLastRuneInString(text[:start-size])
			if isGlueRune(beforeBefore) {
				return false
			}
		}
	}
	after, size := utf8.DecodeRuneInString(text[end:])
	if size > 0 {
		if isGlueRune(after) {
			return false
		}
		if strings.ContainsRune(".-/@_:", after) {
			afterAfter, _ := utf8.DecodeRuneInString(text[end+size:])
			if isGlueRune(afterAfter) {
				return false
			}
		}
	}
	return true
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// followsReferenceWord reports whether the word right before start (on the
// same line, ignoring punctuation such as "." and ":") marks an identifier.
func followsReferenceWord(text string, start int) bool {
	word := previousWord(text, start)
	return referenceWords[word]
}

// followsPhoneCue reports whether one of phoneCueWords appears in the
// window of bytes before start, on the same line.
func followsPhoneCue(text string, start int) bool {
	const window = 24
	from := max(0, start-window)
	line := text[from:start]
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	line = strings.ToLower(line)
	for _, cue := range phoneCueWords {
		if strings.Contains(line, cue) {
			return true
		}
	}
	return false
}

// previousWord returns the lower-cased word before start, skipping spaces
// and the punctuation ".:,". It returns "#" for a preceding "#".
func previousWord(text string, start int) string {
	i := start
	for i > 0 && strings.IndexByte(" \t.:,", text[i-1]) >= 0 {
		i--
	}
	if i > 0 && text[i-1] == '#' {
		return "#"
	}
	end := i
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(text[:i])
		if !unicode.IsLetter(r) {
			break
		}
		i -= size
	}
	return strings.ToLower(text[i:end])
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// allYears reports whether every digit group of s is a four-digit year from
// 1900 to 2099, as in copyright lines ("1999-2004", "2001 2002 2003").
func allYears(s string) bool {
	groups := digitGroupRE.FindAllString(s, -1)
	if len(groups) < 2 {
		return false
	}
	for _, g := range groups {
		if len(g) != 4 || !(strings.HasPrefix(g, "19") || strings.HasPrefix(g, "20")) {
			return false
		}
	}
	return true
}

func overlapsAny(start, end int, matches []Match) bool {
	for _, m := range matches {
		if start < m.End && m.Start < end {
			return true
		}
	}
	return false
}
