package clean

import (
	"fmt"
	"hash/maphash"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The quality rules follow the Gopher filters (Rae et al., "Scaling Language
// Models: Methods, Analysis & Insights from Training Gopher", 2021,
// appendix A.1.1 "quality filters" and Table A1 "repetition removal"), with
// their published thresholds as defaults. The repetition measures follow
// the way the datatrove library's GopherRepetitionFilter computes Table A1.
//
// Words are whitespace-separated tokens, except that each Han, Hiragana or
// Katakana character counts as one word, because Chinese and Japanese have
// no spaces. With that, the word count, symbol and alphabetic-word rules
// work for Chinese as for English. The mean word length rule is skipped
// for text whose words are at least half CJK characters (each is one
// character long), and the stop-word rule runs for English only.

// Keys of Document.Quality.
const (
	QualityWordCount             = "word_count"
	QualitySymbolRatio           = "symbol_ratio"
	QualityMeanWordLength        = "mean_word_length"
	QualityHashEllipsisRatio     = "hash_ellipsis_ratio"
	QualityBulletLines           = "bullet_line_fraction"
	QualityEllipsisLines         = "ellipsis_line_fraction"
	QualityAlphaWords            = "alpha_word_fraction"
	QualityStopWords             = "stop_words"
	QualityCJKWords              = "cjk_word_fraction"
	QualityDuplicateLines        = "duplicate_line_fraction"
	QualityDuplicateLineChars    = "duplicate_line_char_fraction"
	QualityDuplicateParagraphs   = "duplicate_paragraph_fraction"
	QualityDuplicateParagraphChr = "duplicate_paragraph_char_fraction"
)

// QualityTopNgram returns the Document.Quality key of the top n-gram
// character fraction, for example "top_2gram_char_fraction".
func QualityTopNgram(n int) string { return fmt.Sprintf("top_%dgram_char_fraction", n) }

// QualityDuplicateNgram returns the Document.Quality key of the duplicate
// n-gram character fraction, for example "duplicate_5gram_char_fraction".
func QualityDuplicateNgram(n int) string {
	return fmt.Sprintf("duplicate_%dgram_char_fraction", n)
}

// N-gram ranges of the repetition rules (Gopher Table A1).
const (
	minTopNgram = 2
	maxTopNgram = 4
	minDupNgram = 5
	maxDupNgram = 10
)

// gopherStopWords are the eight English words of which Gopher requires at
// least two in a document.
var gopherStopWords = map[string]bool{
	"the": true, "be": true, "to": true, "of": true, "and": true, "that": true, "have": true, "with": true,
}

// qualitySignals are the measurements the quality rules compare with their
// thresholds.
type qualitySignals struct {
	// words is the number of words (see the file comment).
	words int
	// symbolRatio is the number of symbol characters per word (see
	// isSymbolChar), or 0 for a text without words.
	symbolRatio float64
	// meanWordLength is the mean number of letters and digits in the words
	// that contain at least one, or 0 when none does.
	meanWordLength float64
	// hashEllipsisRatio is the number of "#" characters and ellipses
	// ("..." or "…") per word.
	hashEllipsisRatio float64
	// bulletLines and ellipsisLines are the fractions of non-blank lines
	// that start with a bullet or end in an ellipsis.
	bulletLines, ellipsisLines float64
	// alphaWords is the fraction of words with at least one letter.
	alphaWords float64
	// stopWords is the number of Gopher stop words among the words.
	stopWords int
	// cjkWords is the fraction of words that are one CJK character.
	cjkWords float64

	// Repetition: fractions of non-blank lines and paragraphs that repeat an
	// earlier one, and of their characters.
	dupLines, dupLineChars, dupParagraphs, dupParagraphChars float64
	// topNgram[n] is the top n-gram character fraction for n in 2..4, and
	// dupNgram[n] the duplicate n-gram character fraction for n in 5..10.
	topNgram [maxTopNgram + 1]float64
	dupNgram [maxDupNgram + 1]float64
}

// qualityMeter computes qualitySignals and keeps its scratch maps between
// documents, so a long run does not allocate them per document. It is not
// safe for concurrent use.
type qualityMeter struct {
	seed    maphash.Seed
	hashes  []uint64 // per word
	lengths []int32  // per word, in characters
	// prefixHash[i] is the polynomial hash of words 0..i-1 and
	// prefixChars[i] their characters, so any n-gram's hash and length
	// take O(1).
	prefixHash  []uint64
	prefixChars []int
	counts      hashCounter
}

// ngramBase is the multiplier of the polynomial n-gram hash (the 64-bit
// FNV prime; any odd constant with well-mixed bits works).
const ngramBase = 0x100000001b3

// ngramPow[n] is ngramBase to the power n, modulo 2^64.
var ngramPow = func() [maxDupNgram + 1]uint64 {
	var p [maxDupNgram + 1]uint64
	p[0] = 1
	for n := 1; n <= maxDupNgram; n++ {
		p[n] = p[n-1] * ngramBase
	}
	return p
}()

func newQualityMeter() *qualityMeter {
	return &qualityMeter{seed: maphash.MakeSeed()}
}

// measureQuality computes the quality signals of text with a fresh meter.
func measureQuality(text string) qualitySignals {
	return newQualityMeter().measure(text, "")
}

// measure computes the signals of text, whose language code is lang ("" or
// Undetermined when unknown).
func (m *qualityMeter) measure(text, lang string) qualitySignals {
	var q qualitySignals
	m.hashes = m.hashes[:0]
	m.lengths = m.lengths[:0]

	// Word signals.
	var symbols, hashEllipsis, alnumWords, alnumRunes, alphaWords, cjk int
	forEachWord(text, func(word string, isCJK bool) {
		q.words++
		if isCJK {
			cjk++
		}
		n, letters, runes := 0, 0, 0
		for _, r := range word {
			runes++
			switch {
			case unicode.IsLetter(r):
				letters++
				n++
			case unicode.IsDigit(r):
				n++
			case isSymbolChar(r):
				symbols++
				if r == '#' || r == '…' {
					hashEllipsis++
				}
			}
		}
		hashEllipsis += strings.Count(word, "...")
		if n > 0 {
			alnumWords++
			alnumRunes += n
		}
		if letters > 0 {
			alphaWords++
		}
		if lang == "en" && gopherStopWords[strings.ToLower(strings.Trim(word, ".,;:!?\"'()"))] {
			q.stopWords++
		}
		m.hashes = append(m.hashes, maphash.String(m.seed, word))
		m.lengths = append(m.lengths, int32(runes))
	})
	if q.words > 0 {
		q.symbolRatio = float64(symbols) / float64(q.words)
		q.hashEllipsisRatio = float64(hashEllipsis) / float64(q.words)
		q.alphaWords = float64(alphaWords) / float64(q.words)
		q.cjkWords = float64(cjk) / float64(q.words)
	}
	if alnumWords > 0 {
		q.meanWordLength = float64(alnumRunes) / float64(alnumWords)
	}

	m.prefixHash = append(m.prefixHash[:0], 0)
	m.prefixChars = append(m.prefixChars[:0], 0)
	for i, h := range m.hashes {
		m.prefixHash = append(m.prefixHash, m.prefixHash[i]*ngramBase+h)
		m.prefixChars = append(m.prefixChars, m.prefixChars[i]+int(m.lengths[i]))
	}

	// Line and paragraph signals.
	m.measureLines(text, &q)
	q.dupParagraphs, q.dupParagraphChars = m.duplicateParts(text, "\n\n")

	// N-gram signals.
	total := 0
	for _, n := range m.lengths {
		total += int(n)
	}
	if total > 0 {
		for n := minTopNgram; n <= maxTopNgram; n++ {
			q.topNgram[n] = float64(m.topNgramChars(n)) / float64(total)
		}
		// A repeated n-gram for n > 5 starts with a repeated 5-gram, so when
		// no 5-gram repeats, the longer ones are all 0.
		q.dupNgram[minDupNgram] = float64(m.duplicateNgramChars(minDupNgram)) / float64(total)
		for n := minDupNgram + 1; n <= maxDupNgram && q.dupNgram[minDupNgram] > 0; n++ {
			q.dupNgram[n] = float64(m.duplicateNgramChars(n)) / float64(total)
		}
	}
	return q
}

// forEachWord calls fn for each word of text: each whitespace-separated
// token, split further so that each CJK character is a word of its own.
func forEachWord(text string, fn func(word string, isCJK bool)) {
	start := -1 // start of the current non-CJK word, or -1
	for i, r := range text {
		switch {
		case isSpace(r):
			if start >= 0 {
				fn(text[start:i], false)
				start = -1
			}
		case r >= 0x2E80 && isCJKChar(r):
			if start >= 0 {
				fn(text[start:i], false)
				start = -1
			}
			fn(text[i:i+utf8.RuneLen(r)], true)
		case start < 0:
			start = i
		}
	}
	if start >= 0 {
		fn(text[start:], false)
	}
}

// isCJKChar reports whether r is a Han, Hiragana or Katakana character.
func isCJKChar(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)
}

// bulletPrefixes start lines that Gopher counts as bullet points.
var bulletPrefixes = []string{"•", "‣", "●", "▪", "◦", "○", "■", "□", "–", "- ", "* ", "· "}

// measureLines sets the bullet, ellipsis and duplicate-line signals.
// Blank lines separate paragraphs and count as neither lines nor
// duplicates.
func (m *qualityMeter) measureLines(text string, q *qualitySignals) {
	m.counts.reset(strings.Count(text, "\n") + 1)
	var lines, bullets, ellipses, dups, chars, dupChars int
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		lines++
		n := utf8.RuneCountInString(line)
		chars += n
		for _, p := range bulletPrefixes {
			if strings.HasPrefix(line, p) {
				bullets++
				break
			}
		}
		if strings.HasSuffix(line, "...") || strings.HasSuffix(line, "…") {
			ellipses++
		}
		if m.counts.add(maphash.String(m.seed, line)) > 1 {
			dups++
			dupChars += n
		}
	}
	if lines > 0 {
		q.bulletLines = float64(bullets) / float64(lines)
		q.ellipsisLines = float64(ellipses) / float64(lines)
		q.dupLines = float64(dups) / float64(lines)
	}
	if chars > 0 {
		q.dupLineChars = float64(dupChars) / float64(chars)
	}
}

