package pii

import "strings"

// US Social Security numbers are written AAA-GG-SSSS. The Social Security
// Administration does not issue area 000, 666 or 900-999, group 00 or
// serial 0000, so such numbers are rejected. A number written with hyphens is found anywhere; one written
// with spaces or as nine bare digits only after an SSN cue, because nine
// digits alone are more often an identifier.

// ssnCues mark a following number as a Social Security number. They are
// matched without regard to ASCII case within ssnCueWindow bytes before the
// number on the same line.
var ssnCues = []string{"ssn", "social security", "ss#"}

const ssnCueWindow = 40

// findSSNs returns the Social Security numbers in text[lo:hi].
func findSSNs(text string, lo, hi int) []Match {
	var matches []Match
	var digits []byte
	forEachDigitSequence(text, lo, hi, func(groups []group) {
		for from := range groups {
			to, dashed := 0, false
			switch {
			case from+3 <= len(groups) && groups[from].len() == 3 && groups[from+1].len() == 2 && groups[from+2].len() == 4 && sameSeparators(groups[from:from+3]):
				to, dashed = from+3, groups[from+1].sep == '-'
			case groups[from].len() == 9:
				to = from + 1
			default:
				continue
			}
			if !windowBounded(groups, from, to) {
				continue
			}
			start, end := groups[from].start, groups[to-1].end
			digits = digitsOf(digits[:0], text, groups[from:to])
			if !ssnValid(digits) || !separate(text, start, end) {
				continue
			}

			// A cue overrides an identifier word ("SSN # 123456789").
			cue := followsSSNCue(text, start)
			if !cue && (!dashed || followsIdentifierWord(text, start)) {
				continue
			}
			matches = append(matches, Match{Type: TypeSSN, Start: start, End: end})
		}
	})
	return matches
}

// ssnValid reports whether nine ASCII digits have an area, group and serial
// number that the SSA issues.
func ssnValid(d []byte) bool {
	area, group, serial := string(d[:3]), string(d[3:5]), string(d[5:])
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

// followsSSNCue reports whether one of ssnCues appears in the
// ssnCueWindow bytes before start, on the same line.
func followsSSNCue(text string, start int) bool {
	before := text[max(0, start-ssnCueWindow):start]
	if i := strings.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	for _, cue := range ssnCues {
		if indexFoldASCII(before, cue) >= 0 {
			return true
		}
	}
	return false
}
