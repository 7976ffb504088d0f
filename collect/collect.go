// Package collect gathers documents from sources into the workspace's
// collect folder: Parquet shards of corpus.Document rows, a rejected file
// and a manifest. Every document carries its provenance (source, path or
// URL, raw hash, collection time) and license.
package collect

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/adapt-llm/adapt/corpus"
)

// Reason codes of rejected rows written by collect.
const (
	ReasonEmpty         = "empty"
	ReasonUnreadable    = "unreadable"
	ReasonInvalidFormat = "invalid_format"
)

// KindLocal is the Source.Kind of a local file or folder.
const KindLocal = "local"

// Options configures Run.
type Options struct {
	// Sources lists what to collect, in order. At least one is required.
	Sources []Source
	// Domain is written to every document's Domain field, for example
	// "legal".
	Domain string
	// OutDir is the output folder, normally <workspace>/collect. It is
	// replaced as a whole when Run succeeds and left unchanged when it fails.
	OutDir string
	// ShardRows is the maximum number of documents per shard. Zero means
	// corpus.DefaultShardRows.
	ShardRows int
	// Logger receives progress and per-file diagnostics. Nil means discard.
	Logger *slog.Logger
	// Progress, when set, is called after each file with the number of files
	// done and the total found.
	Progress func(done, total int64)
	// ToolVersion is recorded in the manifest.
	ToolVersion string
	// MinDomainScore is the minimum domain score (term matches per 100
	// tokens, see DomainScore) a document needs to be kept. Documents below
	// it are rejected as "off_domain". Zero disables the filter. A positive
	// value requires a Domain with a built-in term list (DomainNames).
	MinDomainScore float64
	// Rebuild makes Run extract every local file again instead of reusing
	// the rows of files that are unchanged since the output in OutDir was
	// written. False means incremental runs.
	Rebuild bool

	// clock paces and timestamps remote requests. Nil means the system
	// clock. Tests set a fake one so that no test sleeps.
	clock clock
}

// Source is one place to collect from.
type Source struct {
	// Kind is the source type: "local" (a file or folder on this machine),
	// "web", "pubmed", "edgar" or "courtlistener". Empty means "local".
	Kind string `json:"kind" yaml:"kind"`
	// Path is the file or folder to read. Folders are read recursively,
	// following symbolic links. Only local sources use it.
	Path string `json:"path" yaml:"path"`
	// Include and Exclude are path.Match globs on the slash-separated path
	// relative to Path, such as "*/copyright". A pattern without a slash
	// matches the file name at any depth. Empty Include means every file;
	// Exclude wins over Include and also prunes folders.
	Include []string `json:"include,omitempty" yaml:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty" yaml:"exclude,omitempty"`
	// License is the SPDX expression for documents of this source whose text
	// names no license. Empty means "unknown".
	License string `json:"license,omitempty" yaml:"license,omitempty"`
	// TextColumn names the field of JSONL, JSON and CSV records, or the
	// column of Parquet files, that is read as document text. Several names
	// joined by "+" ("question+answer") read each field in turn and join the
	// non-empty ones with a blank line ("\n\n"). A record that lacks one of
	// the fields is rejected as invalid_format. Empty means
	// DefaultTextColumn ("text").
	TextColumn string `json:"text_column,omitempty" yaml:"text_column,omitempty"`

	// RemoteSource holds the settings of the web, pubmed, edgar and
	// courtlistener kinds (see remote.go).
	RemoteSource `yaml:",inline"`
}

// textColumn returns TextColumn or its default.
func (s *Source) textColumn() string {
	if s.TextColumn == "" {
		return DefaultTextColumn
	}
	return s.TextColumn
}

// textColumns returns the field names of TextColumn, split at "+" and
// trimmed. validate rejects a TextColumn with an empty name.
func (s *Source) textColumns() []string {
	names := strings.Split(s.textColumn(), "+")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	return names
}

// batchFiles is how many files are extracted in parallel before their
// documents are written in order.
const batchFiles = 256

