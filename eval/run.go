package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/adapt-llm/adapt/finetune"
	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/model/safetensors"
	"github.com/adapt-llm/adapt/tokenizer"

	"github.com/adapt-llm/adapt/internal/atomicfile"
)

// ModelRef names a model folder to evaluate.
type ModelRef struct {
	// Name is the short name used in result files ("base", "tuned").
	Name string `yaml:"name" json:"name"`
	// Dir is a Hugging Face folder with config.json, model.safetensors and
	// tokenizer.json, of an architecture model.Load reads.
	Dir string `yaml:"dir" json:"dir"`
}

// Options configures Run.
type Options struct {
	Models   []ModelRef
	TaskSets []TaskSet
	// OutDir is the stage's output folder (<ws>/eval).
	OutDir string
	Config Config
	// Logger receives progress and diagnostics. Nil discards them.
	Logger *slog.Logger
	// Progress, when set, is called after each scored document with the
	// number of documents done and the total over all models and task sets.
	Progress func(done, total int)
}

// TaskPerplexity is the Result.Task of strided perplexity results.
const TaskPerplexity = "perplexity"

// Run scores every model on every task set with strided perplexity and
// writes one result per pair to <OutDir>/<model>__<task_set>.json, each
// written to a temporary file and renamed. Each document is scored on its
// own (windows never span two documents); Result.Examples holds its NLL and
// scored-token count, and the metrics pool all tokens of the task set.
func Run(ctx context.Context, opts Options) ([]*Result, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.BootstrapSamples == 0 {
		cfg.BootstrapSamples = defaultBootstrapSamples
	}
	if err := checkNames(opts); err != nil {
		return nil, err
	}

	// Load every task set once. An optional set without documents is
	// dropped.
	var docs [][]document
	var taskSets []TaskSet
	total := 0
	for _, ts := range opts.TaskSets {
		d, err := loadTaskSet(ts)
		if err != nil {
			return nil, err
		}
		if len(d) == 0 && ts.Optional {
			logger.Warn("skipping a default task set that has no documents", "task_set", ts.Name, "kind", ts.Kind, "path", ts.Path)
			continue
		}
		if len(d) == 0 {
			return nil, fmt.Errorf("%w: %s (%s %s)", ErrNoDocuments, ts.Name, ts.Kind, ts.Path)
		}
		logger.Info("loaded task set", "task_set", ts.Name, "documents", len(d))
		docs = append(docs, d)
		taskSets = append(taskSets, ts)
		total += len(d) * len(opts.Models)
	}
	if len(taskSets) == 0 && len(opts.TaskSets) > 0 {
		return nil, fmt.Errorf("%w: every task set is empty", ErrNoDocuments)
	}
	opts.TaskSets = taskSets
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating output folder: %w", err)
	}

	// Score each model on each task set.
	var results []*Result
	done := 0
	for _, ref := range opts.Models {
		scorer, err := loadScorer(ref)
		if err != nil {
			return nil, err
		}
		maxLength, stride, err := cfg.windowing(scorer.nPositions)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", ref.Name, err)
		}
		weights, err := safetensors.HashFolder(ref.Dir)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", ref.Name, err)
		}
		for i, ts := range opts.TaskSets {
			res := &Result{
				Model:       ref.Name,
				ModelPath:   ref.Dir,
				ModelSHA256: weights,
				TaskSet:     ts.Name,
				Task:        TaskPerplexity,
				CreatedAt:   time.Now().UTC(),
				Config: map[string]any{
					"context_length":    maxLength,
					"stride":            stride,
					"bootstrap_samples": cfg.BootstrapSamples,
					"seed":              cfg.Seed,
					"prepend_eot":       cfg.PrependEOT,
					"task_set_kind":     ts.Kind,
					"task_set_path":     ts.Path,
				},
			}
			start := time.Now()
			for _, doc := range docs[i] {
				if err := ctx.Err(); err != nil {
					return nil, fmt.Errorf("eval stopped: %w", err)
				}
				ids := scorer.encode(doc.Text, cfg.PrependEOT)
				_, nll, n := StridedNLLBatched(ids, maxLength, stride, windowBatch, scorer.lm.Forward)
				if n > 0 {
					res.Examples = append(res.Examples, Example{ID: doc.ID, Tokens: n, NLL: nll})
				}
				done++
				if opts.Progress != nil {
					opts.Progress(done, total)
				}
			}
			if len(res.Examples) == 0 {
				return nil, fmt.Errorf("%w: no document of %s has two or more tokens", ErrNoDocuments, ts.Name)
			}
			res.ElapsedSeconds = time.Since(start).Seconds()
			res.Metrics = perplexityMetrics(res.Examples)
			if cfg.BootstrapSamples > 0 {
				res.CI95 = bootstrapCI95(res.Examples, cfg.BootstrapSamples, cfg.Seed)
			}
			path := filepath.Join(opts.OutDir, ResultFileName(ref.Name, ts.Name))
			if err := writeResult(path, res); err != nil {
				return nil, err
			}
			logger.Info("scored task set", "model", ref.Name, "task_set", ts.Name,
				"perplexity", res.Metrics["perplexity"], "tokens", res.Metrics["tokens"], "file", path)
			results = append(results, res)
		}
	}
	return results, nil
}

