package clean

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/adapt-llm/adapt/clean/neardup"
	"github.com/adapt-llm/adapt/clean/pii"
	"github.com/adapt-llm/adapt/corpus"
)

// Reason codes of rejected documents (corpus.Rejected.Reason). Each is also
// a key of Manifest.RuleCounts with the number of documents it rejected.
const (
	ReasonEmpty               = "empty"
	ReasonLang                = "lang"
	ReasonTooShort            = "too_short"
	ReasonTooLong             = "too_long"
	ReasonSymbolRatio         = "symbol_ratio"
	ReasonHashEllipsis        = "hash_ellipsis_ratio"
	ReasonMeanWordLength      = "mean_word_length"
	ReasonBulletLines         = "bullet_lines"
	ReasonEllipsisLines       = "ellipsis_lines"
	ReasonAlphaWords          = "alpha_words"
	ReasonStopWords           = "stop_words"
	ReasonDuplicateLines      = "duplicate_lines"
	ReasonDuplicateParagraphs = "duplicate_paragraphs"
	ReasonTopNgram            = "top_ngram"
	ReasonDuplicateNgram      = "duplicate_ngram"
	ReasonDuplicateExact      = "duplicate_exact"
	ReasonDuplicateNear       = "duplicate_near"
)

// Keys of Manifest.RuleCounts for rules that change documents instead of
// rejecting them. Each counts the documents the rule changed.
const (
	RuleInvalidUTF8 = "invalid_utf8"
	RuleMojibake    = "mojibake"
	RuleControls    = "control_chars"
	RuleUnicodeNorm = "unicode_normalization"
	RuleWhitespace  = "whitespace"
	RuleBoilerplate = "boilerplate"
	RuleDehyphenate = "dehyphenation"
	RuleTerminology = "terminology"
	RulePIIRedacted = "pii_redacted"
)

// ruleStep indexes the steps of the chain for timing.
type ruleStep int

const (
	stepRepair ruleStep = iota
	stepUnicodeNorm
	stepWhitespace
	stepBoilerplate
	stepDehyphenate
	stepLang
	stepQuality
	stepTerminology
	stepDedup
	stepPII
	stepNearDedup
	numSteps
)

// stepNames name the steps in Manifest.Stats ("seconds_<name>").
var stepNames = [numSteps]string{"repair", "unicode_normalization", "whitespace", "boilerplate", "dehyphenation", "lang", "quality", "terminology", "dedup_exact", "pii", "dedup_near"}

// chainCounters are the numbers a chain accumulates over a run. They are
// saved with each finished part of a run, so a resumed run continues them.
type chainCounters struct {
	RuleCounts map[string]int64 `json:"rule_counts"`
	// RuleBytes holds, per rule or reason code, the text bytes the rule
	// removed: for a rejection the whole text at that point, for a change
	// the bytes before minus after (negative when it grew).
	RuleBytes  map[string]int64  `json:"rule_bytes"`
	Redactions map[string]int64  `json:"redactions"`
	Seconds    [numSteps]float64 `json:"seconds"`
	Count      map[string]int64  `json:"count"`
	Counts     corpus.Counts     `json:"counts"`
}

// Keys of chainCounters.Count.
const (
	countInvalidSeq       = "invalid_utf8_sequences"
	countControls         = "control_characters_removed"
	countMojibake         = "mojibake_characters_repaired"
	countBoilerplateLines = "boilerplate_lines_removed"
	countDehyphen         = "dehyphenated_words"
	countAbbreviation     = "terminology_abbreviations"
	countSynonym          = "terminology_synonyms"
	countBytesIn          = "bytes_in"
	countBytesOut         = "bytes_out"
	countTokensIn         = "tokens_in"
	countTokensOut        = "tokens_out"
	countLangFast         = "lang_fast_path"
)

func newChainCounters() chainCounters {
	return chainCounters{RuleCounts: map[string]int64{}, RuleBytes: map[string]int64{}, Redactions: map[string]int64{}, Count: map[string]int64{}}
}

