package clean

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/adapt-llm/adapt/clean/pii"
	"github.com/adapt-llm/adapt/corpus"
)

// Reason codes of rejected documents (corpus.Rejected.Reason). Each is also
// a key of Manifest.RuleCounts with the number of documents it rejected.
const (
	ReasonEmpty          = "empty"
	ReasonLang           = "lang"
	ReasonTooShort       = "too_short"
	ReasonTooLong        = "too_long"
	ReasonSymbolRatio    = "symbol_ratio"
	ReasonMeanWordLength = "mean_word_length"
	ReasonDuplicateExact = "duplicate_exact"
)

// Keys of Manifest.RuleCounts for rules that change documents instead of
// rejecting them. Each counts the documents the rule changed.
const (
	RuleInvalidUTF8 = "invalid_utf8"
	RuleControls    = "control_chars"
	RuleUnicodeNorm = "unicode_normalization"
	RuleWhitespace  = "whitespace"
	RulePIIRedacted = "pii_redacted"
)

// ruleStep indexes the steps of the chain for timing.
type ruleStep int

const (
	stepRepair ruleStep = iota
	stepUnicodeNorm
	stepWhitespace
	stepLang
	stepQuality
	stepDedup
	stepPII
	numSteps
)

// stepNames name the steps in Manifest.Stats ("seconds_<name>").
var stepNames = [numSteps]string{"repair", "unicode_normalization", "whitespace", "lang", "quality", "dedup_exact", "pii"}

// chain runs the rules over one document at a time and keeps the counters
// and the deduplication state. It is not safe for concurrent use.
type chain struct {
	cfg      Config
	detector *languageDetector // nil when cfg.Languages is empty
	keep     map[string]bool   // language codes to keep

	// firstCopy maps the SHA-256 of a kept document's normalized text, taken
	// before redaction, to the document's output ID in binary form. Both are
	// fixed-size, so memory grows with the number of documents only.
	firstCopy map[[sha256.Size]byte][sha256.Size]byte
	// keptIDs holds the output IDs of kept documents, so two texts that
	// become identical after redaction do not share an ID.
	keptIDs map[[sha256.Size]byte]bool

	ruleCounts map[string]int64
	redactions map[string]int64
	elapsed    [numSteps]time.Duration
	invalidSeq int64 // invalid UTF-8 sequences replaced, over all documents
	controls   int64 // control characters removed, over all documents
	bytesIn    int64
	bytesOut   int64
}

// newChain returns a chain for cfg, which must be valid. Building the
// language detector takes most of the time.
func newChain(cfg Config) *chain {
	c := &chain{
		cfg:        cfg,
		keep:       map[string]bool{},
		firstCopy:  map[[sha256.Size]byte][sha256.Size]byte{},
		keptIDs:    map[[sha256.Size]byte]bool{},
		ruleCounts: map[string]int64{},
		redactions: map[string]int64{},
	}
	if len(cfg.Languages) > 0 {
		c.detector = newLanguageDetector(cfg.Languages)
		for _, code := range cfg.Languages {
			c.keep[code] = true
		}
	}
	return c
}

// result is the outcome of the chain for one document.
type result struct {
	// Doc is the cleaned document. For a rejected document it carries the
	// text as far as the chain got, redacted when redaction is on, and the
	// input ID.
	Doc corpus.Document
	// Reason is empty for a kept document.
	Reason string
	// Detail states the measured value and the threshold; it never contains
	// document text.
	Detail string
}

