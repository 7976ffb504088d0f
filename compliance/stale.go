package compliance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
	"github.com/adapt-llm/adapt/model/safetensors"
)

// checkStale reports a problem for each stage output that was made from
// other data than the current output of the stage before it. It checks
// the clean output against the collect shards (the clean manifest's
// Inputs), and the fine-tuned model against the clean shards
// (metrics.json's DataShards).
// Outputs that record no inputs are not checked. Eval results are checked
// by checkStaleEval.
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

	if err := checkStaleEval(s, opts); err != nil {
		return err
	}

	if clean == nil {
		return nil
	}
	path := filepath.Join(finetuneDir(opts), finetune.MetricsFileName)
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

// finetuneDir returns opts.FinetuneDir, or the folder "finetune" next to
// CleanDir (or CollectDir when CleanDir is empty) when it is empty.
func finetuneDir(opts Options) string {
	if opts.FinetuneDir != "" {
		return opts.FinetuneDir
	}
	stageDir := opts.CleanDir
	if stageDir == "" {
		stageDir = opts.CollectDir
	}
	return filepath.Join(filepath.Dir(filepath.Clean(stageDir)), "finetune")
}

// tunedModelName is the model name eval gives the fine-tuned model in its
// result files (<model>__<task_set>.json).
const tunedModelName = "tuned"

// checkStaleEval reports a problem when an eval result for the tuned model
// records a weights hash (eval.Result.ModelSHA256) other than the current
// hash of the finetune output's model folder. Results without a hash, and
// workspaces without eval results or a fine-tuned model, are not checked.
//
// NOTE: results for other models, such as "base", are not checked, because
// their ModelPath may be relative to the folder eval ran in.
func checkStaleEval(s *corpusScanner, opts Options) error {
	evalDir := opts.EvalDir
	if evalDir == "" {
		evalDir = filepath.Join(filepath.Dir(filepath.Clean(finetuneDir(opts))), "eval")
	}
	paths, err := filepath.Glob(filepath.Join(evalDir, tunedModelName+"__*.json"))
	if err != nil {
		return fmt.Errorf("listing eval results in %s: %w", evalDir, err)
	}
	if len(paths) == 0 {
		return nil
	}
	slices.Sort(paths)

	modelDir := filepath.Join(finetuneDir(opts), finetune.ModelDirName)
	current, err := safetensors.HashFolder(modelDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking stale eval results: %w", err)
	}

	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		var result eval.Result
		if err := json.Unmarshal(data, &result); err != nil {
			s.problem("%s is not valid JSON (%v); re-run adapt eval", path, err)
			continue
		}
		if result.ModelSHA256 != "" && result.ModelSHA256 != current {
			s.problem("eval results are stale: scored a different model; re-run adapt eval")
			return nil
		}
	}
	return nil
}
