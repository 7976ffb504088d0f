package clean

import (
	"context"
	"runtime"
	"sync"

	"github.com/adapt-llm/adapt/corpus"
)

// The documents of one input shard are prepared (every rule but exact
// dedup) on GOMAXPROCS worker goroutines, each with a chain of its own.
// They are finished (exact dedup, writing) in input order on the calling
// goroutine, so the output is the same as that of a sequential run. At most maxInFlight
// documents are between the reader and the writer at any time, which
// bounds memory.

// maxInFlight is the number of documents read but not yet finished.
const maxInFlight = 512

// newWorker returns a chain that prepares documents for c: it shares c's
// configuration and read-only state (boilerplate lines, terminology) but
// has its own language detector, quality meter and counters.
func (c *chain) newWorker() *chain {
	w := &chain{
		cfg:     c.cfg,
		keep:    c.keep,
		quality: newQualityMeter(),
		boiler:  c.boiler,
		terms:   c.terms,
		near:    c.near,
		n:       newChainCounters(),
	}
	if c.detector != nil {
		w.detector = newLanguageDetector(c.cfg.Languages)
	}
	return w
}

// mergeCounters adds the counters of w into c and resets w's.
func (c *chain) mergeCounters(w *chain) {
	for k, v := range w.n.RuleCounts {
		c.n.RuleCounts[k] += v
	}
	for k, v := range w.n.RuleBytes {
		c.n.RuleBytes[k] += v
	}
	for k, v := range w.n.Redactions {
		c.n.Redactions[k] += v
	}
	for k, v := range w.n.Count {
		c.n.Count[k] += v
	}
	for i, v := range w.n.Seconds {
		c.n.Seconds[i] += v
	}
	w.n = newChainCounters()
}

type preparedDoc struct {
	seq int
	st  staged
}

// prepareParallel reads the documents of the shard at path, prepares them
// on the workers of c and calls finish with each in input order. It stops
// at the first error of reading, ctx or finish and returns it.
func (c *chain) prepareParallel(ctx context.Context, path string, finish func(staged) error) error {
	if len(c.workers) == 0 {
		for range max(1, runtime.GOMAXPROCS(0)) {
			c.workers = append(c.workers, c.newWorker())
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type job struct {
		seq int
		doc corpus.Document
	}
	jobs := make(chan job, len(c.workers))
	results := make(chan preparedDoc, len(c.workers))
	tokens := make(chan struct{}, maxInFlight)
	var readErr error

	// Reader.
	go func() {
		defer close(jobs)
		seq := 0
		for doc, err := range corpus.ReadShards(path) {
			if err != nil {
				readErr = err
				return
			}
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{seq, doc}:
			case <-ctx.Done():
				return
			}
			seq++
		}
	}()

	// Workers.
	var wg sync.WaitGroup
	for _, w := range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				results <- preparedDoc{j.seq, w.prepare(j.doc)}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	// Finish in input order. After an error, keep draining so every
	// goroutine ends.
	var err error
	pending := map[int]staged{}
	next := 0
	for r := range results {
		if err != nil {
			continue
		}
		pending[r.seq] = r.st
		for {
			st, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-tokens
			if err = finish(st); err != nil {
				cancel()
				break
			}
		}
	}
	for _, w := range c.workers {
		c.mergeCounters(w)
	}
	if err != nil {
		return err
	}
	if readErr != nil {
		return readErr
	}
	return ctx.Err()
}