// duplicateParts returns the fraction of the non-blank parts of text
// (split at sep) that repeat an earlier part, and the fraction of
// characters in them.
func (m *qualityMeter) duplicateParts(text, sep string) (float64, float64) {
	m.counts.reset(strings.Count(text, sep) + 1)
	var parts, dups, chars, dupChars int
	for part := range strings.SplitSeq(text, sep) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		parts++
		n := utf8.RuneCountInString(part)
		chars += n
		if m.counts.add(maphash.String(m.seed, part)) > 1 {
			dups++
			dupChars += n
		}
	}
	if parts == 0 || chars == 0 {
		return 0, 0
	}
	return float64(dups) / float64(parts), float64(dupChars) / float64(chars)
}

// ngramHash returns the hash of the n words starting at i.
func (m *qualityMeter) ngramHash(i, n int) uint64 {
	return m.prefixHash[i+n] - m.prefixHash[i]*ngramPow[n]
}

// ngramChars returns the number of characters in the n words starting at i.
func (m *qualityMeter) ngramChars(i, n int) int {
	return m.prefixChars[i+n] - m.prefixChars[i]
}

// topNgramChars returns the characters covered by the most frequent n-gram:
// its count times its length, or 0 when no n-gram occurs twice. Ties go to
// the first n-gram in the text.
func (m *qualityMeter) topNgramChars(n int) int {
	if len(m.hashes) < n {
		return 0
	}
	m.counts.reset(len(m.hashes))
	bestCount, bestAt := int32(0), -1
	for i := 0; i+n <= len(m.hashes); i++ {
		c := m.counts.add(m.ngramHash(i, n))
		if c > bestCount {
			bestCount, bestAt = c, i
		}
	}
	if bestCount < 2 {
		return 0
	}
	return int(bestCount) * m.ngramChars(bestAt, n)
}

