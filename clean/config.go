package clean

import (
	"fmt"
	"math"
	"strings"

	"github.com/pemistahl/lingua-go"
)

// Unicode normalization forms accepted by Config.Normalization (Unicode
// Standard Annex #15).
const (
	NFC  = "NFC"
	NFKC = "NFKC"
)

// Config sets the thresholds of the clean stage. Start from DefaultConfig;
// in a Config built by hand, a zero threshold turns its rule off.
type Config struct {
	// Normalization is the Unicode normalization form, NFC or NFKC. Empty
	// means NFC. NFKC also folds compatibility characters (ligatures,
	// full-width letters, superscripts) and can change meaning in
	// mathematical text.
	Normalization string `yaml:"normalization" json:"normalization"`

	// Languages lists the ISO 639-1 codes ("en", "de") of the languages to
	// keep. Documents detected as any other language, or as undetermined,
	// are rejected with reason "lang". Empty turns language ID off: every
	// document keeps the Lang it came with. Default ["en"].
	Languages []string `yaml:"languages" json:"languages"`

	// MinWords is the minimum number of whitespace-separated words, at least
	// 0. Zero means no minimum. Default 50.
	MinWords int `yaml:"min_words" json:"min_words"`

	// MaxWords is the maximum number of whitespace-separated words, at least
	// 0. Zero means no maximum. Default 100000.
	MaxWords int `yaml:"max_words" json:"max_words"`

	// MaxSymbolRatio is the maximum number of symbol characters per word
	// (see symbolRatio for which characters count), at least 0. Zero means
	// no limit. Default 0.5.
	MaxSymbolRatio float64 `yaml:"max_symbol_ratio" json:"max_symbol_ratio"`

	// MinMeanWordLength is the minimum mean word length in letters and
	// digits, at least 0. Zero means no minimum. Default 3.
	MinMeanWordLength float64 `yaml:"min_mean_word_length" json:"min_mean_word_length"`

	// MaxMeanWordLength is the maximum mean word length in letters and
	// digits, at least 0. Zero means no maximum. Default 10.
	MaxMeanWordLength float64 `yaml:"max_mean_word_length" json:"max_mean_word_length"`

	// DedupExact turns exact deduplication on: of documents whose
	// normalized text is identical, only the first in input order is kept.
	// Default true.
	DedupExact bool `yaml:"dedup_exact" json:"dedup_exact"`

	// RedactPII turns redaction of e-mail addresses and phone numbers on,
	// in kept and rejected documents alike. Default true.
	RedactPII bool `yaml:"redact_pii" json:"redact_pii"`
}

// Default thresholds. The word-length range 3 to 10 is the one of the
// Gopher quality filter (Rae et al., "Scaling Language Models: Methods,
// Analysis & Insights from Training Gopher", 2021, appendix A.1.1). The
// symbol ratio is looser than Gopher's 0.1 because this stage counts every
// symbol character, not only "#" and ellipses.
const (
	DefaultMinWords          = 50
	DefaultMaxWords          = 100_000
	DefaultMaxSymbolRatio    = 0.5
	DefaultMinMeanWordLength = 3
	DefaultMaxMeanWordLength = 10
)

// DefaultConfig returns the configuration the clean stage uses when the
// user sets nothing.
func DefaultConfig() Config {
	return Config{
		Normalization:     NFC,
		Languages:         []string{"en"},
		MinWords:          DefaultMinWords,
		MaxWords:          DefaultMaxWords,
		MaxSymbolRatio:    DefaultMaxSymbolRatio,
		MinMeanWordLength: DefaultMinMeanWordLength,
		MaxMeanWordLength: DefaultMaxMeanWordLength,
		DedupExact:        true,
		RedactPII:         true,
	}
}

// Validate returns an error wrapping ErrInvalidConfig that names the first
// field out of range.
func (c Config) Validate() error {
	switch strings.ToUpper(c.Normalization) {
	case "", NFC, NFKC:
	default:
		return invalid("normalization", "%q is not NFC or NFKC", c.Normalization)
	}
	for i, code := range c.Languages {
		lang := lingua.GetLanguageFromIsoCode639_1(lingua.GetIsoCode639_1FromValue(code))
		if lang == lingua.Unknown {
			return invalid(fmt.Sprintf("languages[%d]", i), "%q is not an ISO 639-1 code that lingua-go detects", code)
		}
	}
	if c.MinWords < 0 {
		return invalid("min_words", "%d is negative; use 0 for no minimum", c.MinWords)
	}
	if c.MaxWords < 0 {
		return invalid("max_words", "%d is negative; use 0 for no maximum", c.MaxWords)
	}
	if c.MaxWords > 0 && c.MinWords > c.MaxWords {
		return invalid("min_words", "%d is above max_words %d", c.MinWords, c.MaxWords)
	}
	for _, f := range []struct {
		name  string
		value float64
	}{
		{"max_symbol_ratio", c.MaxSymbolRatio},
		{"min_mean_word_length", c.MinMeanWordLength},
		{"max_mean_word_length", c.MaxMeanWordLength},
	} {
		if f.value < 0 || math.IsNaN(f.value) || math.IsInf(f.value, 0) {
			return invalid(f.name, "%g is negative or not finite; use 0 to turn the rule off", f.value)
		}
	}
	if c.MaxMeanWordLength > 0 && c.MinMeanWordLength > c.MaxMeanWordLength {
		return invalid("min_mean_word_length", "%g is above max_mean_word_length %g", c.MinMeanWordLength, c.MaxMeanWordLength)
	}
	return nil
}

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: clean.%s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}
