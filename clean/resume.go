package clean

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/adapt-llm/adapt/clean/neardup"
	"github.com/adapt-llm/adapt/corpus"
)

// A run keeps its work in the folder .<out>.partial beside the output:
//
//	progress.json          which input shards are done, and the chain's
//	                       counters after the last of them
//	part-00003/            the output of input shard 3: shard-NNNNN.parquet,
//	                       rejected.parquet, dedup.bin, and neardup.parquet
//	                       when near-dedup is on
//
// A part is written under .part-NNNNN.tmp and renamed when complete, and
// progress.json is replaced after the rename, so after a kill every part
// named in progress.json is whole. A part that fails or is canceled removes
// its .tmp folder. dedup.bin holds the exact-dedup pairs (SHA-256 of the
// text before redaction, output ID) that the part added: the output shards
// carry only the redacted text, from which the first hash cannot be
// rebuilt. neardup.parquet holds the MinHash signatures of the part's kept
// documents (neardup.WriteSignatures), with shard name part-NNNNN and row
// numbers counting the kept documents in output order. Run merges the
// signature files of all parts when every part is done.

// progressName is the file name of the progress record in the work folder.
const progressName = "progress.json"

// afterPartHook, when not nil, is called after each part is recorded as
// done. Tests set it to interrupt a run at a known point.
var afterPartHook func(index int)

// progress is the content of progress.json.
type progress struct {
	// Fingerprint identifies the configuration and input the parts belong
	// to (see fingerprint).
	Fingerprint string `json:"fingerprint"`
	// Parts lists the finished parts in the order they were done.
	Parts []partRecord `json:"parts"`
	// Counters are the chain's counters after the last finished part.
	Counters chainCounters `json:"counters"`
}

// partRecord describes one finished part.
type partRecord struct {
	Input    int                `json:"input"`
	Shards   []corpus.ShardInfo `json:"shards"`
	Rejected corpus.ShardInfo   `json:"rejected"`
}

// work is the work folder of one run.
type work struct {
	dir    string
	state  progress
	done   map[int]bool
	logger *slog.Logger
}

// fingerprint returns the SHA-256 of the configuration, the input shards
// and the schema version, in hex.
func fingerprint(cfg Config, in *corpus.Manifest) string {
	data, err := json.Marshal(struct {
		Schema int
		Config Config
		Inputs []corpus.ShardInfo
	}{corpus.SchemaVersion, cfg, in.Shards})
	if err != nil {
		panic("clean: encoding fingerprint: " + err.Error())
	}
	return corpus.HashBytes(data)
}

// openWork opens the work folder dir. When its progress matches print, it
// loads the finished parts' counters and dedup state into c. Otherwise it
// empties the folder, and the run starts over.
func openWork(dir, print string, c *chain, logger *slog.Logger) (*work, error) {
	w := &work{dir: dir, done: map[int]bool{}, logger: logger}
	w.state.Fingerprint = print

	data, err := os.ReadFile(filepath.Join(dir, progressName))
	var old progress
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("reading clean progress: %w", err)
	case json.Unmarshal(data, &old) != nil || old.Fingerprint != print:
		logger.Info("clean: previous partial run used another configuration or input; starting over", "dir", dir)
	default:
		w.state = old
	}
	if w.state.Counters.RuleCounts == nil {
		w.state.Counters = newChainCounters()
	}

	// Keep only the recorded parts.
	keep := map[string]bool{progressName: true}
	for _, p := range w.state.Parts {
		keep[partName(p.Input)] = true
		w.done[p.Input] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("listing clean work folder: %w", err)
	}
	for _, e := range entries {
		if !keep[e.Name()] {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("removing unfinished part: %w", err)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating clean work folder: %w", err)
	}

	// Restore the chain.
	if len(w.state.Parts) > 0 {
		c.n = cloneCounters(w.state.Counters)
		for _, p := range w.state.Parts {
			if err := loadDedupPairs(filepath.Join(dir, partName(p.Input), dedupName), c); err != nil {
				return nil, err
			}
		}
		logger.Info("clean: resuming partial run", "dir", dir, "parts_done", len(w.state.Parts), "documents_done", c.n.Counts.In)
	}
	return w, nil
}

func partName(index int) string { return fmt.Sprintf("part-%05d", index) }

const dedupName = "dedup.bin"

// signaturesName is the file name of a part's near-dedup signatures.
const signaturesName = "neardup.parquet"

