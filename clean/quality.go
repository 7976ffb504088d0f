package clean

import (
	"fmt"
	"strings"
	"unicode"
)

// Keys of Document.Quality.
const (
	QualityWordCount      = "word_count"
	QualitySymbolRatio    = "symbol_ratio"
	QualityMeanWordLength = "mean_word_length"
)

// qualitySignals are the measurements the quality rules compare with their
// thresholds.
type qualitySignals struct {
	// words is the number of whitespace-separated tokens.
	words int
	// symbolRatio is the number of symbol characters per word (see
	// isSymbolChar), or 0 for a text without words.
	symbolRatio float64
	// meanWordLength is the mean number of letters and digits in the words
	// that contain at least one, or 0 when none does.
	meanWordLength float64
}

// measureQuality computes the quality signals of text in one pass.
func measureQuality(text string) qualitySignals {
	var words, symbols, alnumWords, alnumRunes int
	for _, word := range strings.Fields(text) {
		words++
		n := 0
		for _, r := range word {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r):
				n++
			case isSymbolChar(r):
				symbols++
			}
		}
		if n > 0 {
			alnumWords++
			alnumRunes += n
		}
	}

	var q qualitySignals
	q.words = words
	if words > 0 {
		q.symbolRatio = float64(symbols) / float64(words)
	}
	if alnumWords > 0 {
		q.meanWordLength = float64(alnumRunes) / float64(alnumWords)
	}
	return q
}

// isSymbolChar reports whether r counts toward the symbol ratio: any
// character that is not a letter, digit, mark or space, and not the
// punctuation of ordinary prose (. , ; : ! ? ' " ( ) -). Markup, code, tables
// and line art are dense in such characters.
func isSymbolChar(r rune) bool {
	if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || unicode.IsSpace(r) {
		return false
	}
	return !strings.ContainsRune(".,;:!?'\"()-\u2018\u2019\u201C\u201D\u2013\u2014", r)
}

// qualityMap returns the signals as stored in Document.Quality.
func (q qualitySignals) qualityMap() map[string]float64 {
	return map[string]float64{
		QualityWordCount:      float64(q.words),
		QualitySymbolRatio:    q.symbolRatio,
		QualityMeanWordLength: q.meanWordLength,
	}
}

// checkQuality returns the reason code and detail of the first quality rule
// that q fails under cfg, or "" when q passes them all. The rules run in
// the order too_short, too_long, symbol_ratio, mean_word_length.
func checkQuality(q qualitySignals, cfg Config) (reason, detail string) {
	switch {
	case cfg.MinWords > 0 && q.words < cfg.MinWords:
		return ReasonTooShort, fmt.Sprintf("word_count %d < min_words %d", q.words, cfg.MinWords)
	case cfg.MaxWords > 0 && q.words > cfg.MaxWords:
		return ReasonTooLong, fmt.Sprintf("word_count %d > max_words %d", q.words, cfg.MaxWords)
	case cfg.MaxSymbolRatio > 0 && q.symbolRatio > cfg.MaxSymbolRatio:
		return ReasonSymbolRatio, fmt.Sprintf("symbol_ratio %.3f > max_symbol_ratio %g", q.symbolRatio, cfg.MaxSymbolRatio)
	case cfg.MinMeanWordLength > 0 && q.meanWordLength < cfg.MinMeanWordLength:
		return ReasonMeanWordLength, fmt.Sprintf("mean_word_length %.2f < min_mean_word_length %g", q.meanWordLength, cfg.MinMeanWordLength)
	case cfg.MaxMeanWordLength > 0 && q.meanWordLength > cfg.MaxMeanWordLength:
		return ReasonMeanWordLength, fmt.Sprintf("mean_word_length %.2f > max_mean_word_length %g", q.meanWordLength, cfg.MaxMeanWordLength)
	}
	return "", ""
}