// Run collects every source into opts.OutDir. Local sources are read first,
// then remote sources are fetched in their listed order. It builds the output in a
// temporary folder next to OutDir and renames it into place at the end, so
// a failed or cancelled run leaves OutDir as it was. Unreadable and invalid
// files become rejected rows, not errors. A missing source path, an invalid
// option or a write failure is an error.
func Run(ctx context.Context, opts Options) (*corpus.Manifest, error) {
	start := time.Now()
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := validate(&opts); err != nil {
		return nil, err
	}

	// Build the output in a temporary folder.
	removeStaleTemps(opts.OutDir, logger)
	tmp := fmt.Sprintf("%s.tmp-%d", filepath.Clean(opts.OutDir), os.Getpid())
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("clearing temporary folder: %w", err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("creating output folder: %w", err)
	}
	m, err := collectInto(ctx, tmp, &opts, logger, start)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}

	// Replace OutDir with the finished folder.
	if err := replaceDir(tmp, opts.OutDir); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	logger.Info("collect finished", "out", opts.OutDir, "in", m.Counts.In, "kept", m.Counts.Kept,
		"rejected", m.Counts.Rejected, "seconds", m.Stats["seconds"])
	return m, nil
}

func validate(opts *Options) error {
	if len(opts.Sources) == 0 {
		return fmt.Errorf("%w: no sources; add at least one source path", ErrInvalidOptions)
	}
	if opts.OutDir == "" {
		return fmt.Errorf("%w: empty output folder", ErrInvalidOptions)
	}
	if opts.ShardRows < 0 {
		return fmt.Errorf("%w: shard rows %d is negative", ErrInvalidOptions, opts.ShardRows)
	}
	if err := checkDomainOptions(opts); err != nil {
		return err
	}
	for i := range opts.Sources {
		src := &opts.Sources[i]
		if src.Kind == "" {
			src.Kind = KindLocal
		}
		if src.Kind != KindLocal {
			if err := validateRemote(i, src); err != nil {
				return err
			}
			continue
		}
		if slices.Contains(src.textColumns(), "") {
			return fmt.Errorf("%w: source %s: text_column %q has an empty field name; write names joined by \"+\", such as \"question+answer\"",
				ErrInvalidOptions, src.Path, src.TextColumn)
		}
		for _, pattern := range append(append([]string{}, src.Include...), src.Exclude...) {
			if _, err := path.Match(pattern, ""); err != nil {
				return fmt.Errorf("%w: source %s: glob %q: %v", ErrInvalidOptions, src.Path, pattern, err)
			}
		}
		if _, err := os.Stat(src.Path); err != nil {
			return fmt.Errorf("%w: %s: %v; fix the path in the sources list or create it", ErrSourceNotFound, src.Path, err)
		}
	}
	return nil
}

