package finetune

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/model/safetensors"
	"github.com/adapt-llm/adapt/tokenizer"
)

// Options configures Run.
type Options struct {
	// DataDir is the clean stage's output folder (<ws>/clean) with the
	// document shards.
	DataDir string
	// BaseModel is a Hugging Face folder with config.json,
	// model.safetensors and tokenizer.json, of an architecture model.Load
	// reads (GPT-2, Llama, Mistral, Qwen2).
	BaseModel string
	// OutDir is the stage's output folder (<ws>/finetune).
	OutDir string
	Config Config
	// Logger receives progress and diagnostics. Nil discards them.
	Logger *slog.Logger
	// Progress, when set, is called after each optimizer step with the
	// number of steps done and the total.
	Progress func(step, total int)
	// ToolVersion is recorded in metrics.json.
	ToolVersion string
}

// Files and folders that Run writes under OutDir.
const (
	ModelDirName      = "model"
	MetricsFileName   = "metrics.json"
	CheckpointDirName = "checkpoints"
)

// Run fine-tunes the base model on the documents in DataDir and writes
// OutDir/model (a Hugging Face folder) and OutDir/metrics.json. Documents
// for which corpus.HeldOut(id, ValFraction) is true form the validation
// split, the others the training split. Each split is tokenized with the
// base model's tokenizer and packed with the end-of-text token between
// documents. Checkpoints go to OutDir/checkpoints, and a rerun with the same
// data, base model and settings resumes from the newest one. A run that
// completes removes its checkpoints unless KeepCheckpointsAfterSuccess is
// set, and checkpoints left by a completed run (recognised by the
// fingerprint in metrics.json, or for older runs by metrics.json being
// newer) do not block a new one.
// A LoRA run also writes OutDir/adapter; a full run removes an adapter left
// there by an earlier LoRA run once its own model is written, because that
// adapter no longer matches OutDir/model.
func Run(ctx context.Context, opts Options) (*Metrics, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	// Load the base model and its tokenizer.
	base, err := readBaseConfig(opts.BaseModel)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.LoadDir(opts.BaseModel)
	if err != nil {
		return nil, fmt.Errorf("%w: loading tokenizer of %s: %w", ErrBadBaseModel, opts.BaseModel, err)
	}
	eot, err := endOfTextID(base, tok)
	if err != nil {
		return nil, err
	}
	lm, err := model.Load(opts.BaseModel)
	if err != nil {
		return nil, fmt.Errorf("%w: loading %s: %w", ErrBadBaseModel, opts.BaseModel, err)
	}
	positions := lm.MaxPositions()
	if cfg.SeqLen == 0 {
		cfg.SeqLen = positions
	}
	if cfg.SeqLen > positions {
		return nil, fmt.Errorf("%w: seq_len is %d, but the base model has %d positions (%s)",
			ErrInvalidConfig, cfg.SeqLen, positions, filepath.Join(opts.BaseModel, "config.json"))
	}

	// Read, split, tokenize and pack the documents.
	train, val, docCounts, err := loadSplits(opts.DataDir, tok, eot, cfg)
	if err != nil {
		return nil, err
	}
	dataManifest, _ := corpus.ReadManifest(opts.DataDir) // nil without one
	logger.Info("packed data", "train_docs", docCounts[0], "val_docs", docCounts[1],
		"train_tokens", train.Tokens, "val_tokens", val.Tokens, "train_sequences", train.Len(), "seq_len", cfg.SeqLen)
	var replay *Packed
	if cfg.Replay.Fraction > 0 {
		if replay, err = loadReplay(cfg.Replay.Path, tok, eot, cfg.SeqLen); err != nil {
			return nil, err
		}
		logger.Info("packed replay data", "path", cfg.Replay.Path, "tokens", replay.Tokens, "sequences", replay.Len(), "fraction", cfg.Replay.Fraction)
	}

	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating output folder: %w", err)
	}
	fingerprint, err := runFingerprint(opts.BaseModel, cfg, train, replay)
	if err != nil {
		return nil, err
	}
	checkpointDir := filepath.Join(opts.OutDir, CheckpointDirName)
	if err := clearCompletedCheckpoints(opts.OutDir, fingerprint, logger); err != nil {
		return nil, err
	}
	adapter, err := attachLoRA(lm, cfg, checkpointDir, logger)
	if err != nil {
		return nil, err
	}

	// Train.
	started := time.Now().UTC()
	params := ParamTensors(lm.Parameters())
	res, err := Train(ctx, lm, TrainOptions{
		Config:        cfg,
		Params:        params,
		Train:         train,
		Val:           val,
		Replay:        replay,
		CheckpointDir: checkpointDir,
		Fingerprint:   fingerprint,
		Logger:        logger,
		Progress:      opts.Progress,
	})
	if err != nil {
		return nil, err
	}

	// Export the model and the metrics.
	modelDir := filepath.Join(opts.OutDir, ModelDirName)
	err = SaveModelFolder(modelDir, func(dir string) error {
		if err := lm.Save(dir); err != nil {
			return err
		}
		return copyTokenizerFiles(opts.BaseModel, dir, tok, eot, positions)
	})
	if err != nil {
		return nil, err
	}
	if err := writeOrRemoveAdapter(adapter, opts.OutDir, opts.BaseModel); err != nil {
		return nil, err
	}
	metrics := &Metrics{
		BaseModel:        absPath(opts.BaseModel),
		OutputDir:        modelDir,
		StartedAt:        started,
		ElapsedSeconds:   res.Elapsed.Seconds(),
		Steps:            res.Steps,
		StopReason:       res.StopReason,
		PlannedSteps:     res.PlannedSteps,
		EpochsDone:       res.EpochsDone,
		TokensPerStep:    res.TokensPerStep,
		TokensSeen:       res.TokensSeen,
		TrainTokens:      scoredTokens(train.Targets),
		ValTokens:        scoredTokens(val.Targets),
		ValTokensPerPass: res.ValTokensPerPass,
		Fingerprint:      fingerprint,
		Train:            res.Train,
		Val:              res.Val,
		Config:           configMap(cfg, opts.ToolVersion),
	}
	if replay != nil {
		metrics.ReplayTokens = replay.Tokens
	}
	if dataManifest != nil {
		metrics.DataShards = dataManifest.Shards
	}
	if err := writeJSON(filepath.Join(opts.OutDir, MetricsFileName), metrics); err != nil {
		return nil, fmt.Errorf("writing %s: %w", MetricsFileName, err)
	}
	if !cfg.KeepCheckpointsAfterSuccess {
		if err := os.RemoveAll(checkpointDir); err != nil {
			return nil, fmt.Errorf("removing checkpoints of the finished run: %w", err)
		}
	}
	logger.Info("finished fine-tuning", "model", modelDir, "steps", res.Steps, "epochs", res.EpochsDone,
		"tokens_seen", res.TokensSeen, "elapsed_s", res.Elapsed.Seconds())
	return metrics, nil
}

