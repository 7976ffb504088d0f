package clean

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pemistahl/lingua-go"
)

// Language detection uses github.com/pemistahl/lingua-go v1.4.0 (n-gram
// models of 75 languages).

// Undetermined is the language code for text whose language could not be
// determined: too few letters, or no language clearly ahead of the others.
const Undetermined = "und"

// neighbourLanguages are added to the detector besides the configured
// languages. Without rivals a detector built for English alone would call
// every Latin-script text English; these common European languages give
// the detector something to prefer instead. Models load lazily, so cost
// grows with the number of languages the texts trigger. On a shared 2-core
// VM with the GPL-3 text, 7 languages took 70 ms to build and run the first
// detection (14 MB heap). All 75 languages took 285 ms and 55 MB for the
// same text, and load more models as texts in other scripts arrive.
var neighbourLanguages = []lingua.Language{
	lingua.English, lingua.German, lingua.French, lingua.Spanish,
	lingua.Italian, lingua.Portuguese, lingua.Dutch,
}

// Detection limits.
const (
	// langSampleBytes is the length of the prefix of a document that
	// detection looks at. The n-gram statistics settle within a few hundred
	// words, so a longer sample costs time without changing the result for
	// a single-language document.
	langSampleBytes = 4096
	// minLangLetters is the number of letters below which a text is
	// Undetermined.
	minLangLetters = 20
	// minLangConfidence is the confidence below which a text is
	// Undetermined, because no language is clearly ahead.
	minLangConfidence = 0.5
)

// languageDetector detects the language of a text among a fixed set.
type languageDetector struct {
	detector lingua.LanguageDetector
}

// newLanguageDetector builds a detector for codes (ISO 639-1, validated by
// Config.Validate) plus neighbourLanguages.
func newLanguageDetector(codes []string) *languageDetector {
	languages := append([]lingua.Language(nil), neighbourLanguages...)
	for _, code := range codes {
		lang := lingua.GetLanguageFromIsoCode639_1(lingua.GetIsoCode639_1FromValue(code))
		if lang == lingua.Unknown {
			panic("clean: language code not validated: " + code)
		}
		languages = append(languages, lang)
	}
	detector := lingua.NewLanguageDetectorBuilder().
		FromLanguages(languages...).
		Build()
	return &languageDetector{detector: detector}
}

// detect returns the ISO 639-1 code (lower case) of the language of text
// and a confidence in [0, 1], or Undetermined. It looks at the first
// langSampleBytes of text only, and replaces line breaks and tabs by spaces
// first, so a text's line wrapping does not change the result.
func (d *languageDetector) detect(text string) (string, float64) {
	sample := languageSample(text)
	if countLetters(sample) < minLangLetters {
		return Undetermined, 0
	}

	values := d.detector.ComputeLanguageConfidenceValues(sample)
	if len(values) == 0 {
		return Undetermined, 0
	}
	best := values[0]
	if len(values) > 1 && values[1].Value() == best.Value() {
		return Undetermined, 0
	}
	if best.Value() < minLangConfidence {
		return Undetermined, best.Value()
	}
	return strings.ToLower(best.Language().IsoCode639_1().String()), best.Value()
}

// languageSample returns at most langSampleBytes of text, cut at a space
// when one is near the end so no word is split, with every run of white
// space (line breaks included) replaced by one space.
func languageSample(text string) string {
	if len(text) > langSampleBytes {
		cut := langSampleBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		if space := strings.LastIndexAny(text[:cut], " \n\t"); space > langSampleBytes/2 {
			cut = space
		}
		text = text[:cut]
	}
	return strings.Join(strings.Fields(text), " ")
}

func countLetters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}