// collectInto walks the sources, extracts documents and writes the shards,
// rejected file and manifest into dir.
func collectInto(ctx context.Context, dir string, opts *Options, logger *slog.Logger, start time.Time) (*corpus.Manifest, error) {
	var tasks []fileTask
	emptySources := 0
	for i := range opts.Sources {
		if opts.Sources[i].Kind != KindLocal {
			continue
		}
		found := walkSource(&opts.Sources[i])
		logger.Debug("walked source", "path", opts.Sources[i].Path, "files", len(found))
		if len(found) == 0 {
			emptySources++
			logger.Warn("source matched no files; check its path and include and exclude patterns",
				"path", opts.Sources[i].Path, "include", opts.Sources[i].Include, "exclude", opts.Sources[i].Exclude)
		}
		tasks = append(tasks, found...)
	}

	relDir := filepath.Base(filepath.Clean(opts.OutDir))
	shardOpts := corpus.ShardOptions{MaxRows: int64(opts.ShardRows), RelDir: relDir, CreatedBy: "adapt " + opts.ToolVersion}
	docs := corpus.NewShardWriter(dir, shardOpts)
	rejected, err := corpus.NewRejectedWriter(dir, shardOpts)
	if err != nil {
		return nil, err
	}

	key := reuseKey(opts)
	env := extractEnv{
		domain: opts.Domain, collectedAt: start.UTC().Truncate(time.Millisecond),
		terms: loadDomainLists()[opts.Domain], minScore: opts.MinDomainScore,
		previous: loadPrevious(opts.OutDir, key, opts.Rebuild, logger),
	}
	changes := make([]string, len(tasks))
	var counts corpus.Counts
	reasons := map[string]int64{}
	var bytesIn int64
	var filesNotUTF8 int64

	// write adds one file's or fetch's documents and rejected rows to the
	// output and the counts.
	write := func(res *fileResult) error {
		bytesIn += res.bytes
		if res.encoding != "" && res.encoding != encodingUTF8BOM {
			filesNotUTF8++
		}
		counts.In += int64(len(res.docs) + len(res.rejected))
		counts.Kept += int64(len(res.docs))
		counts.Rejected += int64(len(res.rejected))
		for _, r := range res.rejected {
			reasons[r.Reason]++
			logger.Debug("rejected", "path", r.URL, "reason", r.Reason, "detail", r.Detail)
		}
		if err := docs.Write(res.docs...); err != nil {
			rejected.Abort()
			docs.Abort()
			return err
		}
		if err := rejected.Write(res.rejected...); err != nil {
			rejected.Abort()
			docs.Abort()
			return err
		}
		return nil
	}

	// Extract in parallel batches and write each batch in walk order.
	results := make([]fileResult, batchFiles)
	workers := make([]worker, runtime.GOMAXPROCS(0))
	for lo := 0; lo < len(tasks); lo += batchFiles {
		if err := ctx.Err(); err != nil {
			docs.Abort()
			rejected.Abort()
			return nil, fmt.Errorf("collect cancelled after %d of %d files: %w", lo, len(tasks), err)
		}
		batch := tasks[lo:min(lo+batchFiles, len(tasks))]
		extractBatch(batch, results, &env, workers)

		for i := range batch {
			changes[lo+i] = results[i].change
			if err := write(&results[i]); err != nil {
				return nil, err
			}
			results[i] = fileResult{}
		}
		if opts.Progress != nil {
			opts.Progress(int64(lo+len(batch)), int64(len(tasks)))
		}
	}

	// Fetch the remote sources, in order, after the local files.
	remoteStats := map[string]float64{}
	var remoteScorer domainScorer
	scoreAndWrite := func(res *fileResult) error {
		scoreResult(res, &env, &remoteScorer)
		return write(res)
	}
	for i := range opts.Sources {
		src := &opts.Sources[i]
		if src.Kind == KindLocal {
			continue
		}
		if err := collectRemote(ctx, src, opts, &env, logger, remoteStats, scoreAndWrite); err != nil {
			docs.Abort()
			rejected.Abort()
			return nil, err
		}
	}

	// Finish the files and check the counts before the manifest.
	shards, err := docs.Close()
	if err != nil {
		rejected.Abort()
		return nil, err
	}
	rejectedInfo, err := rejected.Close()
	if err != nil {
		return nil, err
	}
	if err := counts.Check(); err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	changeSummary := changeList(tasks, changes, env.previous)
	if err := writeChanges(dir, changeSummary); err != nil {
		return nil, err
	}
	seconds := time.Since(start).Seconds()
	m := &corpus.Manifest{
		SchemaVersion: corpus.SchemaVersion,
		Stage:         "collect",
		ToolVersion:   opts.ToolVersion,
		CreatedAt:     start.UTC(),
		Config: map[string]any{
			"sources": opts.Sources, "domain": opts.Domain, "shard_rows": opts.ShardRows,
			"min_domain_score": opts.MinDomainScore, "reuse_key": key,
		},
		Shards:     shards,
		Rejected:   rejectedInfo,
		Counts:     counts,
		RuleCounts: reasons,
		Stats: map[string]float64{
			"bytes_in": float64(bytesIn),
			"files":    float64(len(tasks)),
			"seconds":  seconds,
			// Local files compared with the previous output (see Changes).
			"files_new":       float64(changeSummary.New.Count),
			"files_changed":   float64(changeSummary.Changed.Count),
			"files_unchanged": float64(changeSummary.Unchanged.Count),
			"files_gone":      float64(changeSummary.Gone.Count),
			// Local sources whose include and exclude patterns matched no
			// file.
			"sources_without_files": float64(emptySources),
			// Text files that were not UTF-8 and were decoded from UTF-16,
			// an HTML meta charset or Windows-1252 (see decodeText).
			"files_not_utf8": float64(filesNotUTF8),
		},
	}
	for name, value := range remoteStats {
		m.Stats[name] = value
	}
	if err := corpus.WriteManifest(dir, m); err != nil {
		return nil, err
	}
	return m, nil
}

// extractBatch extracts the files of batch into results[:len(batch)] using
// one goroutine per element of workers, at most one per file.
func extractBatch(batch []fileTask, results []fileResult, env *extractEnv, workers []worker) {
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for k := range workers[:min(len(workers), len(batch))] {
		w := &workers[k]
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(batch) {
					return
				}
				results[i] = extractFile(&batch[i], env, w)
			}
		})
	}
	wg.Wait()
}

// replaceDir renames tmp to dir, moving an existing dir aside first and
// removing it after the rename.
func replaceDir(tmp, dir string) error {
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = fmt.Sprintf("%s.old-%d", filepath.Clean(dir), os.Getpid())
		os.RemoveAll(old)
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("moving previous output aside: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return fmt.Errorf("moving output into place: %w", err)
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}