func (w *work) isDone(index int) bool { return w.done[index] }

// startPart creates an empty temporary folder for part index.
func (w *work) startPart(index int) (string, error) {
	dir := filepath.Join(w.dir, "."+partName(index)+".tmp")
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("removing unfinished part: %w", err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating part folder: %w", err)
	}
	return dir, nil
}

// finishPart writes the part's dedup pairs, renames the part into place
// and records it with the chain's counters in progress.json.
func (w *work) finishPart(index int, shards []corpus.ShardInfo, rejected corpus.ShardInfo, c *chain) error {
	tmp := filepath.Join(w.dir, "."+partName(index)+".tmp")
	if err := writeDedupPairs(filepath.Join(tmp, dedupName), c.newPairs); err != nil {
		return err
	}
	c.newPairs = c.newPairs[:0]
	if err := os.Rename(tmp, filepath.Join(w.dir, partName(index))); err != nil {
		return fmt.Errorf("renaming finished part: %w", err)
	}

	w.state.Parts = append(w.state.Parts, partRecord{Input: index, Shards: shards, Rejected: rejected})
	w.state.Counters = cloneCounters(c.n)
	w.done[index] = true
	if err := w.writeProgress(); err != nil {
		return err
	}
	if afterPartHook != nil {
		afterPartHook(index)
	}
	return nil
}

