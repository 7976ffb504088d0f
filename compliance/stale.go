package compliance

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/finetune"
)

// checkStale reports a problem for each stage output that was made from
// other data than the current output of the stage before it: the clean
// output against the collect shards (the clean manifest's Inputs), and the
// fine-tuned model against the clean shards (metrics.json's DataShards).
// Outputs that record no inputs are not checked.
//
// NOTE: eval results record the model folder but not its hash, so they are
// not checked against the current model.
func checkStale(s *corpusScanner, opts Options) error {
	collect, err := readManifestIfAny(opts.CollectDir)
	if err != nil {
		return err
	}
	clean, err := readManifestIfAny(opts.CleanDir)
	if err != nil {
		return err
	}

	if collect != nil && clean != nil && len(clean.Inputs) > 0 && !sameHashes(clean.Inputs, collect.Shards) {
		s.problem("clean output is stale: made from a different collect output; re-run adapt clean")
	}

	if clean == nil {
		return nil
	}
	dir := opts.FinetuneDir
	if dir == "" {
		dir = filepath.Join(filepath.Dir(filepath.Clean(opts.CleanDir)), "finetune")
	}
	path := filepath.Join(dir, finetune.MetricsFileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	var metrics finetune.Metrics
	if err := json.Unmarshal(data, &metrics); err != nil {
		s.problem("%s is not valid JSON (%v); re-run adapt finetune", path, err)
		return nil
	}
	if len(metrics.DataShards) > 0 && !sameHashes(metrics.DataShards, clean.Shards) {
		s.problem("finetune output is stale: trained on a different clean output; re-run adapt finetune")
	}
	return nil
}

func readManifestIfAny(dir string) (*corpus.Manifest, error) {
	if dir == "" {
		return nil, nil
	}
	m, err := corpus.ReadManifest(dir)
	if errors.Is(err, corpus.ErrNoManifest) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checking stale outputs: %w", err)
	}
	return m, nil
}

// sameHashes reports whether a and b list the same multiset of SHA-256
// hashes. Paths are not compared, because stages record them relative to
// different folders.
func sameHashes(a, b []corpus.ShardInfo) bool {
	hashes := func(infos []corpus.ShardInfo) []string {
		out := make([]string, len(infos))
		for i, info := range infos {
			out[i] = info.SHA256
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(hashes(a), hashes(b))
}
