package pii

import "strings"

// A date is a date of birth only next to a cue such as "born", "date of
// birth", "DOB" or "出生日期", because a plain date is not personal data.
// The date must start within dobWindow bytes after the cue, on the same
// line. The match span is the date alone ("born on <DOB>").
//
// Accepted date forms: ISO "1980-03-12" (also with "/" or "."), numeric
// day and month in either order with a two- or four-digit year
// ("03/12/1980", "12.03.80"), compact "19800312", "12 March 1980",
// "12th of March, 1980", "March 12, 1980", "Mar. 12 1980", and Chinese
// "1980年3月12日".

// dobCuesASCII are matched without regard to ASCII case and must start a
// word. "date of birth" and "birth date" are found through "birth".
var dobCuesASCII = []string{"born", "birth", "dob", "d.o.b"}

// dobCuesChinese are matched exactly. "出生日期" and "出生年月" are found
// through "出生".
var dobCuesChinese = []string{"出生", "生日"}

const dobWindow = 32

// Valid years of birth. Two-digit years are accepted as written.
const (
	minBirthYear = 1900
	maxBirthYear = 2100
)

var monthNames = []string{"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"}

// hasDOBCue is the cheap per-line test that Find runs before findDOBs.
func hasDOBCue(line string) bool {
	for _, cue := range dobCuesChinese {
		if strings.Contains(line, cue) {
			return true
		}
	}
	for _, cue := range dobCuesASCII {
		if indexFoldASCII(line, cue) >= 0 {
			return true
		}
	}
	return false
}

// findDOBs returns the dates of birth in text[lo:hi].
func findDOBs(text string, lo, hi int) []Match {
	var matches []Match
	line := text[lo:hi]
	for _, cue := range dobCuesASCII {
		for offset := 0; ; {
			i := indexFoldASCII(line[offset:], cue)
			if i < 0 {
				break
			}
			cueStart := lo + offset + i
			cueEnd := cueStart + len(cue)
			offset += i + len(cue)
			if cueStart > lo && isASCIILetter(text[cueStart-1]) {
				continue
			}
			if cue == "dob" && cueEnd < hi && isASCIILetter(text[cueEnd]) {
				continue
			}
			if m, ok := dateAfter(text, cueEnd, hi); ok {
				matches = append(matches, m)
			}
		}
	}
	for _, cue := range dobCuesChinese {
		for offset := 0; ; {
			i := strings.Index(line[offset:], cue)
			if i < 0 {
				break
			}
			offset += i + len(cue)
			if m, ok := dateAfter(text, lo+offset, hi); ok {
				matches = append(matches, m)
			}
		}
	}
	return matches
}

// dateAfter returns the first date that starts at a word start in
// text[from:min(hi, from+dobWindow)].
func dateAfter(text string, from, hi int) (Match, bool) {
	limit := min(hi, from+dobWindow)
	for p := from; p < limit; p++ {
		c := text[p]
		if !isDigit(c) && !isASCIILetter(c) {
			continue
		}
		if p > 0 && (isDigit(text[p-1]) || isASCIILetter(text[p-1])) {
			continue
		}
		if end, ok := parseDate(text, p, hi); ok {
			return Match{Type: TypeDOB, Start: p, End: end}, true
		}
	}
	return Match{}, false
}

// parseDate returns the end of a date of one of the accepted forms that
// starts at text[p].
func parseDate(text string, p, hi int) (int, bool) {
	var end int
	var ok bool
	if isDigit(text[p]) {
		end, ok = parseNumericDate(text, p, hi)
		if !ok {
			end, ok = parseChineseDate(text, p, hi)
		}
		if !ok {
			end, ok = parseDayMonthYear(text, p, hi)
		}
	} else {
		end, ok = parseMonthDayYear(text, p, hi)
	}
	if !ok || (end < hi && (isDigit(text[end]) || isASCIILetter(text[end]))) {
		return 0, false
	}
	return end, true
}

// readNumber reads up to maxDigits ASCII digits at text[p] and returns the
// value and the end; n is the number of digits read.
func readNumber(text string, p, hi, maxDigits int) (value, end, n int) {
	end = p
	for end < hi && isDigit(text[end]) && end-p < maxDigits {
		value = value*10 + int(text[end]-'0')
		end++
	}
	return value, end, end - p
}

// parseNumericDate parses "1980-03-12", "03/12/1980", "12.03.80" and
// "19800312".
func parseNumericDate(text string, p, hi int) (int, bool) {
	a, end, na := readNumber(text, p, hi, 8)
	if na == 8 {
		year, month, day := a/10000, a/100%100, a%100
		return end, birthYearValid(year, 4) && validDate(year, month, day)
	}
	if na != 1 && na != 2 && na != 4 || end >= hi || strings.IndexByte("-/.", text[end]) < 0 {
		return 0, false
	}
	sep := text[end]
	b, end, nb := readNumber(text, end+1, hi, 2)
	if nb == 0 || end >= hi || text[end] != sep {
		return 0, false
	}
	c, end, nc := readNumber(text, end+1, hi, 4)
	if na == 4 {
		return end, nc >= 1 && nc <= 2 && birthYearValid(a, 4) && validDate(a, b, c)
	}
	if nc != 2 && nc != 4 || !birthYearValid(c, nc) {
		return 0, false
	}
	year := fullYear(c, nc)
	return end, validDate(year, a, b) || validDate(year, b, a)
}