// chain runs the rules over one document at a time and keeps the counters
// and the deduplication state. It is not safe for concurrent use.
type chain struct {
	cfg      Config
	detector *languageDetector // nil when cfg.Languages is empty
	keep     map[string]bool   // language codes to keep
	quality  *qualityMeter
	// boiler holds the boilerplate lines per source group; nil when
	// boilerplate removal is off.
	boiler *boilerplate
	// terms holds the terminology normalizer per domain; nil when
	// terminology normalization is off.
	terms map[string]*termNormalizer
	// near computes the MinHash signatures of near-dedup; nil when
	// near-dedup is off. It is safe for concurrent use, so workers share it.
	near *neardup.Hasher

	// firstCopy maps the SHA-256 of a kept document's normalized text, taken
	// before redaction, to the document's output ID in binary form. Both are
	// fixed-size, so memory grows with the number of documents only.
	firstCopy map[[sha256.Size]byte][sha256.Size]byte
	// keptIDs holds the output IDs of kept documents, so two texts that
	// become identical after redaction do not share an ID.
	keptIDs map[[sha256.Size]byte]bool
	// newPairs lists the firstCopy entries added since the last
	// takeDedupPairs, for the resume state.
	newPairs [][2][sha256.Size]byte

	// workers prepare documents concurrently (see parallel.go); made on
	// first use.
	workers []*chain

	n chainCounters
}

