package clean

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/adapt-llm/adapt/clean/neardup"
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

	// MaxHashEllipsisRatio is the maximum number of "#" characters and
	// ellipses ("..." or "…") per word, at least 0. Zero means no limit.
	// Default 0.1 (Gopher).
	MaxHashEllipsisRatio float64 `yaml:"max_hash_ellipsis_ratio" json:"max_hash_ellipsis_ratio"`

	// MaxBulletLineFraction is the maximum fraction of non-blank lines that
	// start with a bullet ("•", "- ", "* ", ...), in [0, 1]. Zero means no
	// limit. Default 0.9 (Gopher).
	MaxBulletLineFraction float64 `yaml:"max_bullet_line_fraction" json:"max_bullet_line_fraction"`

	// MaxEllipsisLineFraction is the maximum fraction of non-blank lines
	// that end in an ellipsis, in [0, 1]. Zero means no limit. Default 0.3
	// (Gopher).
	MaxEllipsisLineFraction float64 `yaml:"max_ellipsis_line_fraction" json:"max_ellipsis_line_fraction"`

	// MinAlphaWordFraction is the minimum fraction of words that contain a
	// letter, in [0, 1]. Zero means no minimum. Default 0.8 (Gopher).
	MinAlphaWordFraction float64 `yaml:"min_alpha_word_fraction" json:"min_alpha_word_fraction"`

	// MinStopWords is the minimum number of the English stop words "the",
	// "be", "to", "of", "and", "that", "have" and "with" in a document
	// detected as English, at least 0. Other languages skip the rule. Zero
	// means no minimum. Default 2 (Gopher).
	MinStopWords int `yaml:"min_stop_words" json:"min_stop_words"`

	// MaxDuplicateLineFraction is the maximum fraction of non-blank lines
	// that repeat an earlier line of the same document, in [0, 1]. Zero
	// means no limit. Default 0.3 (Gopher).
	MaxDuplicateLineFraction float64 `yaml:"max_duplicate_line_fraction" json:"max_duplicate_line_fraction"`

	// MaxDuplicateLineCharFraction is the maximum fraction of characters
	// in repeated lines, in [0, 1]. Zero means no limit. Default 0.2
	// (Gopher).
	MaxDuplicateLineCharFraction float64 `yaml:"max_duplicate_line_char_fraction" json:"max_duplicate_line_char_fraction"`

	// MaxDuplicateParagraphFraction is the maximum fraction of paragraphs
	// (text between blank lines) that repeat an earlier paragraph, in
	// [0, 1]. Zero means no limit. Default 0.3 (Gopher).
	MaxDuplicateParagraphFraction float64 `yaml:"max_duplicate_paragraph_fraction" json:"max_duplicate_paragraph_fraction"`

	// MaxDuplicateParagraphCharFraction is the maximum fraction of
	// characters in repeated paragraphs, in [0, 1]. Zero means no limit.
	// Default 0.2 (Gopher).
	MaxDuplicateParagraphCharFraction float64 `yaml:"max_duplicate_paragraph_char_fraction" json:"max_duplicate_paragraph_char_fraction"`

	// MaxTopNgramCharFraction holds, for n = 2, 3, 4 in that order, the
	// maximum fraction of word characters covered by the most frequent word
	// n-gram, each in [0, 1]. At most 3 values. Empty, or a zero entry,
	// turns the rule off for that n. Default [0.20, 0.18, 0.16] (Gopher).
	MaxTopNgramCharFraction []float64 `yaml:"max_top_ngram_char_fraction" json:"max_top_ngram_char_fraction"`

	// MaxDuplicateNgramCharFraction holds, for n = 5 to 10 in that order,
	// the maximum fraction of word characters inside repeated word
	// n-grams, each in [0, 1]. At most 6 values. Empty, or a zero entry,
	// turns the rule off for that n. Default [0.15, 0.14, 0.13, 0.12, 0.11,
	// 0.10] (Gopher).
	MaxDuplicateNgramCharFraction []float64 `yaml:"max_duplicate_ngram_char_fraction" json:"max_duplicate_ngram_char_fraction"`

	// Dehyphenate turns the joining of words broken across lines on
	// ("treat-\nment" becomes "treatment"; see dehyphenate for the rule).
	// Default true.
	Dehyphenate bool `yaml:"dehyphenate" json:"dehyphenate"`

	// BoilerplateMinDocs is the number of documents of one source group
	// (see sourceGroup) that a line must occur in before it is removed as
	// boilerplate, at least 0. Zero turns boilerplate removal off. Default
	// 5.
	BoilerplateMinDocs int `yaml:"boilerplate_min_docs" json:"boilerplate_min_docs"`

	// BoilerplateMinFraction is the fraction of a source group's documents
	// that a line must also occur in before it is removed, in [0, 1]. Zero
	// means only BoilerplateMinDocs applies. Default 0.5.
	BoilerplateMinFraction float64 `yaml:"boilerplate_min_fraction" json:"boilerplate_min_fraction"`

	// BoilerplateMaxLines caps the distinct lines counted for boilerplate
	// over all source groups, which bounds the memory of the counting pass
	// at about 40 bytes a line. Lines first seen after the cap is reached
	// are not counted and never removed. Zero means
	// DefaultBoilerplateMaxLines.
	BoilerplateMaxLines int `yaml:"boilerplate_max_lines" json:"boilerplate_max_lines"`

	// Terminology turns the normalization of domain terms on. It rewrites
	// document text: abbreviations of the document's domain ("MI" in a
	// medical document) are expanded, and synonym phrases of a
	// TerminologyFile are replaced by their preferred term. Default false,
	// so clean leaves the wording of training and eval text as it is.
	Terminology bool `yaml:"terminology" json:"terminology"`

	// TerminologyFile is the path of a YAML file of terminology maps per
	// domain, in the layout of the built-in terminology.yaml. Its domains
	// replace the built-in maps of the same name. Empty means the built-in
	// maps only (medical, legal, financial).
	TerminologyFile string `yaml:"terminology_file" json:"terminology_file"`

	// DedupExact turns exact deduplication on: of documents whose
	// normalized text is identical, only the first in input order is kept.
	// Default true.
	DedupExact bool `yaml:"dedup_exact" json:"dedup_exact"`

	// RedactPII turns redaction of e-mail addresses and phone numbers on,
	// in kept and rejected documents alike. Default true.
	RedactPII bool `yaml:"redact_pii" json:"redact_pii"`
	// NearDedup sets MinHash-LSH near-duplicate removal over all kept
	// documents of the run, across input shards. Documents form a cluster
	// when the estimated Jaccard similarity of their word shingles
	// (character shingles for Chinese and Japanese) reaches
	// NearDedup.Threshold. The first document of a cluster in input order is
	// kept and the rest are rejected with reason "duplicate_near". Default enabled with threshold 0.8, 128
	// permutations and 5-shingles (neardup.DefaultConfig).
	NearDedup neardup.Config `yaml:"near_dedup" json:"near_dedup"`
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

	// Gopher quality and repetition thresholds (Rae et al. 2021, appendix
	// A.1.1 and Table A1).
	DefaultMaxHashEllipsisRatio              = 0.1
	DefaultMaxBulletLineFraction             = 0.9
	DefaultMaxEllipsisLineFraction           = 0.3
	DefaultMinAlphaWordFraction              = 0.8
	DefaultMinStopWords                      = 2
	DefaultMaxDuplicateLineFraction          = 0.3
	DefaultMaxDuplicateLineCharFraction      = 0.2
	DefaultMaxDuplicateParagraphFraction     = 0.3
	DefaultMaxDuplicateParagraphCharFraction = 0.2

	// Boilerplate defaults: a line is boilerplate when at least 5
	// documents and half the documents of its source group contain it.
	DefaultBoilerplateMinDocs     = 5
	DefaultBoilerplateMinFraction = 0.5
	// DefaultBoilerplateMaxLines bounds the counting pass at about 160 MB.
	DefaultBoilerplateMaxLines = 4_000_000
)