// duplicateNgramChars returns the characters in n-grams that repeat an
// earlier n-gram. It scans left to right and skips past each repeat, so no
// character is counted twice.
func (m *qualityMeter) duplicateNgramChars(n int) int {
	m.counts.reset(len(m.hashes))
	chars := 0
	for i := 0; i+n <= len(m.hashes); {
		if m.counts.add(m.ngramHash(i, n)) > 1 {
			chars += m.ngramChars(i, n)
			i += n
			continue
		}
		i++
	}
	return chars
}

// isSymbolChar reports whether r counts toward the symbol ratio: any
// character that is not a letter, digit, mark or space, and not the
// punctuation of ordinary prose (. , ; : ! ? ' " ( ) -). Markup, code, tables
// and line art are dense in such characters.
func isSymbolChar(r rune) bool {
	if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || unicode.IsSpace(r) {
		return false
	}
	return !strings.ContainsRune(".,;:!?'\"()-\u2018\u2019\u201C\u201D\u2013\u2014\u3001\u3002\uff0c\uff1a\uff1b\uff01\uff1f\uff08\uff09\u300c\u300d", r)
}

// qualityMap returns the signals as stored in Document.Quality.
func (q qualitySignals) qualityMap() map[string]float64 {
	m := map[string]float64{
		QualityWordCount:             float64(q.words),
		QualitySymbolRatio:           q.symbolRatio,
		QualityMeanWordLength:        q.meanWordLength,
		QualityHashEllipsisRatio:     q.hashEllipsisRatio,
		QualityBulletLines:           q.bulletLines,
		QualityEllipsisLines:         q.ellipsisLines,
		QualityAlphaWords:            q.alphaWords,
		QualityStopWords:             float64(q.stopWords),
		QualityCJKWords:              q.cjkWords,
		QualityDuplicateLines:        q.dupLines,
		QualityDuplicateLineChars:    q.dupLineChars,
		QualityDuplicateParagraphs:   q.dupParagraphs,
		QualityDuplicateParagraphChr: q.dupParagraphChars,
	}
	for n := minTopNgram; n <= maxTopNgram; n++ {
		m[QualityTopNgram(n)] = q.topNgram[n]
	}
	for n := minDupNgram; n <= maxDupNgram; n++ {
		m[QualityDuplicateNgram(n)] = q.dupNgram[n]
	}
	return m
}

