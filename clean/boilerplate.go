package clean

import (
	"hash/maphash"
	"math"
	"net/url"
	"path"
	"strings"
	"unicode"

	"github.com/adapt-llm/adapt/corpus"
)

// Boilerplate removal drops lines that many documents of one source share:
// page headers and footers, cookie notices, navigation, license banners.
// It takes two passes. The first pass (countDocument) counts, per source
// group, in how many documents each distinct line occurs. The second pass
// (remove) drops the lines that occur in at least BoilerplateMinDocs
// documents and in at least BoilerplateMinFraction of the group's
// documents. Blank lines never count, and a line repeated inside one
// document counts once.
//
// Lines are compared by a 64-bit hash of their characters without white
// space and control characters, in the configured normalization form, so
// the first pass on the raw text and the second pass on the normalized
// text agree.

// boilerplate holds the line counts of the first pass and, after prune,
// the boilerplate lines of each source group.
type boilerplate struct {
	seed     maphash.Seed
	minDocs  int
	minFrac  float64
	maxLines int
	form     string
	groups   map[string]*lineGroup
	distinct int // distinct lines counted over all groups
	capped   bool
}

// lineGroup counts the lines of one source group.
type lineGroup struct {
	docs  uint32
	lines map[uint64]lineCount
}

type lineCount struct {
	docs    uint32 // documents that contain the line
	lastDoc uint32 // 1-based index of the last document counted
}

func newBoilerplate(cfg Config) *boilerplate {
	maxLines := cfg.BoilerplateMaxLines
	if maxLines == 0 {
		maxLines = DefaultBoilerplateMaxLines
	}
	return &boilerplate{
		seed:     maphash.MakeSeed(),
		minDocs:  cfg.BoilerplateMinDocs,
		minFrac:  cfg.BoilerplateMinFraction,
		maxLines: maxLines,
		form:     cfg.Normalization,
		groups:   map[string]*lineGroup{},
	}
}

// sourceGroup names the group whose documents share boilerplate: the
// collector kind with the URL's host for web documents, or with the
// folder of a local path.
func sourceGroup(doc *corpus.Document) string {
	if u, err := url.Parse(doc.URL); err == nil && u.Host != "" {
		return doc.Source + " " + u.Host
	}
	return doc.Source + " " + path.Dir(strings.ReplaceAll(doc.URL, "\\", "/"))
}

// countDocument adds the lines of one raw document to the counts.
func (b *boilerplate) countDocument(doc *corpus.Document) {
	b.countKeys(sourceGroup(doc), b.documentKeys(doc, nil))
}

// documentKeys appends the keys of the non-blank lines of a raw document
// to keys. It only reads b, so several goroutines may call it at once.
func (b *boilerplate) documentKeys(doc *corpus.Document, keys []uint64) []uint64 {
	text, _ := repairText(doc.Text)
	for line := range strings.FieldsFuncSeq(text, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if key, ok := b.lineKey(line); ok {
			keys = append(keys, key)
		}
	}
	return keys
}

// countKeys counts the line keys of one document of group.
func (b *boilerplate) countKeys(group string, keys []uint64) {
	g := b.groups[group]
	if g == nil {
		g = &lineGroup{lines: map[uint64]lineCount{}}
		b.groups[group] = g
	}
	g.docs++
	for _, key := range keys {
		c, seen := g.lines[key]
		if !seen {
			if b.distinct >= b.maxLines {
				b.capped = true
				continue
			}
			b.distinct++
		}
		if c.lastDoc == g.docs {
			continue
		}
		c.docs++
		c.lastDoc = g.docs
		g.lines[key] = c
	}
}

// prune keeps only the boilerplate lines of each group, which frees the
// memory of the others before the second pass.
func (b *boilerplate) prune() {
	for _, g := range b.groups {
		need := max(b.minDocs, int(math.Ceil(b.minFrac*float64(g.docs))))
		for key, c := range g.lines {
			if int(c.docs) < need {
				delete(g.lines, key)
			}
		}
	}
}

// lineKey returns the hash of line without white space and controls, and
// false for a blank line.
func (b *boilerplate) lineKey(line string) (uint64, bool) {
	if !isASCII(line) {
		line = normalizeUnicode(line, b.form)
	}

	// Hash the runs between white space and controls without copying.
	var h maphash.Hash
	h.SetSeed(b.seed)
	empty := true
	start := -1
	for i, r := range line {
		skip := isSpace(r) || unicode.IsControl(r) || r == '\uFEFF'
		switch {
		case skip && start >= 0:
			h.WriteString(line[start:i])
			start = -1
		case !skip && start < 0:
			start = i
			empty = false
		}
	}
	if start >= 0 {
		h.WriteString(line[start:])
	}
	return h.Sum64(), !empty
}

// remove drops the boilerplate lines of doc's group from text, which is
// whitespace-normalized, and returns the text and the number of lines
// removed.
func (b *boilerplate) remove(doc *corpus.Document, text string) (string, int) {
	g := b.groups[sourceGroup(doc)]
	if g == nil || len(g.lines) == 0 {
		return text, 0
	}

	var out strings.Builder
	removed := 0
	for line := range strings.SplitSeq(text, "\n") {
		if key, ok := b.lineKey(line); ok {
			if _, hit := g.lines[key]; hit {
				removed++
				continue
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	if removed == 0 {
		return text, 0
	}
	// Removed lines can leave blank lines next to each other.
	return normalizeWhitespace(out.String()), removed
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
