package pii

// IBANs follow ISO 13616-1: a two-letter country code, two check digits and
// a country-specific BBAN of letters and digits, with the total length
// fixed per country by the SWIFT IBAN Registry. The check is ISO/IEC 7064
// MOD 97-10: moving the first four characters to the end and reading
// letters as 10 (A) to 35 (Z), the number is 1 modulo 97.
//
// NOTE: ibanLengths was written from the registry's length column as known
// in 2024, not checked line by line against one release. A country added
// or changed later is not found until this table is updated.
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16,
	"BG": 22, "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22,
	"CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20,
	"EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22,
	"GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
	"IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30,
	"KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
	"LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
	"MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
	"PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
	"SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
	"SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29,
	"VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

// maxIBANLength is the longest entry of ibanLengths.
const maxIBANLength = 34

// findIBANs returns the IBANs in text[lo:hi], in the electronic form
// ("GB82WEST12345698765432") or the paper form with a space after every
// four characters ("GB82 WEST 1234 5698 7654 32"). Letters match in any
// case ("gb82 west ...", "Gb82 West ..."): ISO 13616-1 prints them in upper
// case, but people type them in lower case too, so they are read as upper
// case for the length table and the check.
func findIBANs(text string, lo, hi int) []Match {
	var matches []Match
	var buf [maxIBANLength]byte
	for i := lo; i+4 <= hi; i++ {
		if !isASCIILetter(text[i]) || !isASCIILetter(text[i+1]) || !isDigit(text[i+2]) || !isDigit(text[i+3]) {
			continue
		}
		if i > lo && (isDigit(text[i-1]) || isASCIILetter(text[i-1])) {
			continue
		}
		country := [2]byte{toUpper(text[i]), toUpper(text[i+1])}
		length := ibanLengths[string(country[:])] // the conversion does not allocate
		if length == 0 {
			continue
		}
		end, ok := readIBAN(text, i, hi, length, buf[:0])
		if !ok {
			continue
		}
		matches = append(matches, Match{Type: TypeIBAN, Start: i, End: end})
		i = end - 1
	}
	return matches
}

// readIBAN reads length ASCII letters and digits from text[start:hi] into
// buf, with letters converted to upper case, allowing one space after each
// group of four. It returns the end of the IBAN when it ends at a word
// boundary and passes the MOD 97-10 check.
func readIBAN(text string, start, hi, length int, buf []byte) (int, bool) {
	j := start
	for len(buf) < length && j < hi {
		c := text[j]
		switch {
		case isDigit(c) || isASCIILetter(c):
			buf = append(buf, toUpper(c))
			j++
		case c == ' ' && len(buf)%4 == 0 && j+1 < hi && (isDigit(text[j+1]) || isASCIILetter(text[j+1])):
			j++
		default:
			return 0, false
		}
	}
	if len(buf) < length {
		return 0, false
	}
	if j < hi && (isDigit(text[j]) || isASCIILetter(text[j]) || text[j] == '_') {
		return 0, false
	}
	return j, ibanChecksumValid(buf)
}

// ibanChecksumValid applies the ISO/IEC 7064 MOD 97-10 check to an IBAN in
// electronic form with upper-case letters.
func ibanChecksumValid(iban []byte) bool {
	rem := 0
	for k := range iban {
		c := iban[(k+4)%len(iban)]
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A') + 10) % 97
		}
	}
	return rem == 1
}

// toUpper returns the upper-case form of an ASCII letter and any other byte
// unchanged.
func toUpper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