// checkQuality returns the reason code and detail of the first quality rule
// that q fails under cfg, or "" when q passes them all. lang is the
// document's language code. The rules run in the order of the reason
// constants.
func checkQuality(q qualitySignals, cfg Config, lang string) (reason, detail string) {
	mostlyCJK := q.cjkWords >= 0.5
	switch {
	case cfg.MinWords > 0 && q.words < cfg.MinWords:
		return ReasonTooShort, fmt.Sprintf("word_count %d < min_words %d", q.words, cfg.MinWords)
	case cfg.MaxWords > 0 && q.words > cfg.MaxWords:
		return ReasonTooLong, fmt.Sprintf("word_count %d > max_words %d", q.words, cfg.MaxWords)
	case cfg.MaxSymbolRatio > 0 && q.symbolRatio > cfg.MaxSymbolRatio:
		return ReasonSymbolRatio, fmt.Sprintf("symbol_ratio %.3f > max_symbol_ratio %g", q.symbolRatio, cfg.MaxSymbolRatio)
	case cfg.MaxHashEllipsisRatio > 0 && q.hashEllipsisRatio > cfg.MaxHashEllipsisRatio:
		return ReasonHashEllipsis, fmt.Sprintf("hash_ellipsis_ratio %.3f > max_hash_ellipsis_ratio %g", q.hashEllipsisRatio, cfg.MaxHashEllipsisRatio)
	case !mostlyCJK && cfg.MinMeanWordLength > 0 && q.meanWordLength < cfg.MinMeanWordLength:
		return ReasonMeanWordLength, fmt.Sprintf("mean_word_length %.2f < min_mean_word_length %g", q.meanWordLength, cfg.MinMeanWordLength)
	case !mostlyCJK && cfg.MaxMeanWordLength > 0 && q.meanWordLength > cfg.MaxMeanWordLength:
		return ReasonMeanWordLength, fmt.Sprintf("mean_word_length %.2f > max_mean_word_length %g", q.meanWordLength, cfg.MaxMeanWordLength)
	case cfg.MaxBulletLineFraction > 0 && q.bulletLines > cfg.MaxBulletLineFraction:
		return ReasonBulletLines, fmt.Sprintf("bullet_line_fraction %.3f > max_bullet_line_fraction %g", q.bulletLines, cfg.MaxBulletLineFraction)
	case cfg.MaxEllipsisLineFraction > 0 && q.ellipsisLines > cfg.MaxEllipsisLineFraction:
		return ReasonEllipsisLines, fmt.Sprintf("ellipsis_line_fraction %.3f > max_ellipsis_line_fraction %g", q.ellipsisLines, cfg.MaxEllipsisLineFraction)
	case cfg.MinAlphaWordFraction > 0 && q.alphaWords < cfg.MinAlphaWordFraction:
		return ReasonAlphaWords, fmt.Sprintf("alpha_word_fraction %.3f < min_alpha_word_fraction %g", q.alphaWords, cfg.MinAlphaWordFraction)
	case lang == "en" && cfg.MinStopWords > 0 && q.stopWords < cfg.MinStopWords:
		return ReasonStopWords, fmt.Sprintf("stop_words %d < min_stop_words %d", q.stopWords, cfg.MinStopWords)
	}
	return checkRepetition(q, cfg)
}

