// Package clean is the clean stage: it reads the documents that collect
// wrote, runs them through a chain of rules and writes the documents that
// pass, the rejected ones with their reasons, and a manifest.
//
// The chain, in order, for each document:
//
//  1. Encoding repair and Unicode normalization: invalid UTF-8 becomes
//     U+FFFD, control characters other than "\n" and "\t" are removed, and
//     the text is put in NFC (or NFKC).
//  2. Whitespace normalization that keeps paragraphs.
//  3. Language ID with lingua-go; other languages are rejected ("lang").
//  4. Quality rules: word count ("too_short", "too_long"), symbols per word
//     ("symbol_ratio") and mean word length ("mean_word_length").
//  5. Exact deduplication: of identical normalized texts, the first in input
//     order is kept; later copies are rejected ("duplicate_exact").
//  6. Redaction of e-mail addresses and phone numbers (package clean/pii),
//     after which the document ID is recomputed from the final text.
//  7. Near-duplicate removal (package clean/neardup), across all input
//     shards: each part stores the MinHash signatures of its kept
//     documents in a Parquet file, and once every part is done one merge
//     clusters them all. Of each cluster the first document in input order
//     is kept and the others move to the rejected file ("duplicate_near").
package clean

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/adapt-llm/adapt/clean/neardup"
	"github.com/adapt-llm/adapt/corpus"
)

// StageName is the stage name recorded in manifests and rejected rows.
const StageName = "clean"

// progressEvery is the number of documents between Progress calls.
const progressEvery = 256

// Options configures one run of the clean stage.
type Options struct {
	// InDir is the folder of the input shards and their manifest.json
	// (normally <workspace>/collect).
	InDir string
	// OutDir is the output folder (normally <workspace>/clean). It is
	// replaced as a whole when the run succeeds and left untouched when it
	// fails.
	OutDir string
	// Config contains the thresholds. Start from DefaultConfig.
	Config Config
	// Logger receives progress messages. Nil means discard.
	Logger *slog.Logger
	// Progress, when not nil, is called with the number of documents done
	// and the total from the input manifest, every few hundred documents
	// and once at the end.
	Progress func(done, total int64)
	// ToolVersion is recorded in the manifest and the Parquet files, for
	// example "0.3.0".
	ToolVersion string
}