// newChain returns a chain for cfg, which must be valid. Building the
// language detector takes most of the time. terms holds the terminology
// maps per domain and is ignored when cfg.Terminology is false.
func newChain(cfg Config, terms map[string]TermMap) *chain {
	c := &chain{
		cfg:       cfg,
		keep:      map[string]bool{},
		quality:   newQualityMeter(),
		firstCopy: map[[sha256.Size]byte][sha256.Size]byte{},
		keptIDs:   map[[sha256.Size]byte]bool{},
		n:         newChainCounters(),
	}
	if len(cfg.Languages) > 0 {
		c.detector = newLanguageDetector(cfg.Languages)
		for _, code := range cfg.Languages {
			c.keep[code] = true
		}
	}
	if cfg.Terminology {
		c.terms = map[string]*termNormalizer{}
		for domain, m := range terms {
			c.terms[domain] = newTermNormalizer(m)
		}
	}
	if cfg.NearDedup.Enabled {
		h, err := neardup.NewHasher(cfg.NearDedup)
		if err != nil {
			panic("clean: newChain with an invalid near-dedup config: " + err.Error())
		}
		c.near = h
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
	// Detail states the measured value and the threshold. It never contains
	// document text.
	Detail string
}

// changed records that rule changed a document from before to after.
func (c *chain) changed(rule, before, after string) {
	c.n.RuleCounts[rule]++
	c.n.RuleBytes[rule] += int64(len(before) - len(after))
}

// process runs the chain on doc.
func (c *chain) process(doc corpus.Document) result {
	return c.finish(c.prepare(doc))
}

// prepare runs every rule but exact dedup on doc. It uses only c's own
// counters and read-only shared state, so chains made by newWorker can
// prepare documents concurrently.
func (c *chain) prepare(doc corpus.Document) staged {
	c.n.Count[countBytesIn] += int64(len(doc.Text))
	c.n.Count[countTokensIn] += int64(countTokens(doc.Text))
	text := doc.Text

	// 1. Encoding repair and Unicode normalization.
	start := time.Now()
	repaired, repair := repairText(text)
	if repair.invalidUTF8 > 0 {
		c.n.RuleCounts[RuleInvalidUTF8]++
		c.n.Count[countInvalidSeq] += int64(repair.invalidUTF8)
	}
	if repair.mojibake > 0 {
		c.n.RuleCounts[RuleMojibake]++
		c.n.Count[countMojibake] += int64(repair.mojibake)
	}
	if repair.controls > 0 {
		c.n.RuleCounts[RuleControls]++
		c.n.Count[countControls] += int64(repair.controls)
	}
	if repaired != text {
		c.n.RuleBytes["repair"] += int64(len(text) - len(repaired))
	}
	text = repaired
	start = c.lap(stepRepair, start)

	if normalized := normalizeUnicode(text, c.cfg.Normalization); normalized != text {
		c.changed(RuleUnicodeNorm, text, normalized)
		text = normalized
	}
	start = c.lap(stepUnicodeNorm, start)

	// 2. Whitespace, boilerplate lines and words broken across lines.
	if spaced := normalizeWhitespace(text); spaced != text {
		c.changed(RuleWhitespace, text, spaced)
		text = spaced
	}
	start = c.lap(stepWhitespace, start)
	if c.boiler != nil {
		if stripped, lines := c.boiler.remove(&doc, text); lines > 0 {
			c.changed(RuleBoilerplate, text, stripped)
			c.n.Count[countBoilerplateLines] += int64(lines)
			text = stripped
		}
		start = c.lap(stepBoilerplate, start)
	}
	if c.cfg.Dehyphenate {
		if joined, joins := dehyphenate(text); joins > 0 {
			c.changed(RuleDehyphenate, text, joined)
			c.n.Count[countDehyphen] += int64(joins)
			text = joined
		}
		start = c.lap(stepDehyphenate, start)
	}
	doc.Text = text
	if doc.Text == "" {
		return staged{res: c.reject(doc, ReasonEmpty, "no text left after normalization")}
	}

	// 3. Language ID.
	if c.detector != nil {
		var fast bool
		doc.Lang, doc.LangConfidence, fast = c.detector.detectWithMethod(doc.Text)
		if fast {
			c.n.Count[countLangFast]++
		}
		start = c.lap(stepLang, start)
		if !c.keep[doc.Lang] {
			return staged{res: c.reject(doc, ReasonLang, fmt.Sprintf("language %s (confidence %.2f) not in kept languages %v", doc.Lang, doc.LangConfidence, c.cfg.Languages))}
		}
	}

	// 4. Quality rules.
	signals := c.quality.measure(doc.Text, doc.Lang)
	doc.Quality = signals.qualityMap()
	reason, detail := checkQuality(signals, c.cfg, doc.Lang)
	start = c.lap(stepQuality, start)
	if reason != "" {
		return staged{res: c.reject(doc, reason, detail)}
	}

	// 5. Terminology of the document's domain.
	if t := c.terms[doc.Domain]; t != nil {
		normalized, counts := t.normalize(doc.Text)
		if normalized != doc.Text {
			c.changed(RuleTerminology, doc.Text, normalized)
			doc.Text = normalized
		}
		c.n.Count[countAbbreviation] += int64(counts.abbreviations)
		c.n.Count[countSynonym] += int64(counts.synonyms)
		start = c.lap(stepTerminology, start)
	}

	// 6. PII redaction, and the ID of the final text. Exact dedup compares
	// the text before redaction, so its hash is taken first.
	st := staged{textHash: sha256.Sum256([]byte(doc.Text)), textBytes: len(doc.Text)}
	if c.cfg.RedactPII {
		c.redact(&doc)
	}
	st.newID = corpus.HashText(doc.Text)
	st.tokens = countTokens(doc.Text)
	start = c.lap(stepPII, start)

	// 7. The near-dedup signature of the final text. Run compares the
	// signatures of all kept documents once every input shard is done.
	if c.near != nil {
		st.signature = c.near.Signature(doc.Text)
		c.lap(stepNearDedup, start)
	}
	st.res = result{Doc: doc}
	return st
}

// staged is a document that went through prepare: either rejected, or
// waiting for the exact-dedup decision of finish.
type staged struct {
	res result
	// Set for documents that prepare did not reject.
	textHash  [sha256.Size]byte // of the text before redaction
	textBytes int               // length of the text before redaction
	newID     string            // ID of the final text
	tokens    int               // tokens of the final text
	// signature is the MinHash signature of the final text; nil when
	// near-dedup is off.
	signature neardup.Signature
}

// finish makes the exact-dedup decision for a prepared document and
// returns its result. Documents must be finished in input order, so the
// first copy of a text is the one kept.
func (c *chain) finish(st staged) result {
	if st.res.Reason != "" {
		return st.res
	}
	start := time.Now()
	doc := st.res.Doc
	if c.cfg.DedupExact {
		if keptKey, ok := c.firstCopy[st.textHash]; ok {
			keptID := hex.EncodeToString(keptKey[:])
			doc.DedupCluster = keptID
			c.lap(stepDedup, start)
			return c.rejectDuplicate(doc, st.textBytes, "normalized text identical to kept document "+keptID)
		}
		idKey := idKey(st.newID)
		if c.keptIDs[idKey] {
			doc.ID = st.newID
			doc.DedupCluster = st.newID
			c.lap(stepDedup, start)
			return c.rejectDuplicate(doc, st.textBytes, "text identical after PII redaction to kept document "+st.newID)
		}
		c.keptIDs[idKey] = true
		c.firstCopy[st.textHash] = idKey
		c.newPairs = append(c.newPairs, [2][sha256.Size]byte{st.textHash, idKey})
		c.lap(stepDedup, start)
	}
	doc.ID = st.newID
	doc.DedupCluster = doc.ID
	c.n.Count[countBytesOut] += int64(len(doc.Text))
	c.n.Count[countTokensOut] += int64(st.tokens)
	return result{Doc: doc}
}

// rejectDuplicate counts an exact duplicate, whose text prepare already
// redacted.
func (c *chain) rejectDuplicate(doc corpus.Document, textBytes int, detail string) result {
	c.n.RuleCounts[ReasonDuplicateExact]++
	c.n.RuleBytes[ReasonDuplicateExact] += int64(textBytes)
	return result{Doc: doc, Reason: ReasonDuplicateExact, Detail: detail}
}

// reject counts the reason and returns a rejected result. The text is
// redacted first when redaction is on, so the rejected file holds no more
// personal data than the shards.
func (c *chain) reject(doc corpus.Document, reason, detail string) result {
	c.n.RuleCounts[reason]++
	c.n.RuleBytes[reason] += int64(len(doc.Text))
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
		c.n.RuleCounts[RulePIIRedacted]++
	}
	for typ, n := range counts {
		c.n.Redactions[typ] += n
	}
}