// checkRepetition applies the Gopher repetition rules.
func checkRepetition(q qualitySignals, cfg Config) (reason, detail string) {
	switch {
	case cfg.MaxDuplicateLineFraction > 0 && q.dupLines > cfg.MaxDuplicateLineFraction:
		return ReasonDuplicateLines, fmt.Sprintf("duplicate_line_fraction %.3f > max_duplicate_line_fraction %g", q.dupLines, cfg.MaxDuplicateLineFraction)
	case cfg.MaxDuplicateLineCharFraction > 0 && q.dupLineChars > cfg.MaxDuplicateLineCharFraction:
		return ReasonDuplicateLines, fmt.Sprintf("duplicate_line_char_fraction %.3f > max_duplicate_line_char_fraction %g", q.dupLineChars, cfg.MaxDuplicateLineCharFraction)
	case cfg.MaxDuplicateParagraphFraction > 0 && q.dupParagraphs > cfg.MaxDuplicateParagraphFraction:
		return ReasonDuplicateParagraphs, fmt.Sprintf("duplicate_paragraph_fraction %.3f > max_duplicate_paragraph_fraction %g", q.dupParagraphs, cfg.MaxDuplicateParagraphFraction)
	case cfg.MaxDuplicateParagraphCharFraction > 0 && q.dupParagraphChars > cfg.MaxDuplicateParagraphCharFraction:
		return ReasonDuplicateParagraphs, fmt.Sprintf("duplicate_paragraph_char_fraction %.3f > max_duplicate_paragraph_char_fraction %g", q.dupParagraphChars, cfg.MaxDuplicateParagraphCharFraction)
	}
	for i, limit := range cfg.MaxTopNgramCharFraction {
		n := minTopNgram + i
		if limit > 0 && q.topNgram[n] > limit {
			return ReasonTopNgram, fmt.Sprintf("%s %.3f > max_top_ngram_char_fraction[%d] %g", QualityTopNgram(n), q.topNgram[n], i, limit)
		}
	}
	for i, limit := range cfg.MaxDuplicateNgramCharFraction {
		n := minDupNgram + i
		if limit > 0 && q.dupNgram[n] > limit {
			return ReasonDuplicateNgram, fmt.Sprintf("%s %.3f > max_duplicate_ngram_char_fraction[%d] %g", QualityDuplicateNgram(n), q.dupNgram[n], i, limit)
		}
	}
	return "", ""
}