// writeProgress replaces progress.json through a temporary file.
func (w *work) writeProgress() error {
	data, err := json.Marshal(w.state)
	if err != nil {
		return fmt.Errorf("encoding clean progress: %w", err)
	}
	tmp := filepath.Join(w.dir, "."+progressName+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("writing clean progress: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(w.dir, progressName)); err != nil {
		return fmt.Errorf("writing clean progress: %w", err)
	}
	return nil
}

// nearDecisions are the near-dedup removals of a run.
type nearDecisions struct {
	// byPart maps a part name to its removed documents by row, the row
	// counting the part's kept documents from 0 in output order.
	byPart map[string]map[int64]neardup.Decision
	// removed is the number of removed documents in byPart.
	removed int
	// threshold is the Jaccard threshold in use, for rejection details.
	threshold float64
}

// mergeSignatures clusters the signatures of all finished parts with
// neardup.Merge and returns the removals. cfg is the near-dedup
// configuration of the run.
//
// NOTE: Merge holds every kept document's signature in memory, 8 bytes
// per permutation (about 1 KiB each with the default 128), so a run of ten
// million kept documents needs about 10 GiB here.
func (w *work) mergeSignatures(cfg neardup.Config) (nearDecisions, error) {
	paths := make([]string, 0, len(w.state.Parts))
	for _, p := range w.state.Parts {
		paths = append(paths, filepath.Join(w.dir, partName(p.Input), signaturesName))
	}
	decisions, err := neardup.Merge(paths...)
	if err != nil {
		return nearDecisions{}, fmt.Errorf("merging near-dedup signatures of %d parts: %w; delete %s to start over", len(paths), err, w.dir)
	}

	near := nearDecisions{byPart: map[string]map[int64]neardup.Decision{}, threshold: cfg.Threshold}
	if near.threshold == 0 {
		near.threshold = neardup.DefaultThreshold
	}
	for _, d := range decisions {
		if !d.Removed {
			continue
		}
		if near.byPart[d.Shard] == nil {
			near.byPart[d.Shard] = map[int64]neardup.Decision{}
		}
		near.byPart[d.Shard][d.Row] = d
		near.removed++
	}
	return near, nil
}

// assemble moves the parts' shards into dir under consecutive names, in
// input order, and merges their rejected rows into dir/rejected.parquet.
// The shards of a part with near-dedup removals are rewritten without the
// removed documents, which go to the rejected file, and c's counters are
// updated for them.
func (w *work) assemble(dir string, shardOpts corpus.ShardOptions, near nearDecisions, c *chain) ([]corpus.ShardInfo, corpus.ShardInfo, error) {
	parts := make([]partRecord, len(w.state.Parts))
	copy(parts, w.state.Parts)
	sortParts(parts)

	var shards []corpus.ShardInfo
	rejected, err := corpus.NewRejectedWriter(dir, shardOpts)
	if err != nil {
		return nil, corpus.ShardInfo{}, err
	}
	// An exact duplicate points at its first copy. When near-dedup then
	// removed that copy, it is re-pointed at the near-duplicate cluster's
	// survivor, which is the document the output keeps.
	survivorOf := map[string]string{}
	for _, removals := range near.byPart {
		for _, d := range removals {
			survivorOf[d.ID] = d.Cluster
		}
	}
	moved := 0
	for _, p := range parts {
		partDir := filepath.Join(w.dir, partName(p.Input))
		partShards, srcDir := p.Shards, partDir

		// Rewrite the part's shards without its near-duplicates.
		if removals := near.byPart[partName(p.Input)]; len(removals) > 0 {
			srcDir = filepath.Join(dir, "."+partName(p.Input)+".near")
			partShards, err = rewriteWithoutNear(partDir, srcDir, p.Shards, shardOpts, removals, near.threshold, rejected, c)
			if err != nil {
				rejected.Abort()
				return nil, corpus.ShardInfo{}, err
			}
			moved += len(removals)
		}

		for _, s := range partShards {
			name := fmt.Sprintf("shard-%05d.parquet", len(shards))
			if err := os.Rename(filepath.Join(srcDir, filepath.Base(s.Path)), filepath.Join(dir, name)); err != nil {
				rejected.Abort()
				return nil, corpus.ShardInfo{}, fmt.Errorf("moving part shard into the output: %w", err)
			}
			s.Path = filepath.ToSlash(filepath.Join(shardOpts.RelDir, name))
			shards = append(shards, s)
		}
		if srcDir != partDir {
			if err := os.RemoveAll(srcDir); err != nil {
				rejected.Abort()
				return nil, corpus.ShardInfo{}, fmt.Errorf("removing near-dedup scratch folder: %w", err)
			}
		}
		for row, err := range corpus.ReadRejected(filepath.Join(partDir, corpus.RejectedName)) {
			if survivor, ok := survivorOf[row.DedupCluster]; ok && err == nil && row.Reason == ReasonDuplicateExact {
				row.Detail += fmt.Sprintf("; that copy was then removed as a near-duplicate of kept document %s", survivor)
				row.DedupCluster = survivor
			}
			if err == nil {
				err = rejected.Write(row)
			}
			if err != nil {
				rejected.Abort()
				return nil, corpus.ShardInfo{}, err
			}
		}
	}
	if moved != near.removed {
		rejected.Abort()
		return nil, corpus.ShardInfo{}, fmt.Errorf("near-dedup removed %d documents but the parts of %s name only %d; delete that folder to start over", near.removed, w.dir, moved)
	}
	info, err := rejected.Close()
	return shards, info, err
}

// rewriteWithoutNear copies the documents of the part shards in partDir to
// new shards in scratch, except the rows in removals, which it writes to
// rejected as near-duplicates. It returns the new shards, which stay in
// scratch, and leaves partDir unchanged so a failed assembly can be rerun.
func rewriteWithoutNear(partDir, scratch string, partShards []corpus.ShardInfo, shardOpts corpus.ShardOptions, removals map[int64]neardup.Decision, threshold float64, rejected *corpus.RejectedWriter, c *chain) ([]corpus.ShardInfo, error) {
	if err := os.Mkdir(scratch, 0o755); err != nil {
		return nil, fmt.Errorf("creating near-dedup scratch folder: %w", err)
	}
	paths := make([]string, len(partShards))
	for i, s := range partShards {
		paths[i] = filepath.Join(partDir, filepath.Base(s.Path))
	}

	out := corpus.NewShardWriter(scratch, shardOpts)
	var row int64
	found := 0
	for doc, err := range corpus.ReadShards(paths...) {
		if err != nil {
			out.Abort()
			return nil, err
		}
		d, ok := removals[row]
		row++
		if !ok {
			if err := out.Write(doc); err != nil {
				out.Abort()
				return nil, err
			}
			continue
		}
		if d.ID != doc.ID {
			out.Abort()
			return nil, fmt.Errorf("row %d of the shards in %s has ID %s but its signature file names %s; delete %s to start over", row-1, partDir, doc.ID, d.ID, filepath.Dir(partDir))
		}
		found++

		// Every member of a cluster points at the survivor.
		doc.DedupCluster = d.Cluster
		c.n.RuleCounts[ReasonDuplicateNear]++
		c.n.RuleBytes[ReasonDuplicateNear] += int64(len(doc.Text))
		c.n.Count[countBytesOut] -= int64(len(doc.Text))
		c.n.Count[countTokensOut] -= int64(countTokens(doc.Text))
		detail := fmt.Sprintf("near-duplicate of kept document %s: estimated Jaccard similarity %.2f, threshold %g", d.Cluster, d.Similarity, threshold)
		if err := rejected.Write(corpus.Rejected{Document: doc, Stage: StageName, Reason: ReasonDuplicateNear, Detail: detail}); err != nil {
			out.Abort()
			return nil, err
		}
	}
	if found != len(removals) {
		out.Abort()
		return nil, fmt.Errorf("the shards in %s have %d rows but near-dedup removes rows up to %d; delete %s to start over", partDir, row, maxRow(removals), filepath.Dir(partDir))
	}
	return out.Close()
}

func maxRow(removals map[int64]neardup.Decision) int64 {
	var m int64
	for row := range removals {
		m = max(m, row)
	}
	return m
}

// remove deletes the work folder. Errors are logged, not returned, because
// the output is already complete or the run has already failed.
func (w *work) remove() {
	if err := os.RemoveAll(w.dir); err != nil {
		w.logger.Warn("clean: removing work folder", "dir", w.dir, "err", err)
	}
}

func sortParts(parts []partRecord) {
	for i := 1; i < len(parts); i++ {
		for j := i; j > 0 && parts[j].Input < parts[j-1].Input; j-- {
			parts[j], parts[j-1] = parts[j-1], parts[j]
		}
	}
}

// cloneCounters returns a deep copy of n.
func cloneCounters(n chainCounters) chainCounters {
	out := newChainCounters()
	for k, v := range n.RuleCounts {
		out.RuleCounts[k] = v
	}
	for k, v := range n.RuleBytes {
		out.RuleBytes[k] = v
	}
	for k, v := range n.Redactions {
		out.Redactions[k] = v
	}
	for k, v := range n.Count {
		out.Count[k] = v
	}
	out.Seconds = n.Seconds
	out.Counts = n.Counts
	return out
}

// writeDedupPairs writes pairs as consecutive 64-byte records.
func writeDedupPairs(path string, pairs [][2][sha256.Size]byte) error {
	buf := make([]byte, 0, len(pairs)*2*sha256.Size)
	for _, p := range pairs {
		buf = append(buf, p[0][:]...)
		buf = append(buf, p[1][:]...)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return fmt.Errorf("writing dedup state: %w", err)
	}
	return nil
}

// loadDedupPairs adds the pairs of a dedup.bin file to c's dedup state.
func loadDedupPairs(path string, c *chain) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading dedup state of a finished part: %w; delete the .partial folder to start over", err)
	}
	if len(data)%(2*sha256.Size) != 0 {
		return fmt.Errorf("dedup state %s has %d bytes, not a multiple of %d; delete the .partial folder to start over", path, len(data), 2*sha256.Size)
	}
	for off := 0; off < len(data); off += 2 * sha256.Size {
		var text, id [sha256.Size]byte
		copy(text[:], data[off:])
		copy(id[:], data[off+sha256.Size:])
		c.firstCopy[text] = id
		c.keptIDs[id] = true
	}
	return nil
}