// process runs the chain on doc.
func (c *chain) process(doc corpus.Document) result {
	c.bytesIn += int64(len(doc.Text))
	text := doc.Text

	// 1. Encoding repair and Unicode normalization.
	start := time.Now()
	text, repair := repairText(text)
	if repair.invalidUTF8 > 0 {
		c.ruleCounts[RuleInvalidUTF8]++
		c.invalidSeq += int64(repair.invalidUTF8)
	}
	if repair.controls > 0 {
		c.ruleCounts[RuleControls]++
		c.controls += int64(repair.controls)
	}
	start = c.lap(stepRepair, start)

	normalized := normalizeUnicode(text, c.cfg.Normalization)
	if normalized != text {
		c.ruleCounts[RuleUnicodeNorm]++
	}
	text = normalized
	start = c.lap(stepUnicodeNorm, start)

	// 2. Whitespace.
	spaced := normalizeWhitespace(text)
	if spaced != text {
		c.ruleCounts[RuleWhitespace]++
	}
	doc.Text = spaced
	start = c.lap(stepWhitespace, start)
	if doc.Text == "" {
		return c.reject(doc, ReasonEmpty, "no text left after normalization")
	}

	// 3. Language ID.
	if c.detector != nil {
		doc.Lang, doc.LangConfidence = c.detector.detect(doc.Text)
		start = c.lap(stepLang, start)
		if !c.keep[doc.Lang] {
			return c.reject(doc, ReasonLang, fmt.Sprintf("language %s (confidence %.2f) not in kept languages %v", doc.Lang, doc.LangConfidence, c.cfg.Languages))
		}
	}

	// 4. Quality rules.
	signals := measureQuality(doc.Text)
	doc.Quality = signals.qualityMap()
	reason, detail := checkQuality(signals, c.cfg)
	start = c.lap(stepQuality, start)
	if reason != "" {
		return c.reject(doc, reason, detail)
	}

	// 5. Exact deduplication on the normalized text.
	textHash := sha256.Sum256([]byte(doc.Text))
	if c.cfg.DedupExact {
		if keptKey, ok := c.firstCopy[textHash]; ok {
			keptID := hex.EncodeToString(keptKey[:])
			doc.DedupCluster = keptID
			c.lap(stepDedup, start)
			return c.reject(doc, ReasonDuplicateExact, "normalized text identical to kept document "+keptID)
		}
	}
	start = c.lap(stepDedup, start)

	// 6. PII redaction, then the ID of the final text.
	if c.cfg.RedactPII {
		c.redact(&doc)
	}
	doc.ID = corpus.HashText(doc.Text)
	start = c.lap(stepPII, start)

	if c.cfg.DedupExact {
		idKey := idKey(doc.ID)
		if c.keptIDs[idKey] {
			doc.DedupCluster = doc.ID
			c.lap(stepDedup, start)
			return c.reject(doc, ReasonDuplicateExact, "text identical after PII redaction to kept document "+doc.ID)
		}
		c.keptIDs[idKey] = true
		c.firstCopy[textHash] = idKey
		c.lap(stepDedup, start)
	}
	doc.DedupCluster = doc.ID
	c.bytesOut += int64(len(doc.Text))
	return result{Doc: doc}
}

// reject counts the reason and returns a rejected result. The text is
// redacted first when redaction is on, so the rejected file holds no more
// personal data than the shards.
func (c *chain) reject(doc corpus.Document, reason, detail string) result {
	c.ruleCounts[reason]++
	if c.cfg.RedactPII {
		start := time.Now()
		c.redact(&doc)
		c.lap(stepPII, start)
	}
	return result{Doc: doc, Reason: reason, Detail: detail}
}

// redact replaces personal data in doc.Text and records the counts.
func (c *chain) redact(doc *corpus.Document) {
	text, counts := pii.Redact(doc.Text)
	doc.Text = text
	doc.Redactions = counts
	if len(counts) > 0 {
		c.ruleCounts[RulePIIRedacted]++
	}
	for typ, n := range counts {
		c.redactions[typ] += n
	}
}

// lap adds the time since start to step and returns the current time.
func (c *chain) lap(step ruleStep, start time.Time) time.Time {
	now := time.Now()
	c.elapsed[step] += now.Sub(start)
	return now
}

// stats returns the chain's numbers for Manifest.Stats: bytes in and out
// (UTF-8 text bytes), seconds per step, repaired sequences and characters,
// and redactions per type.
func (c *chain) stats() map[string]float64 {
	s := map[string]float64{
		"bytes_in":                   float64(c.bytesIn),
		"bytes_out":                  float64(c.bytesOut),
		"invalid_utf8_sequences":     float64(c.invalidSeq),
		"control_characters_removed": float64(c.controls),
	}
	for step, d := range c.elapsed {
		s["seconds_"+stepNames[step]] = d.Seconds()
	}
	for typ, n := range c.redactions {
		s["redactions_"+typ] = float64(n)
	}
	return s
}

// idKey decodes a lower-case hex SHA-256 into a map key half the size of
// the string.
func idKey(id string) [sha256.Size]byte {
	var key [sha256.Size]byte
	if _, err := hex.Decode(key[:], []byte(id)); err != nil {
		panic("clean: document ID is not hex SHA-256: " + err.Error())
	}
	return key
}
