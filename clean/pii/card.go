package pii

// Payment card numbers follow ISO/IEC 7812-1: an issuer identification
// number (IIN) prefix, an account number and a Luhn check digit, 13 to 19
// digits in all for the networks below. The prefix and length table follows
// the issuing-network table of the Wikipedia article "Payment card number"
// (as of 2024).
//
// NOTE: IIN ranges change over time; a card of a network missing from
// cardNetworks (or a new range of a listed one) is not found.

const (
	minCardDigits = 13
	maxCardDigits = 19
)

// cardNetwork is one issuing network's IIN range and allowed lengths. A
// number matches when its first len(lowIIN) digits, read as a number, lie
// in [lowIIN, highIIN] and its length is in [minLen, maxLen].
type cardNetwork struct {
	lowIIN, highIIN string
	minLen, maxLen  int
}

var cardNetworks = []cardNetwork{
	{"4", "4", 13, 13},       // Visa
	{"4", "4", 16, 16},       // Visa
	{"4", "4", 19, 19},       // Visa
	{"51", "55", 16, 16},     // Mastercard
	{"2221", "2720", 16, 16}, // Mastercard 2-series
	{"34", "34", 15, 15},     // American Express
	{"37", "37", 15, 15},     // American Express
	{"6011", "6011", 16, 19}, // Discover
	{"644", "649", 16, 19},   // Discover
	{"65", "65", 16, 19},     // Discover
	{"62", "62", 16, 19},     // UnionPay (includes Discover's 622126-622925)
	{"3528", "3589", 16, 19}, // JCB
	{"300", "305", 14, 19},   // Diners Club
	{"36", "36", 14, 19},     // Diners Club International
	{"38", "39", 14, 19},     // Diners Club
	{"2200", "2204", 16, 19}, // Mir
	{"5018", "5018", 13, 19}, // Maestro
	{"5020", "5020", 13, 19}, // Maestro
	{"5038", "5038", 13, 19}, // Maestro
	{"5893", "5893", 13, 19}, // Maestro
	{"6304", "6304", 13, 19}, // Maestro
	{"6759", "6759", 13, 19}, // Maestro UK
	{"6761", "6763", 13, 19}, // Maestro
	{"637", "639", 16, 16},   // InstaPayment
	{"60", "60", 16, 19},     // RuPay
	{"8600", "8600", 16, 16}, // Uzcard
	{"9860", "9860", 16, 16}, // Humo
}

// findCards returns the payment card numbers in text[lo:hi]. A number must
// be separate from its neighbours and must not follow an identifier word
// ("order", "invoice", "#"). It must be written as one run of digits or in
// one of the groupings printed on cards, have a known IIN and length, and
// pass the Luhn check.
func findCards(text string, lo, hi int) []Match {
	var matches []Match
	var digits []byte
	forEachDigitSequence(text, lo, hi, func(groups []group) {
		for from := 0; from < len(groups); from++ {
			// Windows longer than maxCardDigits digits cannot be cards.
			maxTo, n := from, 0
			for maxTo < len(groups) && n+groups[maxTo].len() <= maxCardDigits {
				n += groups[maxTo].len()
				maxTo++
			}
			for to := maxTo; to > from; to-- {
				start, end := groups[from].start, groups[to-1].end
				window := groups[from:to]
				if !cardShape(window) || !windowBounded(groups, from, to) {
					continue
				}
				digits = digitsOf(digits[:0], text, window)
				if !knownCardNetwork(digits) || !luhnValid(digits) {
					continue
				}
				if !separate(text, start, end) || followsIdentifierWord(text, start) {
					continue
				}
				matches = append(matches, Match{Type: TypeCard, Start: start, End: end})
				from = to - 1
				break
			}
		}
	})
	return matches
}

// cardShape reports whether groups are written as a card number. Accepted
// are one run of 13 to 19 digits, groups of four with a last group of one
// to four ("4222 2222 2222 2"), and the 4-6-5 and 4-6-4 groupings of
// American Express and Diners Club. All separators must be the same.
func cardShape(groups []group) bool {
	n := 0
	for _, g := range groups {
		n += g.len()
	}
	if n < minCardDigits || n > maxCardDigits || !sameSeparators(groups) {
		return false
	}
	switch {
	case len(groups) == 1:
		return true
	case len(groups) == 3 && groups[0].len() == 4 && groups[1].len() == 6 && (groups[2].len() == 5 || groups[2].len() == 4):
		return true
	}
	if len(groups) < 4 {
		return false
	}
	for _, g := range groups[:len(groups)-1] {
		if g.len() != 4 {
			return false
		}
	}
	return groups[len(groups)-1].len() <= 4
}

// knownCardNetwork reports whether digits start with an IIN of
// cardNetworks and have a length that network issues.
func knownCardNetwork(digits []byte) bool {
	for _, nw := range cardNetworks {
		if len(digits) < nw.minLen || len(digits) > nw.maxLen {
			continue
		}
		prefix := string(digits[:len(nw.lowIIN)])
		if prefix >= nw.lowIIN && prefix <= nw.highIIN {
			return true
		}
	}
	return false
}

// luhnValid reports whether the ASCII digits pass the Luhn (mod 10) check
// of ISO/IEC 7812-1 Annex B: doubling every second digit from the right,
// the digit sum is a multiple of 10.
func luhnValid(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
