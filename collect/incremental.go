package collect

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"

	"github.com/adapt-llm/adapt/corpus"
)

// ChangesName is the file name of the change list that Run writes next to
// the manifest.
const ChangesName = "changes.json"

// How a local file compares with the previous run's output.
const (
	changeNew       = "new"
	changeChanged   = "changed"
	changeUnchanged = "unchanged"
)

// Changes is the content of changes.json: the local files of this run
// compared with those of the previous output in the same folder, by path and
// SHA-256 of the stored file. On a first run every file is new.
type Changes struct {
	New       ChangeSet `json:"new"`
	Changed   ChangeSet `json:"changed"`
	Unchanged ChangeSet `json:"unchanged"`
	// Gone lists files that the previous output had and this run did not
	// find.
	Gone ChangeSet `json:"gone"`
	// Reused is true when the rows of unchanged files were copied from the
	// previous output instead of being extracted again.
	Reused bool `json:"reused"`
}

// ChangeSet is one category of Changes, with paths in walk order (Gone:
// sorted).
type ChangeSet struct {
	Count int      `json:"count"`
	Paths []string `json:"paths"`
}

// previousRun holds the rows of the previous output, grouped by the local
// file they came from.
// NOTE: it keeps every previous row in memory, so an incremental run needs
// memory in proportion to the previous output's size.
type previousRun struct {
	files map[string]*previousFile
	// reuse is false when the previous output was made with other settings
	// (domain, scoring, tool version, source license or text column), so its
	// rows are only compared, not copied.
	reuse bool
}

type previousFile struct {
	sha      string // "" when unknown or inconsistent
	docs     []corpus.Document
	rejected []corpus.Rejected
}

// classify compares a file of this run with the previous output. An empty
// sha (the file could not be read) counts as changed when the path existed.
func (p *previousRun) classify(path, sha string) string {
	if p == nil {
		return changeNew
	}
	f := p.files[path]
	switch {
	case f == nil:
		return changeNew
	case sha != "" && f.sha == sha:
		return changeUnchanged
	default:
		return changeChanged
	}
}

// canReuse reports whether an unchanged file's previous rows may be copied.
func (p *previousRun) canReuse() bool { return p != nil && p.reuse }

// rows returns the previous rows of path.
func (p *previousRun) rows(path string) ([]corpus.Document, []corpus.Rejected) {
	f := p.files[path]
	return f.docs, f.rejected
}

// extractorVersion is part of the reuse key. Raise it whenever the same
// file and settings give different rows than before, so that an incremental
// run extracts every file again. Version 2 keeps PDF word spaces, applies
// text_column to JSONL and CSV, and reads .json files as records.
const extractorVersion = 2

// reuseKey fingerprints the settings that change how a file is extracted.
func reuseKey(opts *Options) string {
	type sourceKey struct {
		Path, License, TextColumn string
	}
	key := struct {
		Schema         int
		Extractor      int
		Tool, Domain   string
		MinDomainScore float64
		Sources        []sourceKey
	}{Schema: corpus.SchemaVersion, Extractor: extractorVersion, Tool: opts.ToolVersion, Domain: opts.Domain, MinDomainScore: opts.MinDomainScore}
	for _, src := range opts.Sources {
		if src.Kind == KindLocal {
			key.Sources = append(key.Sources, sourceKey{src.Path, src.License, src.textColumn()})
		}
	}
	data, _ := json.Marshal(key) // plain values always encode
	return corpus.HashBytes(data)
}

// loadPrevious reads the local rows of the collect output in dir. It returns
// nil when dir has no readable collect output; a damaged previous output is
// logged and ignored, so the run extracts every file again.
func loadPrevious(dir, key string, rebuild bool, logger *slog.Logger) *previousRun {
	m, err := corpus.ReadManifest(dir)
	if err != nil {
		if !errors.Is(err, corpus.ErrNoManifest) {
			logger.Warn("previous collect output unreadable; extracting every file", "dir", dir, "error", err)
		}
		return nil
	}
	if m.Stage != "collect" {
		return nil
	}
	prev := &previousRun{files: map[string]*previousFile{}, reuse: !rebuild}
	if config, ok := m.Config.(map[string]any); !ok || config["reuse_key"] != key {
		prev.reuse = false
	}

	// file returns the entry of the row's file and checks its hash.
	file := func(doc *corpus.Document) *previousFile {
		if doc.Source != KindLocal {
			return nil
		}
		path := doc.Meta["path"]
		if path == "" {
			path = doc.URL
		}
		sha := doc.Meta[metaFileSHA256]
		f := prev.files[path]
		if f == nil {
			f = &previousFile{sha: sha}
			prev.files[path] = f
		} else if f.sha != sha {
			f.sha = ""
		}
		return f
	}

	shards, err := corpus.ListShards(dir)
	if err == nil {
		corpus.ReadShards(shards...)(func(doc corpus.Document, readErr error) bool {
			if err = readErr; err != nil {
				return false
			}
			if f := file(&doc); f != nil {
				f.docs = append(f.docs, doc)
			}
			return true
		})
	}
	if err == nil {
		corpus.ReadRejected(filepath.Join(dir, corpus.RejectedName))(func(row corpus.Rejected, readErr error) bool {
			if err = readErr; err != nil {
				return false
			}
			if f := file(&row.Document); f != nil {
				f.rejected = append(f.rejected, row)
			}
			return true
		})
	}
	if err != nil {
		logger.Warn("previous collect output unreadable; extracting every file", "dir", dir, "error", err)
		return nil
	}
	return prev
}

// changeList builds the Changes of a run from the change of each task, in
// walk order, and the previous output.
func changeList(tasks []fileTask, changes []string, prev *previousRun) *Changes {
	c := &Changes{Reused: prev.canReuse()}
	seen := make(map[string]bool, len(tasks))
	for i, task := range tasks {
		seen[task.path] = true
		set := &c.New
		switch changes[i] {
		case changeChanged:
			set = &c.Changed
		case changeUnchanged:
			set = &c.Unchanged
		}
		set.Paths = append(set.Paths, task.path)
	}
	if prev != nil {
		for path := range prev.files {
			if !seen[path] {
				c.Gone.Paths = append(c.Gone.Paths, path)
			}
		}
		sort.Strings(c.Gone.Paths)
	}
	for _, set := range []*ChangeSet{&c.New, &c.Changed, &c.Unchanged, &c.Gone} {
		set.Count = len(set.Paths)
		if set.Paths == nil {
			set.Paths = []string{}
		}
	}
	return c
}

// writeChanges writes c as indented JSON to dir/changes.json.
func writeChanges(dir string, c *Changes) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", ChangesName, err)
	}
	if err := os.WriteFile(filepath.Join(dir, ChangesName), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", ChangesName, err)
	}
	return nil
}

// ReadChanges reads the changes.json that Run wrote into dir.
func ReadChanges(dir string) (*Changes, error) {
	path := filepath.Join(dir, ChangesName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading changes: %w", err)
	}
	var c Changes
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("decoding %s: %w; rerun collect", path, err)
	}
	return &c, nil
}
