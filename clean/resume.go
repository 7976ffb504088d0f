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

	"github.com/adapt-llm/adapt/corpus"
)

// A run keeps its work in the folder .<out>.partial beside the output:
//
//	progress.json          which input shards are done, and the chain's
//	                       counters after the last of them
//	part-00003/            the output of input shard 3: shard-NNNNN.parquet,
//	                       rejected.parquet, and dedup.bin
//
// A part is written under .part-NNNNN.tmp and renamed when complete, and
// progress.json is replaced after the rename, so after a kill every part
// named in progress.json is whole. dedup.bin holds the exact-dedup pairs
// (SHA-256 of the text before redaction, output ID) that the part added:
// the output shards carry only the redacted text, from which the first
// hash cannot be rebuilt.

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

// assemble moves the parts' shards into dir under consecutive names, in
// input order, and merges their rejected rows into dir/rejected.parquet.
func (w *work) assemble(dir string, shardOpts corpus.ShardOptions) ([]corpus.ShardInfo, corpus.ShardInfo, error) {
	parts := make([]partRecord, len(w.state.Parts))
	copy(parts, w.state.Parts)
	sortParts(parts)

	var shards []corpus.ShardInfo
	rejected, err := corpus.NewRejectedWriter(dir, shardOpts)
	if err != nil {
		return nil, corpus.ShardInfo{}, err
	}
	for _, p := range parts {
		partDir := filepath.Join(w.dir, partName(p.Input))
		for _, s := range p.Shards {
			name := fmt.Sprintf("shard-%05d.parquet", len(shards))
			if err := os.Rename(filepath.Join(partDir, filepath.Base(s.Path)), filepath.Join(dir, name)); err != nil {
				rejected.Abort()
				return nil, corpus.ShardInfo{}, fmt.Errorf("moving part shard into the output: %w", err)
			}
			s.Path = filepath.ToSlash(filepath.Join(shardOpts.RelDir, name))
			shards = append(shards, s)
		}
		for row, err := range corpus.ReadRejected(filepath.Join(partDir, corpus.RejectedName)) {
			if err == nil {
				err = rejected.Write(row)
			}
			if err != nil {
				rejected.Abort()
				return nil, corpus.ShardInfo{}, err
			}
		}
	}
	info, err := rejected.Close()
	return shards, info, err
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