// ParamTensors returns optimizer views of a model's parameters; the views
// share the parameters' Data and Grad slices.
func ParamTensors(params []*model.Param) []Tensor {
	out := make([]Tensor, len(params))
	for i, p := range params {
		out[i] = Tensor{Name: p.Name, Shape: p.Shape, Data: p.Data, Grad: p.Grad}
	}
	return out
}

// baseConfig holds the fields of a Hugging Face config.json that Run
// reads itself; model.Load reads the rest.
type baseConfig struct {
	// EOSTokenID is an id, a list of ids (Llama 3) or absent.
	EOSTokenID json.RawMessage `json:"eos_token_id"`
}

func readBaseConfig(dir string) (*baseConfig, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s not found; the base model must be a Hugging Face folder with config.json, model.safetensors and tokenizer.json",
			ErrBadBaseModel, path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading base model config: %w", err)
	}
	var cfg baseConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%w: parsing %s: %w", ErrBadBaseModel, path, err)
	}
	return &cfg, nil
}

// EOSTokenID returns the end-of-sequence id that a Hugging Face config.json
// value of eos_token_id names: the number itself, or the first of a list.
// ok is false when raw is absent, null or neither form.
func EOSTokenID(raw json.RawMessage) (id int32, ok bool) {
	var single int32
	if err := json.Unmarshal(raw, &single); err == nil && len(raw) > 0 && string(raw) != "null" {
		return single, true
	}
	var list []int32
	if err := json.Unmarshal(raw, &list); err == nil && len(list) > 0 {
		return list[0], true
	}
	return 0, false
}

// DocumentEncoding is the tokenizer setting training and eval use for a
// document. It skips the post-processor's special tokens, because packing
// adds the end-of-text token itself, and encodes special-token text inside
// a document as ordinary text, so a document cannot forge a boundary.
var DocumentEncoding = tokenizer.EncodeOptions{AddSpecialTokens: false, SplitSpecialTokens: true}

// endOfTextToken is GPT-2's document separator.
const endOfTextToken = "<|endoftext|>"

// endOfTextID returns the id of the token placed between packed documents:
// eos_token_id from config.json, else the id of "<|endoftext|>".
func endOfTextID(cfg *baseConfig, tok *tokenizer.Tokenizer) (int32, error) {
	if id, ok := EOSTokenID(cfg.EOSTokenID); ok {
		return id, nil
	}
	if id, ok := tok.TokenToID(endOfTextToken); ok {
		return id, nil
	}
	return 0, fmt.Errorf("%w: config.json has no eos_token_id and the tokenizer has no %q token", ErrBadBaseModel, endOfTextToken)
}