// defaultTopNgram and defaultDuplicateNgram are the Gopher Table A1
// thresholds for n = 2..4 and n = 5..10.
var (
	defaultTopNgram       = []float64{0.20, 0.18, 0.16}
	defaultDuplicateNgram = []float64{0.15, 0.14, 0.13, 0.12, 0.11, 0.10}
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

		MaxHashEllipsisRatio:              DefaultMaxHashEllipsisRatio,
		MaxBulletLineFraction:             DefaultMaxBulletLineFraction,
		MaxEllipsisLineFraction:           DefaultMaxEllipsisLineFraction,
		MinAlphaWordFraction:              DefaultMinAlphaWordFraction,
		MinStopWords:                      DefaultMinStopWords,
		MaxDuplicateLineFraction:          DefaultMaxDuplicateLineFraction,
		MaxDuplicateLineCharFraction:      DefaultMaxDuplicateLineCharFraction,
		MaxDuplicateParagraphFraction:     DefaultMaxDuplicateParagraphFraction,
		MaxDuplicateParagraphCharFraction: DefaultMaxDuplicateParagraphCharFraction,
		MaxTopNgramCharFraction:           slices.Clone(defaultTopNgram),
		MaxDuplicateNgramCharFraction:     slices.Clone(defaultDuplicateNgram),

		Dehyphenate:            true,
		BoilerplateMinDocs:     DefaultBoilerplateMinDocs,
		BoilerplateMinFraction: DefaultBoilerplateMinFraction,
		BoilerplateMaxLines:    DefaultBoilerplateMaxLines,
		Terminology:            false,
		DedupExact:             true,
		RedactPII:              true,
		NearDedup:              neardup.DefaultConfig(),
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
	if c.MinStopWords < 0 {
		return invalid("min_stop_words", "%d is negative; use 0 for no minimum", c.MinStopWords)
	}
	if c.BoilerplateMinDocs < 0 {
		return invalid("boilerplate_min_docs", "%d is negative; use 0 to turn boilerplate removal off", c.BoilerplateMinDocs)
	}
	if c.BoilerplateMaxLines < 0 {
		return invalid("boilerplate_max_lines", "%d is negative; use 0 for the default %d", c.BoilerplateMaxLines, DefaultBoilerplateMaxLines)
	}
	if len(c.MaxTopNgramCharFraction) > maxTopNgram-minTopNgram+1 {
		return invalid("max_top_ngram_char_fraction", "has %d values, want at most %d (n = 2 to 4)", len(c.MaxTopNgramCharFraction), maxTopNgram-minTopNgram+1)
	}
	if len(c.MaxDuplicateNgramCharFraction) > maxDupNgram-minDupNgram+1 {
		return invalid("max_duplicate_ngram_char_fraction", "has %d values, want at most %d (n = 5 to 10)", len(c.MaxDuplicateNgramCharFraction), maxDupNgram-minDupNgram+1)
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
		{"max_hash_ellipsis_ratio", c.MaxHashEllipsisRatio},
	} {
		if f.value < 0 || math.IsNaN(f.value) || math.IsInf(f.value, 0) {
			return invalid(f.name, "%g is negative or not finite; use 0 to turn the rule off", f.value)
		}
	}
	fractions := []struct {
		name  string
		value float64
	}{
		{"max_bullet_line_fraction", c.MaxBulletLineFraction},
		{"max_ellipsis_line_fraction", c.MaxEllipsisLineFraction},
		{"min_alpha_word_fraction", c.MinAlphaWordFraction},
		{"max_duplicate_line_fraction", c.MaxDuplicateLineFraction},
		{"max_duplicate_line_char_fraction", c.MaxDuplicateLineCharFraction},
		{"max_duplicate_paragraph_fraction", c.MaxDuplicateParagraphFraction},
		{"max_duplicate_paragraph_char_fraction", c.MaxDuplicateParagraphCharFraction},
		{"boilerplate_min_fraction", c.BoilerplateMinFraction},
	}
	for i, v := range c.MaxTopNgramCharFraction {
		fractions = append(fractions, struct {
			name  string
			value float64
		}{fmt.Sprintf("max_top_ngram_char_fraction[%d]", i), v})
	}
	for i, v := range c.MaxDuplicateNgramCharFraction {
		fractions = append(fractions, struct {
			name  string
			value float64
		}{fmt.Sprintf("max_duplicate_ngram_char_fraction[%d]", i), v})
	}
	for _, f := range fractions {
		if !(f.value >= 0 && f.value <= 1) {
			return invalid(f.name, "%g is outside [0, 1]; use 0 to turn the rule off", f.value)
		}
	}
	if c.MaxMeanWordLength > 0 && c.MinMeanWordLength > c.MaxMeanWordLength {
		return invalid("min_mean_word_length", "%g is above max_mean_word_length %g", c.MinMeanWordLength, c.MaxMeanWordLength)
	}
	if err := c.NearDedup.Validate(); err != nil {
		// The neardup message starts with its own sentinel's text; keep
		// only the field and value after it.
		detail := strings.TrimPrefix(err.Error(), neardup.ErrInvalidConfig.Error()+": ")
		return fmt.Errorf("%w: clean.%s", ErrInvalidConfig, detail)
	}
	return nil
}

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: clean.%s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}
