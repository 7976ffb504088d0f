package clean

import (
	"os"
	"strings"
	"testing"
)

func TestRepairText(t *testing.T) {
	cases := []struct {
		name         string
		in           string
		want         string
		wantInvalid  int
		wantControls int
	}{
		{"clean text unchanged", "plain text\n\twith tab", "plain text\n\twith tab", 0, 0},
		{"invalid byte", "caf\xe9 ok", "caf\uFFFD ok", 1, 0},
		{"run of invalid bytes counts once", "a\xff\xfe\xfdb", "a\uFFFDb", 1, 0},
		{"two separate invalid bytes", "\xffa\xff", "\uFFFDa\uFFFD", 2, 0},
		{"control characters removed", "a\x00b\x07c\x1bd", "abcd", 0, 3},
		{"carriage return kept for whitespace step", "a\r\nb", "a\r\nb", 0, 0},
		{"byte-order mark removed", "\uFEFFtitle", "title", 0, 1},
		{"C1 control removed", "a\u0085b", "ab", 0, 1},
		{"replacement character already present is kept", "a\uFFFDb", "a\uFFFDb", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, repair := repairText(tc.in)
			if got != tc.want {
				t.Errorf("repairText(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if repair.invalidUTF8 != tc.wantInvalid {
				t.Errorf("invalid sequences = %d, want %d", repair.invalidUTF8, tc.wantInvalid)
			}
			if repair.controls != tc.wantControls {
				t.Errorf("controls removed = %d, want %d", repair.controls, tc.wantControls)
			}
		})
	}
}

func TestNormalizeUnicode(t *testing.T) {
	cases := []struct {
		name, in, form, want string
	}{
		{"NFC composes accents", "cafe\u0301", NFC, "caf\u00e9"},
		{"NFC keeps ligature", "\ufb01le", NFC, "\ufb01le"},
		{"NFKC folds ligature", "\ufb01le", NFKC, "file"},
		{"NFKC folds full-width letters", "\uff21\uff22", NFKC, "AB"},
		{"empty form means NFC", "cafe\u0301", "", "caf\u00e9"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := normalizeUnicode(tc.in, tc.form); got != tc.want {
				t.Errorf("normalizeUnicode(%q, %s) = %q, want %q", tc.in, tc.form, got, tc.want)
			}
		})
	}
}

func TestNormalizeWhitespace(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"runs of spaces and tabs collapse", "a  \t b", "a b"},
		{"trailing spaces removed", "a   \nb\t\n", "a\nb"},
		{"CRLF becomes LF", "a\r\nb\r\n", "a\nb"},
		{"lone CR becomes LF", "a\rb", "a\nb"},
		{"paragraph break kept", "a\n\nb", "a\n\nb"},
		{"three or more newlines become one blank line", "a\n\n\n\n\nb", "a\n\nb"},
		{"blank line of spaces counts as blank", "a\n   \n  \t\n\nb", "a\n\nb"},
		{"leading and trailing space removed", "\n\n  a b  \n\n", "a b"},
		{"continuation line keeps one leading space", "Copyright: 1995\n           Ian", "Copyright: 1995\n Ian"},
		{"no-break space collapses", "a\u00a0\u00a0b", "a b"},
		{"only whitespace", " \t\r\n\n ", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := normalizeWhitespace(tc.in); got != tc.want {
				t.Errorf("normalizeWhitespace(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

const (
	englishText = "The licenses for most software are designed to take away your freedom to share and change it. By contrast, the GNU General Public License is intended to guarantee your freedom to share and change free software."
	germanText  = "Die meisten Softwarelizenzen sind daraufhin entworfen worden, Ihnen die Freiheit zu nehmen, die Software weiterzugeben und zu verändern. Im Gegensatz dazu soll Ihnen die GNU General Public License die Freiheit garantieren."
	frenchText  = "Les licences de la plupart des logiciels sont conçues pour vous enlever toute liberté de les partager et de les modifier. A contrario, la Licence Publique Générale est destinée à garantir votre liberté de partager et de modifier les logiciels libres."
)

func TestDetectLanguage(t *testing.T) {
	d := newLanguageDetector([]string{"en", "zh", "ja"})
	cases := []struct {
		name, text, want string
	}{
		{"English prose", englishText, "en"},
		{"German prose", germanText, "de"},
		{"French prose", frenchText, "fr"},
		{"too few letters", "1999 - 2004 (c)", Undetermined},
		{"empty", "", Undetermined},
		// 15 Han characters weigh as 45 letters.
		{"short Chinese note", "患者胸痛三天，诊断为急性心肌梗死。", "zh"},
		{"Chinese with Latin abbreviations", "患者诊断为STEMI，行PCI术，术后予DAPT（aspirin + clopidogrel）治疗，症状缓解出院。", "zh"},
		{"too short even in Han", "胸痛。", Undetermined},
		{"English with a Chinese name", englishText + " Signed by 王小明.", "en"},
		{"Japanese with kana", "患者は三日間の胸痛を訴えて来院しました。急性心筋梗塞と診断された。", "ja"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, confidence := d.detect(tc.text)
			if got != tc.want {
				t.Errorf("detect = %s (confidence %.3f), want %s", got, confidence, tc.want)
			}
			if confidence < 0 || confidence > 1 {
				t.Errorf("confidence %g outside [0, 1]", confidence)
			}
		})
	}
}

// TestDetectLanguageIgnoresLineBreaks re-wraps real license texts and checks
// that the detected language and confidence do not change.
func TestDetectLanguageIgnoresLineBreaks(t *testing.T) {
	d := newLanguageDetector([]string{"en"})
	texts := map[string]string{"english": englishText, "german": germanText, "french": frenchText}
	for _, name := range []string{"GPL-3", "Apache-2.0", "MPL-2.0"} {
		if data, err := os.ReadFile("/usr/share/common-licenses/" + name); err == nil {
			texts[name] = string(data)
		}
	}
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			flat := strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(text)
			// Break lines every few words, at different places than the
			// original.
			words := strings.Fields(text)
			var wrapped strings.Builder
			for i, w := range words {
				if i > 0 {
					if i%7 == 0 {
						wrapped.WriteString("\n")
					} else {
						wrapped.WriteString(" ")
					}
				}
				wrapped.WriteString(w)
			}

			langFlat, confFlat := d.detect(flat)
			langOrig, confOrig := d.detect(text)
			if langFlat != langOrig || confFlat != confOrig {
				t.Errorf("original text: %s %.6f, without line breaks: %s %.6f", langOrig, confOrig, langFlat, confFlat)
			}
			if len(text) < langSampleBytes {
				langWrapped, confWrapped := d.detect(wrapped.String())
				if langWrapped != langFlat || confWrapped != confFlat {
					t.Errorf("re-wrapped text: %s %.6f, without line breaks: %s %.6f", langWrapped, confWrapped, langFlat, confFlat)
				}
			}
		})
	}
}

