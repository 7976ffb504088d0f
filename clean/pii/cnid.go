package pii

import "time"

// Chinese resident identity card numbers follow GB 11643-1999: six digits
// of administrative region code (first digit 1 to 8), an eight-digit birth
// date YYYYMMDD, a three-digit sequence number and a check character. The
// check character is ISO 7064 MOD 11-2 over the first 17 digits with
// weights 2^(17-i) mod 11, written 0-9 or X for 10.
//
// NOTE: the 15-digit numbers issued before 1999 carry no check digit and
// are not found.

const cnIDLength = 18

// cnIDWeights are the MOD 11-2 weights 2^(17-i) mod 11 for i = 0..16.
var cnIDWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// cnIDCheckChars maps the weighted sum modulo 11 to the check character.
const cnIDCheckChars = "10X98765432"

// minCNIDBirthYear is the earliest birth year accepted in an identity card
// number; numbers of people born earlier are not in circulation.
const minCNIDBirthYear = 1900

// findCNIDs returns the Chinese identity card numbers in text[lo:hi]: 18
// characters (17 digits and a digit or "X"), or the same split 6-8-4 by
// spaces, separate from neighbouring ASCII words.
func findCNIDs(text string, lo, hi int) []Match {
	var matches []Match
	var digits []byte
	forEachDigitSequence(text, lo, hi, func(groups []group) {
		for from := range groups {
			to := from + 1
			switch {
			case groups[from].len() == cnIDLength || groups[from].len() == cnIDLength-1:
			case from+3 <= len(groups) && groups[from].len() == 6 && groups[from+1].len() == 8 &&
				(groups[from+2].len() == 4 || groups[from+2].len() == 3) && sameSeparators(groups[from:from+3]) && groups[from+1].sep == ' ':
				to = from + 3
			default:
				continue
			}
			if !windowBounded(groups, from, to) {
				continue
			}
			start, end := groups[from].start, groups[to-1].end
			digits = digitsOf(digits[:0], text, groups[from:to])
			if len(digits) == cnIDLength-1 {
				if end >= hi || (text[end] != 'X' && text[end] != 'x') {
					continue
				}
				digits = append(digits, 'X')
				end++
			}
			if len(digits) != cnIDLength || !cnIDValid(digits) || !separate(text, start, end) {
				continue
			}
			matches = append(matches, Match{Type: TypeCNID, Start: start, End: end})
		}
	})
	return matches
}

// cnIDValid reports whether 18 characters (digits, last one possibly 'X')
// have a valid region digit, birth date and check character.
func cnIDValid(id []byte) bool {
	if id[0] < '1' || id[0] > '8' {
		return false
	}
	year := atoi(id[6:10])
	month := atoi(id[10:12])
	day := atoi(id[12:14])
	if year < minCNIDBirthYear || !validDate(year, month, day) {
		return false
	}
	if time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).After(time.Now()) {
		return false
	}
	return cnIDCheckChar(id[:17]) == id[17]
}

// cnIDCheckChar returns the MOD 11-2 check character of 17 digits.
func cnIDCheckChar(digits []byte) byte {
	sum := 0
	for i, w := range cnIDWeights {
		sum += int(digits[i]-'0') * w
	}
	return cnIDCheckChars[sum%11]
}

// atoi parses ASCII digits; the caller has checked that they are digits.
func atoi(digits []byte) int {
	n := 0
	for _, c := range digits {
		n = n*10 + int(c-'0')
	}
	return n
}

// validDate reports whether year-month-day is a date of the proleptic
// Gregorian calendar.
func validDate(year, month, day int) bool {
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	return day <= time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