// Run cleans the documents in opts.InDir and writes the result to
// opts.OutDir: document shards, rejected.parquet and manifest.json.
//
// Run works in a hidden folder beside OutDir (see resume.go): it cleans
// one input shard at a time into a part of its own and records each
// finished part in a progress file. A run that was killed or canceled
// resumes at the first unfinished input shard when started again with the
// same configuration and input. Any other change starts over. At the end
// the parts are assembled into a temporary folder that is renamed into
// place, so a failed run leaves no output that looks complete. When the
// input has documents but none survives, Run still writes the output (no
// shards, every document in the rejected file with its reason) and returns
// its manifest with an error wrapping ErrEmptyCorpus. An input without
// documents writes nothing.
func Run(ctx context.Context, opts Options) (*corpus.Manifest, error) {
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}

	// Find the input and check it against its manifest.
	inManifest, err := corpus.ReadManifest(opts.InDir)
	if err != nil {
		return nil, err
	}
	paths, err := inputShards(opts.InDir, inManifest)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, s := range inManifest.Shards {
		total += s.Rows
	}
	var terms map[string]TermMap
	if cfg.Terminology {
		if terms, err = LoadTerminology(cfg.TerminologyFile); err != nil {
			return nil, err
		}
	}

	start := time.Now()
	c := newChain(cfg, terms)
	logger.Info("clean: language detector ready", "languages", cfg.Languages, "seconds", time.Since(start).Seconds())

	// Open or start the work folder beside the output.
	parent, base := filepath.Split(filepath.Clean(opts.OutDir))
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("creating output parent %s: %w", parent, err)
	}
	w, err := openWork(filepath.Join(parent, "."+base+".partial"), fingerprint(cfg, inManifest), c, logger)
	if err != nil {
		return nil, err
	}
	shardOpts := corpus.ShardOptions{RelDir: base, CreatedBy: strings.TrimSpace("adapt " + opts.ToolVersion)}

	// First pass: count lines for boilerplate removal.
	if cfg.BoilerplateMinDocs > 0 {
		passStart := time.Now()
		if c.boiler, err = countBoilerplate(ctx, cfg, paths); err != nil {
			return nil, err
		}
		c.n.Seconds[stepBoilerplate] += time.Since(passStart).Seconds()
		if c.boiler.capped {
			logger.Warn("clean: boilerplate line cap reached; later lines were not counted", "boilerplate_max_lines", c.boiler.maxLines)
		}
	}

	// Second pass: clean each unfinished input shard into its part.
	for i, path := range paths {
		if w.isDone(i) {
			continue
		}
		if err := cleanPart(ctx, c, w, i, path, total, shardOpts, opts); err != nil {
			return nil, err
		}
	}
	if opts.Progress != nil {
		opts.Progress(c.n.Counts.In, total)
	}

	// Merge the near-dedup signatures of all parts. The decided documents
	// move from the output to the rejected file during assembly.
	var near nearDecisions
	if cfg.NearDedup.Enabled {
		mergeStart := time.Now()
		if near, err = w.mergeSignatures(cfg.NearDedup); err != nil {
			return nil, err
		}
		c.n.Counts.Kept -= int64(near.removed)
		c.n.Counts.Rejected += int64(near.removed)
		c.n.Seconds[stepNearDedup] += time.Since(mergeStart).Seconds()
		logger.Info("clean: near-duplicates found", "removed", near.removed, "seconds", time.Since(mergeStart).Seconds())
	}

	// Check the counts before writing anything final.
	counts := c.n.Counts
	if counts.In != total {
		w.remove()
		return nil, fmt.Errorf("%w: read %d documents from %s but its manifest lists %d; rerun collect", ErrInputMismatch, counts.In, opts.InDir, total)
	}
	if err := counts.Check(); err != nil {
		return nil, fmt.Errorf("checking clean counts: %w", err)
	}
	if counts.In == 0 {
		w.remove()
		return nil, emptyCorpusError(counts, c.n.RuleCounts, c.cfg)
	}
	logger.Info("clean: documents processed", "in", counts.In, "kept", counts.Kept, "rejected", counts.Rejected)

	// Assemble the parts in a temporary folder and move it into place.
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating temporary output folder in %s: %w", parent, err)
	}
	defer os.RemoveAll(tmp) // gone after the final rename
	// MkdirTemp makes the folder 0700; the output is an ordinary folder.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("setting mode of temporary output folder %s: %w", tmp, err)
	}
	assembleStart := time.Now()
	shards, rejected, err := w.assemble(tmp, shardOpts, near, c)
	if err != nil {
		return nil, err
	}
	if cfg.NearDedup.Enabled {
		c.n.Seconds[stepNearDedup] += time.Since(assembleStart).Seconds()
	}
	manifest := &corpus.Manifest{
		SchemaVersion: corpus.SchemaVersion,
		Stage:         StageName,
		ToolVersion:   opts.ToolVersion,
		CreatedAt:     time.Now().UTC(),
		Config:        c.cfg,
		Inputs:        inManifest.Shards,
		Shards:        shards,
		Rejected:      rejected,
		Counts:        counts,
		RuleCounts:    c.n.RuleCounts,
		Stats:         c.stats(),
	}
	manifest.Stats["seconds_total"] = time.Since(start).Seconds()
	if err := corpus.WriteManifest(tmp, manifest); err != nil {
		return nil, err
	}
	if err := replaceDir(tmp, opts.OutDir); err != nil {
		return nil, err
	}
	w.remove()
	logger.Info("clean: done", "in", counts.In, "kept", counts.Kept, "rejected", counts.Rejected)
	if counts.Kept == 0 {
		return manifest, emptyCorpusError(counts, c.n.RuleCounts, c.cfg)
	}
	return manifest, nil
}