// lap adds the time since start to step and returns the current time.
func (c *chain) lap(step ruleStep, start time.Time) time.Time {
	now := time.Now()
	c.n.Seconds[step] += now.Sub(start).Seconds()
	return now
}

// stats returns the chain's numbers for Manifest.Stats. They are bytes
// and tokens in and out (UTF-8 text bytes, and tokens as countTokens
// counts them), seconds per step, documents and bytes removed per rule
// ("documents_<rule>", "bytes_removed_<rule>"), repair and replacement
// counts, and redactions per type.
func (c *chain) stats() map[string]float64 {
	s := map[string]float64{}
	for key, n := range c.n.Count {
		s[key] = float64(n)
	}
	for _, key := range []string{countBytesIn, countBytesOut, countTokensIn, countTokensOut} {
		s[key] = float64(c.n.Count[key])
	}
	for step, d := range c.n.Seconds {
		s["seconds_"+stepNames[step]] = d
	}
	for rule, n := range c.n.RuleCounts {
		s["documents_"+rule] = float64(n)
	}
	for rule, n := range c.n.RuleBytes {
		s["bytes_removed_"+rule] = float64(n)
	}
	for typ, n := range c.n.Redactions {
		s["redactions_"+typ] = float64(n)
	}
	return s
}

// countTokens returns the number of tokens in s: whitespace-separated
// tokens, with each Han, Hiragana or Katakana character counted as one
// token (see forEachWord).
func countTokens(s string) int {
	n := 0
	inToken := false
	for _, r := range s {
		switch {
		case isSpace(r):
			inToken = false
		case r >= 0x2E80 && isCJKChar(r):
			n++
			inToken = false
		case !inToken:
			n++
			inToken = true
		}
	}
	return n
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
