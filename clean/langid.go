package clean

import (
	"math"
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
	lingua.Italian, lingua.Portuguese, lingua.Dutch, lingua.Chinese,
}

// scriptLanguages are scripts that, in lingua-go's language set, only one
// language writes. A text whose letters are almost all in one of them
// gets that language without running the n-gram models.
var scriptLanguages = []struct {
	script *unicode.RangeTable
	code   string
}{
	{unicode.Han, "zh"}, {unicode.Hangul, "ko"}, {unicode.Greek, "el"},
	{unicode.Hebrew, "he"}, {unicode.Thai, "th"}, {unicode.Armenian, "hy"},
	{unicode.Georgian, "ka"}, {unicode.Gujarati, "gu"}, {unicode.Gurmukhi, "pa"},
	{unicode.Tamil, "ta"}, {unicode.Telugu, "te"},
}

// minScriptShare is the share of a sample's letters that must be in one
// script of scriptLanguages for the script to decide the language.
// minHanShare is the lower share for Han, weighted by letterWeight. Chinese
// clinical and legal notes mix in Latin abbreviations and drug names
// (STEMI, PCI, aspirin), which the n-gram models cannot place. A text that
// is mostly Han ideographs without kana is Chinese.
const (
	minScriptShare = 0.9
	minHanShare    = 0.6
)

// cjkLetterWeight is how many letters one Han, Hangul or kana character
// counts as in minLangLetters and the script shares. One such character
// carries about a short word, so a 15-character Chinese note is as long as
// a 45-letter English one.
const cjkLetterWeight = 3

// Detection limits.
const (
	// langSampleBytes is the length of the prefix of a document that
	// detection looks at. On the 2916 documents of the project's real
	// legal, medical and financial corpora, samples of 512, 1024 and 2048
	// bytes changed the language of 13, 6 and 4 documents against 4096
	// (TestLanguageSampleSizeOnRealData), so the sample stays at 4096.
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
	// fast holds the codes the function-word fast path may return: the
	// detector's languages.
	fast map[string]bool
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
	fast := map[string]bool{}
	for _, lang := range languages {
		fast[strings.ToLower(lang.IsoCode639_1().String())] = true
	}
	return &languageDetector{detector: detector, fast: fast}
}

// detect returns the ISO 639-1 code (lower case) of the language of text
// and a confidence in [0, 1], or Undetermined. It looks at the first
// langSampleBytes of text only, and replaces line breaks and tabs by spaces
// first, so a text's line wrapping does not change the result.
func (d *languageDetector) detect(text string) (string, float64) {
	code, confidence, _ := d.detectWithMethod(text)
	return code, confidence
}

// detectWithMethod is detect that also reports whether a fast path
// decided the language without lingua-go: the script (see scriptLanguage,
// the confidence is the script's share of the letters) or the function
// words (see fastLanguage).
func (d *languageDetector) detectWithMethod(text string) (string, float64, bool) {
	sample := languageSample(text)
	letters := countLetters(sample)
	if letters < minLangLetters {
		return Undetermined, 0, false
	}
	if code, share := scriptLanguage(sample, letters); code != "" {
		return code, share, true
	}
	if code, share := fastLanguage(sample, d.fast); code != "" {
		return code, share, true
	}
	code, confidence := d.detectByModel(sample)
	return code, confidence, false
}

// detectByModel runs the lingua-go models on sample.
func (d *languageDetector) detectByModel(sample string) (string, float64) {

	values := d.detector.ComputeLanguageConfidenceValues(sample)
	if len(values) == 0 {
		return Undetermined, 0
	}
	best := values[0]
	confidence := roundConfidence(best.Value())
	if len(values) > 1 && roundConfidence(values[1].Value()) == confidence {
		return Undetermined, 0
	}
	if confidence < minLangConfidence {
		return Undetermined, confidence
	}
	return strings.ToLower(best.Language().IsoCode639_1().String()), confidence
}

// roundConfidence rounds a lingua-go confidence to 9 decimal places. With
// lingua-go v1.4.0 the same text's confidence differs between runs in its
// last digits (about 1e-14), so the clean output differed. Rounded, it is
// the same bytes every run.
func roundConfidence(v float64) float64 {
	return math.Round(v*1e9) / 1e9
}

// languageSample returns at most langSampleBytes of text, cut at a space
// when one is near the end so no word is split, with every run of white
// space (line breaks included) replaced by one space.
func languageSample(text string) string {
	return languageSampleN(text, langSampleBytes)
}

// languageSampleN is languageSample with a sample size of n bytes.
func languageSampleN(text string, n int) string {
	if len(text) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		if space := strings.LastIndexAny(text[:cut], " \n\t"); space > n/2 {
			cut = space
		}
		text = text[:cut]
	}
	return strings.Join(strings.Fields(text), " ")
}

// scriptLanguage returns the language of scriptLanguages whose script
// holds at least minScriptShare of the letters of sample, with that share,
// or "" when no script does. Text with any Hiragana or Katakana is
// Japanese and left to the models, and so is Han text with Hangul, which is
// Korean.
func scriptLanguage(sample string, letters int) (string, float64) {
	var first rune
	for _, r := range sample {
		if r >= 0x370 && unicode.IsLetter(r) {
			first = r
			break
		}
	}
	if first == 0 {
		return "", 0
	}
	for _, s := range scriptLanguages {
		if !unicode.Is(s.script, first) {
			continue
		}
		in := 0
		for _, r := range sample {
			if unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) {
				return "", 0
			}
			if unicode.Is(s.script, r) {
				in += letterWeight(r)
			}
		}
		share := float64(in) / float64(letters)
		if share >= minScriptShare || (s.script == unicode.Han && share >= minHanShare) {
			return s.code, share
		}
		return "", 0
	}
	return "", 0
}

// countLetters returns the letters of s, each weighted by letterWeight.
func countLetters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n += letterWeight(r)
		}
	}
	return n
}

// letterWeight is cjkLetterWeight for a Han, Hangul, Hiragana or Katakana
// letter and 1 for any other.
func letterWeight(r rune) int {
	if r >= 0x1100 && (unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hangul, r) ||
		unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)) {
		return cjkLetterWeight
	}
	return 1
}