// cleanPart streams the documents of input shard index through c into a
// new part of w, and records the part as done.
func cleanPart(ctx context.Context, c *chain, w *work, index int, path string, total int64, shardOpts corpus.ShardOptions, opts Options) error {
	dir, err := w.startPart(index)
	if err != nil {
		return err
	}
	// When this function fails, the unfinished part folder goes, so a
	// canceled run leaves only finished parts behind for the next run.
	shards := corpus.NewShardWriter(dir, shardOpts)
	rejected, err := corpus.NewRejectedWriter(dir, shardOpts)
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	done := false
	defer func() {
		if !done {
			shards.Abort()
			rejected.Abort()
			if err := os.RemoveAll(dir); err != nil {
				w.logger.Warn("clean: removing unfinished part", "dir", dir, "err", err)
			}
		}
	}()

	// signatures holds the near-dedup records of the part's kept
	// documents, Row counting them from 0 in output order.
	var signatures []neardup.Record
	err = c.prepareParallel(ctx, path, func(st staged) error {
		c.n.Counts.In++
		res := c.finish(st)
		var err error
		if res.Reason == "" {
			if c.near != nil {
				signatures = append(signatures, neardup.Record{ID: res.Doc.ID, Shard: partName(index), Row: int64(len(signatures)), Signature: st.signature})
			}
			c.n.Counts.Kept++
			err = shards.Write(res.Doc)
		} else {
			c.n.Counts.Rejected++
			err = rejected.Write(corpus.Rejected{Document: res.Doc, Stage: StageName, Reason: res.Reason, Detail: res.Detail})
		}
		if err != nil {
			return err
		}
		if opts.Progress != nil && c.n.Counts.In%progressEvery == 0 {
			opts.Progress(c.n.Counts.In, total)
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("cleaning after %d of %d documents: %w", c.n.Counts.In, total, err)
		}
		return err
	}

	shardInfos, err := shards.Close()
	if err != nil {
		return err
	}
	rejectedInfo, err := rejected.Close()
	if err != nil {
		return err
	}
	if c.near != nil {
		start := time.Now()
		if err := neardup.WriteSignatures(filepath.Join(dir, signaturesName), c.cfg.NearDedup, signatures); err != nil {
			return err
		}
		c.n.Seconds[stepNearDedup] += time.Since(start).Seconds()
	}
	if err := w.finishPart(index, shardInfos, rejectedInfo, c); err != nil {
		return err
	}
	done = true
	return nil
}

// inputShards lists the shards in dir and checks that they are the ones the
// manifest describes, with the same SHA-256.
func inputShards(dir string, m *corpus.Manifest) ([]string, error) {
	paths, err := corpus.ListShards(dir)
	if err != nil {
		return nil, err
	}
	listed := map[string]corpus.ShardInfo{}
	for _, s := range m.Shards {
		listed[filepath.Base(s.Path)] = s
	}
	if len(paths) != len(listed) {
		return nil, fmt.Errorf("%w: %s has %d shards but its manifest lists %d; rerun collect", ErrInputMismatch, dir, len(paths), len(listed))
	}
	for _, path := range paths {
		info, ok := listed[filepath.Base(path)]
		if !ok {
			return nil, fmt.Errorf("%w: shard %s is not in the manifest of %s; rerun collect", ErrInputMismatch, path, dir)
		}
		sum, _, err := corpus.HashFile(path)
		if err != nil {
			return nil, err
		}
		if sum != info.SHA256 {
			return nil, fmt.Errorf("%w: shard %s has SHA-256 %s but its manifest records %s; rerun collect", ErrInputMismatch, path, sum, info.SHA256)
		}
	}
	return paths, nil
}

// emptyCorpusError explains which rules rejected everything and which
// thresholds to loosen.
func emptyCorpusError(counts corpus.Counts, ruleCounts map[string]int64, cfg Config) error {
	if counts.In == 0 {
		return fmt.Errorf("%w: the input has no documents; collect from a source that has some", ErrEmptyCorpus)
	}
	reasons := make([]string, 0, len(ruleCounts))
	for reason := range ruleCounts {
		if _, ok := loosenHint(reason, cfg); ok {
			reasons = append(reasons, reason)
		}
	}
	slices.SortFunc(reasons, func(a, b string) int {
		return cmp.Or(cmp.Compare(ruleCounts[b], ruleCounts[a]), strings.Compare(a, b))
	})

	var rejected, hints []string
	for _, reason := range reasons {
		rejected = append(rejected, fmt.Sprintf("%s=%d", reason, ruleCounts[reason]))
		if hint, _ := loosenHint(reason, cfg); hint != "" {
			hints = append(hints, hint)
		}
	}
	msg := fmt.Sprintf("all %d documents were rejected (%s)", counts.In, strings.Join(rejected, ", "))
	if len(hints) > 0 {
		msg += "; to keep more, " + strings.Join(hints, "; ")
	}
	return fmt.Errorf("%w: %s", ErrEmptyCorpus, msg)
}

// loosenHint returns advice for the threshold behind a rejection reason,
// and false for keys that are not rejection reasons.
func loosenHint(reason string, cfg Config) (string, bool) {
	switch reason {
	case ReasonLang:
		return fmt.Sprintf("add the corpus language to clean.languages (now %v)", cfg.Languages), true
	case ReasonTooShort:
		return fmt.Sprintf("lower clean.min_words (now %d)", cfg.MinWords), true
	case ReasonTooLong:
		return fmt.Sprintf("raise clean.max_words (now %d)", cfg.MaxWords), true
	case ReasonSymbolRatio:
		return fmt.Sprintf("raise clean.max_symbol_ratio (now %g)", cfg.MaxSymbolRatio), true
	case ReasonMeanWordLength:
		return fmt.Sprintf("widen clean.min_mean_word_length and clean.max_mean_word_length (now %g to %g)", cfg.MinMeanWordLength, cfg.MaxMeanWordLength), true
	case ReasonHashEllipsis:
		return fmt.Sprintf("raise clean.max_hash_ellipsis_ratio (now %g)", cfg.MaxHashEllipsisRatio), true
	case ReasonBulletLines:
		return fmt.Sprintf("raise clean.max_bullet_line_fraction (now %g)", cfg.MaxBulletLineFraction), true
	case ReasonEllipsisLines:
		return fmt.Sprintf("raise clean.max_ellipsis_line_fraction (now %g)", cfg.MaxEllipsisLineFraction), true
	case ReasonAlphaWords:
		return fmt.Sprintf("lower clean.min_alpha_word_fraction (now %g)", cfg.MinAlphaWordFraction), true
	case ReasonStopWords:
		return fmt.Sprintf("lower clean.min_stop_words (now %d)", cfg.MinStopWords), true
	case ReasonDuplicateLines:
		return fmt.Sprintf("raise clean.max_duplicate_line_fraction and clean.max_duplicate_line_char_fraction (now %g and %g)", cfg.MaxDuplicateLineFraction, cfg.MaxDuplicateLineCharFraction), true
	case ReasonDuplicateParagraphs:
		return fmt.Sprintf("raise clean.max_duplicate_paragraph_fraction and clean.max_duplicate_paragraph_char_fraction (now %g and %g)", cfg.MaxDuplicateParagraphFraction, cfg.MaxDuplicateParagraphCharFraction), true
	case ReasonTopNgram:
		return fmt.Sprintf("raise clean.max_top_ngram_char_fraction (now %v)", cfg.MaxTopNgramCharFraction), true
	case ReasonDuplicateNgram:
		return fmt.Sprintf("raise clean.max_duplicate_ngram_char_fraction (now %v)", cfg.MaxDuplicateNgramCharFraction), true
	case ReasonEmpty, ReasonDuplicateExact, ReasonDuplicateNear:
		return "", true
	}
	return "", false
}

// replaceDir moves the finished folder tmp to dst, replacing dst if it
// exists. The old dst is moved aside first and put back if the move fails.
func replaceDir(tmp, dst string) error {
	old := ""
	if _, err := os.Stat(dst); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dst, old); err != nil {
			return fmt.Errorf("moving previous output %s aside: %w", dst, err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		if old != "" {
			_ = os.Rename(old, dst)
		}
		return fmt.Errorf("moving output into %s: %w", dst, err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("removing previous output moved to %s: %w", old, err)
		}
	}
	return nil
}