// parseChineseDate parses "1980年3月12日" (also with spaces or "号" for
// "日").
func parseChineseDate(text string, p, hi int) (int, bool) {
	year, end, n := readNumber(text, p, hi, 4)
	if n != 4 || !birthYearValid(year, 4) {
		return 0, false
	}
	end, ok := expectSuffix(text, end, hi, "年")
	if !ok {
		return 0, false
	}
	month, end, n := readNumber(text, skipBlanks(text[:hi], end), hi, 2)
	if n == 0 {
		return 0, false
	}
	if end, ok = expectSuffix(text, end, hi, "月"); !ok {
		return 0, false
	}
	day, end, n := readNumber(text, skipBlanks(text[:hi], end), hi, 2)
	if n == 0 {
		return 0, false
	}
	end2, ok := expectSuffix(text, end, hi, "日")
	if !ok {
		end2, ok = expectSuffix(text, end, hi, "号")
	}
	return end2, ok && validDate(year, month, day)
}

// expectSuffix skips blanks after text[p] and returns the end of s when it
// follows.
func expectSuffix(text string, p, hi int, s string) (int, bool) {
	p = skipBlanks(text[:hi], p)
	if !strings.HasPrefix(text[p:hi], s) {
		return 0, false
	}
	return p + len(s), true
}

// parseDayMonthYear parses "12 March 1980", "12th of March, 1980" and
// "12-Mar-1980".
func parseDayMonthYear(text string, p, hi int) (int, bool) {
	day, end, n := readNumber(text, p, hi, 2)
	if n == 0 {
		return 0, false
	}
	end = skipOrdinalSuffix(text, end, hi)
	if end < hi && text[end] == '-' {
		end++
	} else {
		end = skipBlanks(text[:hi], end)
		if strings.HasPrefix(strings.ToLower(text[end:min(hi, end+3)]), "of ") {
			end = skipBlanks(text[:hi], end+3)
		}
	}
	month, end, ok := readMonthName(text, end, hi)
	if !ok {
		return 0, false
	}
	year, end, ok := readYearAfter(text, end, hi)
	return end, ok && validDate(year, month, day)
}

// parseMonthDayYear parses "March 12, 1980", "Mar. 12 1980" and
// "March 12th, 1980".
func parseMonthDayYear(text string, p, hi int) (int, bool) {
	month, end, ok := readMonthName(text, p, hi)
	if !ok {
		return 0, false
	}
	day, end, n := readNumber(text, skipBlanks(text[:hi], end), hi, 2)
	if n == 0 {
		return 0, false
	}
	end = skipOrdinalSuffix(text, end, hi)
	year, end, ok := readYearAfter(text, end, hi)
	return end, ok && validDate(year, month, day)
}

// readMonthName reads an English month name or its three-letter (or
// "Sept") abbreviation with an optional dot at text[p], ignoring case.
func readMonthName(text string, p, hi int) (month, end int, ok bool) {
	end = p
	for end < hi && isASCIILetter(text[end]) {
		end++
	}
	word := strings.ToLower(text[p:end])
	if len(word) < 3 {
		return 0, 0, false
	}
	for i, name := range monthNames {
		if word == name || word == name[:3] || (i == 8 && word == "sept") {
			if end < hi && text[end] == '.' {
				end++
			}
			return i + 1, end, true
		}
	}
	return 0, 0, false
}

// readYearAfter skips blanks, an optional comma or hyphen, and reads a
// four-digit year.
func readYearAfter(text string, p, hi int) (year, end int, ok bool) {
	p = skipBlanks(text[:hi], p)
	if p < hi && (text[p] == ',' || text[p] == '-') {
		p = skipBlanks(text[:hi], p+1)
	}
	year, end, n := readNumber(text, p, hi, 4)
	return year, end, n == 4 && birthYearValid(year, 4)
}

func skipOrdinalSuffix(text string, p, hi int) int {
	if p+2 <= hi {
		switch strings.ToLower(text[p : p+2]) {
		case "st", "nd", "rd", "th":
			return p + 2
		}
	}
	return p
}

// birthYearValid reports whether a year written with n digits can be a
// year of birth.
func birthYearValid(year, n int) bool {
	if n == 2 {
		return true
	}
	return year >= minBirthYear && year <= maxBirthYear
}

// fullYear returns a four-digit year. Two-digit years map to 1900-1999,
// which covers most living adults.
//
// NOTE: a two-digit year of someone born in 2000 or later is read as 19xx.
// The only date this changes is 29 February of "00", which is rejected.
func fullYear(year, n int) int {
	if n == 2 {
		return 1900 + year
	}
	return year
}