// countBoilerplate runs the first pass over the input shards. Line keys
// are computed on GOMAXPROCS goroutines and counted in input order.
func countBoilerplate(ctx context.Context, cfg Config, paths []string) (*boilerplate, error) {
	b := newBoilerplate(cfg)
	type docKeys struct {
		group string
		keys  []uint64
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	workers := max(1, runtime.GOMAXPROCS(0))
	jobs := make(chan chan docKeys, maxInFlight)
	var readErr error
	go func() {
		defer close(jobs)
		// Each document gets a result channel, queued in input order.
		var wg sync.WaitGroup
		type task struct {
			doc corpus.Document
			out chan docKeys
		}
		tasks := make(chan task, workers)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for t := range tasks {
					t.out <- docKeys{sourceGroup(&t.doc), b.documentKeys(&t.doc, nil)}
				}
			}()
		}
		defer wg.Wait()
		defer close(tasks)
		for doc, err := range corpus.ReadShards(paths...) {
			if err != nil {
				readErr = err
				return
			}
			out := make(chan docKeys, 1)
			select {
			case jobs <- out:
			case <-ctx.Done():
				return
			}
			tasks <- task{doc, out}
		}
	}()

	for out := range jobs {
		r := <-out
		b.countKeys(r.group, r.keys)
	}
	if readErr != nil {
		return nil, readErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("counting boilerplate lines: %w", err)
	}
	b.prune()
	return b, nil
}
