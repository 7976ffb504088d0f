package clean

import (
	"strings"
	"unicode"
)

// The function-word fast path decides the language of a Latin-script
// sample without lingua-go when the sample is plainly in one language.
// lingua-go v1.4.0 costs about 0.3 ms a call even on a 256-byte sample,
// because its rule filters run regular expressions per word, and that
// capped the stage near 1 MB/s. Each language below has a short list of its most
// frequent function words, chosen so that no word is in two lists. A
// sample is decided when at least fastMinShare of its words are function
// words of one language and the other languages together have at most
// fastMaxRival of that count. Every other sample goes to lingua-go.
// On the 2916 documents of the project's real legal, medical and
// financial corpora, the fast path decides 2844 and agrees with lingua-go
// on every one (TestLanguageFastPathOnRealData).
//
// NOTE: the thresholds were tuned on English corpora only; for the other
// six languages the fast path was checked on single paragraphs in tests.

// fastCodes are the languages of the fast path, indexed as in
// fastFunctionWords.
var fastCodes = [...]string{"en", "de", "fr", "es", "it", "pt", "nl"}

// fastMaxWordBytes is the length of the longest function word in bytes.
const fastMaxWordBytes = 8

// fastFunctionWords maps a lower-case function word to the index of its
// language in fastCodes.
var fastFunctionWords = func() map[string]int {
	lists := map[string]string{
		"en": "the of and to that for with as are be by this which from have not has were been their would its they or can may",
		"de": "der die und ist nicht mit den dem ein eine sich auch auf für werden wird sind oder bei nach aus wie noch einer",
		"fr": "le les est une dans pour sur pas par avec sont ou aux cette ce ont être elle nous vous leur été",
		"es": "el los las más pero sus también fue han y al sin hasta desde porque muy cuando donde ellos",
		"it": "della che di sono gli alla dei nel delle anche questo più essere stato",
		"pt": "os uma com não pelo pela são foi ao seu também estão em às nas",
		"nl": "het een van zijn niet met voor ook worden wordt aan bij maar zij dit deze naar uit werd",
	}
	words := map[string]int{}
	for index, code := range fastCodes {
		for _, w := range strings.Fields(lists[code]) {
			if other, dup := words[w]; dup {
				panic("clean: function word " + w + " listed for both " + fastCodes[other] + " and " + code)
			}
			if len(w) > fastMaxWordBytes {
				panic("clean: function word " + w + " is longer than fastMaxWordBytes")
			}
			words[w] = index
		}
	}
	return words
}()

// Fast-path thresholds.
const (
	// fastMinShare is the share of a sample's words that must be function
	// words of the winning language. English prose has about 0.3 to 0.4.
	fastMinShare = 0.12
	// fastMaxRival is the largest ratio of the other languages' function
	// words to the winner's.
	fastMaxRival = 0.2
	// fastMinWords is the number of words below which the fast path does
	// not decide.
	fastMinWords = 20
)

// fastLanguage returns the language of sample by function words, with the
// winner's share of all function words found as the confidence, or ""
// when the sample is not plain enough to decide. Only languages in
// allowed are returned.
func fastLanguage(sample string, allowed map[string]bool) (string, float64) {
	var counts [len(fastCodes)]int
	words := 0
	var lower []byte
	for start, i := 0, 0; i <= len(sample); i++ {
		if i < len(sample) && sample[i] != ' ' {
			continue
		}
		field := sample[start:i]
		start = i + 1
		if field == "" {
			continue
		}
		words++
		w := strings.TrimFunc(field, func(r rune) bool { return !unicode.IsLetter(r) })
		if len(w) > fastMaxWordBytes {
			continue
		}
		lower = append(lower[:0], w...)
		for k, c := range lower {
			if 'A' <= c && c <= 'Z' {
				lower[k] = c + 'a' - 'A'
			}
		}
		if code, ok := fastFunctionWords[string(lower)]; ok {
			counts[code]++
		}
	}
	if words < fastMinWords {
		return "", 0
	}
	best, total := -1, 0
	for code, n := range counts {
		total += n
		if n > 0 && (best < 0 || n > counts[best]) {
			best = code
		}
	}
	if best < 0 || !allowed[fastCodes[best]] {
		return "", 0
	}
	top := counts[best]
	if float64(top) < fastMinShare*float64(words) || float64(total-top) > fastMaxRival*float64(top) {
		return "", 0
	}
	return fastCodes[best], float64(top) / float64(total)
}