// loadSplits reads every document shard in dir and returns the packed
// training and validation splits and their document counts.
func loadSplits(dir string, tok *tokenizer.Tokenizer, eot int32, cfg Config) (train, val *Packed, docs [2]int, err error) {
	paths, err := corpus.ListShards(dir)
	if err != nil {
		return nil, nil, docs, fmt.Errorf("listing data shards: %w", err)
	}
	if len(paths) == 0 {
		return nil, nil, docs, fmt.Errorf("%w: %s has no document shards; run the clean stage first or point to its output folder", ErrNoData, dir)
	}

	trainPack, valPack := NewPacker(cfg.SeqLen, eot), NewPacker(cfg.SeqLen, eot)
	for doc, err := range corpus.ReadShards(paths...) {
		if err != nil {
			return nil, nil, docs, fmt.Errorf("reading data shards: %w", err)
		}
		ids := tok.EncodeWithOptions(doc.Text, DocumentEncoding)
		if corpus.HeldOut(doc.ID, cfg.ValFraction) {
			valPack.Add(ids)
			docs[1]++
		} else {
			trainPack.Add(ids)
			docs[0]++
		}
	}
	train, val = trainPack.Finish(), valPack.Finish()
	if train.Len() == 0 {
		return nil, nil, docs, fmt.Errorf("%w: %s has %d training documents with %d tokens, too few for one sequence", ErrNoData, dir, docs[0], train.Tokens)
	}
	return train, val, docs, nil
}

// runFingerprint hashes what determines the training trajectory: the base
// model's weights (model.safetensors, or the index and its shards), the
// settings that affect the weights and the packed training and replay data.
func runFingerprint(baseDir string, cfg Config, train, replay *Packed) (string, error) {
	h := sha256.New()
	weights, err := safetensors.HashFolder(baseDir)
	if err != nil {
		return "", fmt.Errorf("fingerprinting base model: %w", err)
	}
	h.Write([]byte(weights))

	// Evaluation and checkpoint settings do not change the weights.
	cfg.EvalEvery, cfg.EvalBatches, cfg.CheckpointEvery, cfg.KeepCheckpoints = 0, 0, 0, 0
	cfg.KeepCheckpointsAfterSuccess = false
	js, _ := json.Marshal(cfg)
	h.Write(js)

	buf := make([]byte, 4)
	for _, id := range train.Inputs {
		binary.LittleEndian.PutUint32(buf, uint32(id))
		h.Write(buf)
	}
	if replay != nil {
		for _, id := range replay.Inputs {
			binary.LittleEndian.PutUint32(buf, uint32(id))
			h.Write(buf)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func configMap(cfg Config, toolVersion string) map[string]any {
	js, _ := json.Marshal(cfg)
	var out map[string]any
	json.Unmarshal(js, &out)
	if toolVersion != "" {
		out["tool_version"] = toolVersion
	}
	return out
}

// clearCompletedCheckpoints removes outDir/checkpoints when it belongs to a
// run that completed, so that a rerun with other settings starts fresh
// instead of failing with ErrCheckpointMismatch. A run completed when
// metrics.json records the fingerprint of the newest checkpoint, or, for
// metrics.json files written without a fingerprint, when metrics.json is
// newer than that checkpoint. Checkpoints of the current fingerprint stay,
// as do those of an interrupted run, so Train resumes from the first and
// reports ErrCheckpointMismatch for the second.
func clearCompletedCheckpoints(outDir, fingerprint string, logger *slog.Logger) error {
	dir := filepath.Join(outDir, CheckpointDirName)
	steps, err := listCheckpoints(dir)
	if err != nil || len(steps) == 0 {
		return err
	}
	statePath := filepath.Join(dir, fmt.Sprintf("%s%08d", checkpointPrefix, steps[len(steps)-1]), stateFile)
	var state checkpointState
	data, err := os.ReadFile(statePath)
	if err != nil {
		return fmt.Errorf("reading checkpoint: %w", err)
	}
	if err := json.Unmarshal(data, &state); err != nil || state.Fingerprint == fingerprint {
		return nil // Train reports the corrupt file or resumes
	}

	metricsPath := filepath.Join(outDir, MetricsFileName)
	data, err = os.ReadFile(metricsPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", metricsPath, err)
	}
	var prev Metrics
	if err := json.Unmarshal(data, &prev); err != nil {
		return nil
	}
	completed := prev.Fingerprint == state.Fingerprint
	if prev.Fingerprint == "" {
		mInfo, err1 := os.Stat(metricsPath)
		cInfo, err2 := os.Stat(statePath)
		completed = err1 == nil && err2 == nil && !mInfo.ModTime().Before(cInfo.ModTime())
	}
	if !completed {
		return nil
	}
	logger.Info("removing checkpoints of a completed earlier run with other settings", "dir", dir, "step", state.Step)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing checkpoints of a completed run: %w", err)
	}
	return nil
}

// absPath returns path made absolute, so that metrics.json names the base
// model folder however the reader's working folder differs. It returns
// path unchanged when the current folder cannot be read.
func absPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	return abs
}
