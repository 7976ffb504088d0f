package pii

// Chinese mobile numbers have 11 digits, 1 followed by 3-9 and nine more
// digits (the MIIT numbering plan), written as one run or split 3-4-4 or
// 3-8, optionally led by the country code as "+86", "0086" or "86" (with
// or without the "+"). They are reported as TypePhone. libphonenumber validates them too,
// but only with a "+86" prefix, because DefaultRegion is "US"; this finder
// covers the national form that Chinese text uses.

const cnMobileDigits = 11

// findCNMobiles returns the Chinese mobile numbers in text[lo:hi]. Digits
// inside a longer run (an identity card number, an order number) are never
// a candidate, because the whole sequence must have one of the shapes
// above.
func findCNMobiles(text string, lo, hi int) []Match {
	var matches []Match
	forEachDigitSequence(text, lo, hi, func(groups []group) {
		start := groups[0].start
		plus := start > lo && text[start-1] == '+'
		if plus {
			start--
		}
		national := groups

		// Drop the country code, written as its own group or glued to
		// the number ("+8613812345678").
		switch first := text[groups[0].start:groups[0].end]; {
		case first == "86" || (first == "0086" && !plus):
			national = groups[1:]
		case plus && len(first) == 2+cnMobileDigits && first[:2] == "86":
			national = []group{{start: groups[0].start + 2, end: groups[0].end}}
		case plus:
			return
		}
		if !cnMobileShape(text, national) {
			return
		}
		end := national[len(national)-1].end
		if !separate(text, start, end) || followsIdentifierWord(text, start) {
			return
		}
		matches = append(matches, Match{Type: TypePhone, Start: start, End: end})
	})
	return matches
}

// cnMobileShape reports whether groups hold one mobile number written as
// one run, 3-4-4 or 3-8.
func cnMobileShape(text string, groups []group) bool {
	switch len(groups) {
	case 1:
		if groups[0].len() != cnMobileDigits {
			return false
		}
	case 2:
		if groups[0].len() != 3 || groups[1].len() != 8 {
			return false
		}
	case 3:
		if groups[0].len() != 3 || groups[1].len() != 4 || groups[2].len() != 4 || !sameSeparators(groups) {
			return false
		}
	default:
		return false
	}
	first := groups[0].start
	return text[first] == '1' && text[first+1] >= '3' && text[first+1] <= '9'
}
