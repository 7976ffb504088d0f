package eval

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/adapt-llm/adapt/corpus"
)

// Task-set kinds.
const (
	// KindCorpusHeldOut is the held-out split of a clean stage folder: the
	// documents for which corpus.HeldOut(id, ValFraction) is true, the same
	// rule finetune uses for its validation split.
	KindCorpusHeldOut = "corpus-heldout"
	// KindJSONL is a file with one JSON object per line, each with a "text"
	// field and an optional "id".
	KindJSONL = "jsonl"
)

// TaskSet names the documents that one eval result scores.
type TaskSet struct {
	// Name is used in result file names ("legal-heldout").
	Name string `yaml:"name" json:"name"`
	// Kind is KindCorpusHeldOut or KindJSONL.
	Kind string `yaml:"kind" json:"kind"`
	// Path is the clean folder (KindCorpusHeldOut) or the JSONL file.
	Path string `yaml:"path" json:"path"`
	// ValFraction is the held-out fraction for KindCorpusHeldOut, in
	// (0, 1); it must equal finetune's val_fraction.
	ValFraction float64 `yaml:"val_fraction" json:"val_fraction"`
	// MaxDocs caps the number of documents, taking them in file order.
	// Zero means all.
	MaxDocs int `yaml:"max_docs" json:"max_docs"`
	// Optional makes Run skip the set, with a warning, when it has no
	// documents, instead of failing. Callers set it for a set they added
	// by default rather than one the user asked for.
	Optional bool `yaml:"-" json:"-"`
}

// document is one text to score.
type document struct {
	ID   string
	Text string
}

// loadTaskSet returns the documents of ts.
func loadTaskSet(ts TaskSet) ([]document, error) {
	switch ts.Kind {
	case KindCorpusHeldOut:
		return loadHeldOut(ts)
	case KindJSONL:
		f, err := os.Open(ts.Path)
		if err != nil {
			return nil, fmt.Errorf("opening task set %s: %w", ts.Name, err)
		}
		defer f.Close()
		return readJSONL(f, ts.Path, ts.MaxDocs)
	default:
		return nil, fmt.Errorf("%w: task set %q has kind %q; use %q or %q", ErrInvalidConfig, ts.Name, ts.Kind, KindCorpusHeldOut, KindJSONL)
	}
}

func loadHeldOut(ts TaskSet) ([]document, error) {
	if ts.ValFraction <= 0 || ts.ValFraction >= 1 {
		return nil, fmt.Errorf("%w: task set %q has val_fraction %v, must be in (0, 1)", ErrInvalidConfig, ts.Name, ts.ValFraction)
	}
	paths, err := corpus.ListShards(ts.Path)
	if err != nil {
		return nil, fmt.Errorf("listing shards of task set %s: %w", ts.Name, err)
	}
	var docs []document
	for doc, err := range corpus.ReadShards(paths...) {
		if errors.Is(err, corpus.ErrCorruptShard) {
			return nil, fmt.Errorf("%w: reading task set %s: %w", ErrBadTaskSet, ts.Name, err)
		}
		if err != nil {
			return nil, fmt.Errorf("reading task set %s: %w", ts.Name, err)
		}
		if !corpus.HeldOut(doc.ID, ts.ValFraction) {
			continue
		}
		docs = append(docs, document{ID: doc.ID, Text: doc.Text})
		if ts.MaxDocs > 0 && len(docs) == ts.MaxDocs {
			break
		}
	}
	return docs, nil
}

// maxJSONLLine is the longest JSONL line readJSONL accepts (64 MiB).
const maxJSONLLine = 64 << 20

// readJSONL reads up to maxDocs documents (all when 0) from r, one JSON
// object per line with a string "text" and an optional string "id". Lines
// without an id get "line-N" (1-based). Blank lines are skipped. Errors name
// the file and line.
func readJSONL(r io.Reader, name string, maxDocs int) ([]document, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLLine)
	var docs []document
	for line := 1; sc.Scan(); line++ {
		raw := sc.Bytes()
		if len(trimSpace(raw)) == 0 {
			continue
		}
		var rec struct {
			ID   *string `json:"id"`
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: invalid JSON: %w; each line must be an object with a \"text\" string", ErrBadTaskSet, name, line, err)
		}
		if rec.Text == nil {
			return nil, fmt.Errorf("%w: %s:%d: missing \"text\" field; each line must be an object with a \"text\" string", ErrBadTaskSet, name, line)
		}
		id := fmt.Sprintf("line-%d", line)
		if rec.ID != nil {
			id = *rec.ID
		}
		docs = append(docs, document{ID: id, Text: *rec.Text})
		if maxDocs > 0 && len(docs) == maxDocs {
			return docs, nil
		}
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, fmt.Errorf("%w: %s: a line is longer than %d MiB: %w", ErrBadTaskSet, name, maxJSONLLine>>20, err)
	} else if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return docs, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