func TestLanguageSampleCutsLongText(t *testing.T) {
	text := strings.Repeat("word ", 5000)
	sample := languageSample(text)
	if len(sample) > langSampleBytes {
		t.Errorf("sample has %d bytes, want at most %d", len(sample), langSampleBytes)
	}
	if strings.HasSuffix(sample, "wor") || strings.HasSuffix(sample, " ") {
		t.Errorf("sample ends in %q, want a whole word", sample[len(sample)-8:])
	}
}

func TestMeasureQuality(t *testing.T) {
	cases := []struct {
		name           string
		text           string
		wantWords      int
		wantSymbol     float64
		wantMeanLength float64
	}{
		{"prose", "The cat sat.", 3, 0, 3},
		{"symbols counted per word", "a # b ## c", 5, 3.0 / 5, 1},
		{"prose punctuation is not a symbol", "Yes, (it) is \"fine\"; ok!", 5, 0, 13.0 / 5},
		{"empty", "", 0, 0, 0},
		{"symbols only", "### $$$", 2, 3, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := measureQuality(tc.text)
			if q.words != tc.wantWords {
				t.Errorf("words = %d, want %d", q.words, tc.wantWords)
			}
			// Exact ratios of small integers; 1e-12 only absorbs division
			// rounding.
			if diff := q.symbolRatio - tc.wantSymbol; diff > 1e-12 || diff < -1e-12 {
				t.Errorf("symbolRatio = %g, want %g", q.symbolRatio, tc.wantSymbol)
			}
			if diff := q.meanWordLength - tc.wantMeanLength; diff > 1e-12 || diff < -1e-12 {
				t.Errorf("meanWordLength = %g, want %g", q.meanWordLength, tc.wantMeanLength)
			}
		})
	}
}

func TestCheckQuality(t *testing.T) {
	cfg := DefaultConfig()
	cases := []struct {
		name       string
		q          qualitySignals
		wantReason string
		wantDetail string
	}{
		{"passes", qualitySignals{words: 100, symbolRatio: 0.1, meanWordLength: 5, alphaWords: 1}, "", ""},
		{"too short", qualitySignals{words: 12, meanWordLength: 5}, ReasonTooShort, "word_count 12 < min_words 50"},
		{"too long", qualitySignals{words: 200000, meanWordLength: 5}, ReasonTooLong, "word_count 200000 > max_words 100000"},
		{"symbol ratio", qualitySignals{words: 100, symbolRatio: 0.75, meanWordLength: 5}, ReasonSymbolRatio, "symbol_ratio 0.750 > max_symbol_ratio 0.5"},
		{"short words", qualitySignals{words: 100, meanWordLength: 2.5}, ReasonMeanWordLength, "mean_word_length 2.50 < min_mean_word_length 3"},
		{"long words", qualitySignals{words: 100, meanWordLength: 12}, ReasonMeanWordLength, "mean_word_length 12.00 > max_mean_word_length 10"},
		{"zero thresholds turn rules off", qualitySignals{words: 1, symbolRatio: 9, meanWordLength: 40}, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			if tc.name == "zero thresholds turn rules off" {
				c = Config{}
			}
			reason, detail := checkQuality(tc.q, c, "")
			if reason != tc.wantReason || detail != tc.wantDetail {
				t.Errorf("checkQuality = (%q, %q), want (%q, %q)", reason, detail, tc.wantReason, tc.wantDetail)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"default is valid", func(*Config) {}, ""},
		{"zero config is valid", func(c *Config) { *c = Config{} }, ""},
		{"NFKC", func(c *Config) { c.Normalization = "nfkc" }, ""},
		{"unknown form", func(c *Config) { c.Normalization = "NFD" }, "clean.normalization"},
		{"unknown language", func(c *Config) { c.Languages = []string{"english"} }, "clean.languages[0]"},
		{"negative min words", func(c *Config) { c.MinWords = -1 }, "clean.min_words"},
		{"min above max words", func(c *Config) { c.MinWords, c.MaxWords = 10, 5 }, "clean.min_words"},
		{"negative symbol ratio", func(c *Config) { c.MaxSymbolRatio = -0.1 }, "clean.max_symbol_ratio"},
		{"min above max word length", func(c *Config) { c.MinMeanWordLength = 11 }, "clean.min_mean_word_length"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate = %v, want an error naming %s", err, tc.wantErr)
			}
		})
	}
}