// windowBatch is the number of equal-length windows scored per forward
// pass; 8 windows of a 256-token context are 2048 rows per matrix product.
const windowBatch = 8

// ResultFileName returns the file name of the result for a model and task
// set: "<model>__<task_set>.json".
func ResultFileName(modelName, taskSet string) string {
	return modelName + "__" + taskSet + ".json"
}

// checkNames rejects empty names and names that would make ambiguous or
// unsafe file names.
func checkNames(opts Options) error {
	if len(opts.Models) == 0 || len(opts.TaskSets) == 0 {
		return fmt.Errorf("%w: need at least one model and one task set, got %d and %d", ErrInvalidConfig, len(opts.Models), len(opts.TaskSets))
	}
	check := func(kind, name string) error {
		if name == "" || strings.Contains(name, "__") || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
			return fmt.Errorf("%w: %s name %q must be non-empty, without \"__\" or path separators", ErrInvalidConfig, kind, name)
		}
		return nil
	}
	for _, m := range opts.Models {
		if err := check("model", m.Name); err != nil {
			return err
		}
	}
	for _, ts := range opts.TaskSets {
		if err := check("task set", ts.Name); err != nil {
			return err
		}
	}
	return nil
}

// scorer is a loaded model with its tokenizer.
type scorer struct {
	lm         model.CausalLM
	tok        *tokenizer.Tokenizer
	eot        int32
	hasEOT     bool
	nPositions int
}

func loadScorer(ref ModelRef) (*scorer, error) {
	var cfg struct {
		EOSTokenID json.RawMessage `json:"eos_token_id"`
	}
	path := filepath.Join(ref.Dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: model %s: %w; the folder must hold config.json, model.safetensors and tokenizer.json", ErrBadModel, ref.Name, err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%w: parsing %s: %w", ErrBadModel, path, err)
	}
	tok, err := tokenizer.LoadDir(ref.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w: model %s: %w", ErrBadModel, ref.Name, err)
	}
	lm, err := model.Load(ref.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w: model %s: %w", ErrBadModel, ref.Name, err)
	}
	s := &scorer{lm: lm, tok: tok, nPositions: lm.MaxPositions()}
	if id, ok := finetune.EOSTokenID(cfg.EOSTokenID); ok {
		s.eot, s.hasEOT = id, true
	} else {
		s.eot, s.hasEOT = tok.TokenToID("<|endoftext|>")
	}
	return s, nil
}

// encode tokenizes text, with the end-of-text token first when prepend is
// set and the model has one.
func (s *scorer) encode(text string, prepend bool) []int32 {
	ids := s.tok.EncodeWithOptions(text, finetune.DocumentEncoding)
	if prepend && s.hasEOT {
		ids = append([]int32{s.eot}, ids...)
	}
	return ids
}

func writeResult(path string, res *Result) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
