package finetune

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/model/safetensors"
)

// byteLevelTokenizerJSON returns a GPT-2 style tokenizer.json with one token
// per byte (ids 0-255, in GPT-2's byte-to-character mapping), no merges and
// "<|endoftext|>" as id 256.
func byteLevelTokenizerJSON() []byte {
	var printable []int
	for b := '!'; b <= '~'; b++ {
		printable = append(printable, int(b))
	}
	for b := 0xA1; b <= 0xAC; b++ {
		printable = append(printable, b)
	}
	for b := 0xAE; b <= 0xFF; b++ {
		printable = append(printable, b)
	}
	isPrintable := map[int]bool{}
	for _, b := range printable {
		isPrintable[b] = true
	}
	vocab := map[string]int{}
	next := 256
	for b := range 256 {
		r := rune(b)
		if !isPrintable[b] {
			r = rune(next)
			next++
		}
		vocab[string(r)] = b
	}
	byteLevel := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
	file := map[string]any{
		"version":    "1.0",
		"truncation": nil,
		"padding":    nil,
		"added_tokens": []any{map[string]any{"id": 256, "content": "<|endoftext|>", "single_word": false,
			"lstrip": false, "rstrip": false, "normalized": true, "special": true}},
		"normalizer":     nil,
		"pre_tokenizer":  byteLevel,
		"post_processor": nil,
		"decoder":        byteLevel,
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "",
			"end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "vocab": vocab, "merges": []any{}},
	}
	data, err := json.Marshal(file)
	if err != nil {
		panic(err)
	}
	return data
}

// writeTinyBaseModel writes a one-layer GPT-2 with a byte-level tokenizer
// to dir.
func writeTinyBaseModel(t *testing.T, dir string) {
	t.Helper()
	m := model.NewGPT2(model.GPT2Config{VocabSize: 257, NPositions: 32, NEmbd: 16, NLayer: 1, NHead: 2, BOSTokenID: 256, EOSTokenID: 256}, 5)
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), byteLevelTokenizerJSON(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeTinyCorpus writes n short documents as one clean shard in dir.
func writeTinyCorpus(t *testing.T, dir string, n int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := corpus.NewShardWriter(dir, corpus.ShardOptions{})
	for i := range n {
		text := fmt.Sprintf("the court held that clause %d applies. ", i%4) + strings.Repeat("abc ", 3+i%5)
		if err := w.Write(corpus.Document{ID: corpus.HashText(text + fmt.Sprint(i)), Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func tinyRunConfig() Config {
	cfg := DefaultConfig()
	cfg.SeqLen = 16
	cfg.BatchSize = 4
	cfg.MaxSteps = 12
	cfg.Epochs = 0
	cfg.LearningRate = 1e-2
	cfg.WarmupSteps = 2
	cfg.EvalEvery = 4
	cfg.EvalBatches = 2
	cfg.ValFraction = 0.2
	cfg.CheckpointEvery = 5
	return cfg
}

func TestRunWritesModelAndMetrics(t *testing.T) {
	root := t.TempDir()
	base, data, out := filepath.Join(root, "base"), filepath.Join(root, "clean"), filepath.Join(root, "finetune")
	writeTinyBaseModel(t, base)
	writeTinyCorpus(t, data, 40)

	metrics, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: out, Config: tinyRunConfig(), ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if metrics.Steps != 12 || len(metrics.Train) != 12 {
		t.Errorf("steps: got %d with %d train points, want 12 and 12", metrics.Steps, len(metrics.Train))
	}
	if len(metrics.Val) != 3 {
		t.Errorf("validation points: got %d, want 3 (steps 4, 8, 12)", len(metrics.Val))
	}
	if first, last := metrics.Val[0].Loss, metrics.Val[len(metrics.Val)-1].Loss; !(last < first) {
		t.Errorf("validation loss went from %.4f to %.4f, want lower", first, last)
	}
	if metrics.TrainTokens == 0 || metrics.ValTokens == 0 {
		t.Errorf("split sizes: got %d train and %d val tokens, want both > 0", metrics.TrainTokens, metrics.ValTokens)
	}
	for _, name := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"} {
		if _, err := os.Stat(filepath.Join(out, ModelDirName, name)); err != nil {
			t.Errorf("model folder lacks %s: %v", name, err)
		}
	}
	if _, err := model.LoadGPT2(filepath.Join(out, ModelDirName)); err != nil {
		t.Errorf("reloading the fine-tuned model: %v", err)
	}
	var onDisk Metrics
	raw, err := os.ReadFile(filepath.Join(out, MetricsFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &onDisk); err != nil {
		t.Fatal(err)
	}
	if onDisk.Steps != 12 || onDisk.Config["tool_version"] != "test" {
		t.Errorf("metrics.json: got steps %d, tool_version %v, want 12 and test", onDisk.Steps, onDisk.Config["tool_version"])
	}
}

func TestRunResumeMatchesUninterrupted(t *testing.T) {
	root := t.TempDir()
	base, data := filepath.Join(root, "base"), filepath.Join(root, "clean")
	writeTinyBaseModel(t, base)
	writeTinyCorpus(t, data, 40)
	cfg := tinyRunConfig()

	whole := filepath.Join(root, "whole")
	if _, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: whole, Config: cfg}); err != nil {
		t.Fatal(err)
	}

	// Interrupt after step 7, so the run resumes from the checkpoint written
	// on interruption.
	resumed := filepath.Join(root, "resumed")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Run(ctx, Options{DataDir: data, BaseModel: base, OutDir: resumed, Config: cfg, Progress: func(step, _ int) {
		if step == 7 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: got error %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(resumed, ModelDirName)); !os.IsNotExist(err) {
		t.Errorf("interrupted run left a model folder (stat error %v)", err)
	}
	metrics, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: resumed, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if len(metrics.Train) != 12 {
		t.Errorf("train points after resume: got %d, want 12", len(metrics.Train))
	}

	want, err := os.ReadFile(filepath.Join(whole, ModelDirName, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(resumed, ModelDirName, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("weights after resume differ from the uninterrupted run")
	}
}

func TestRunRejectsBadInputs(t *testing.T) {
	root := t.TempDir()
	base := filepath.Join(root, "base")
	writeTinyBaseModel(t, base)
	data := filepath.Join(root, "clean")
	writeTinyCorpus(t, data, 10)
	empty := filepath.Join(root, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	noConfig := filepath.Join(root, "noconfig")
	if err := os.MkdirAll(noConfig, 0o755); err != nil {
		t.Fatal(err)
	}
	badConfig := tinyRunConfig()
	badConfig.LearningRate = 0

	cases := []struct {
		name      string
		opts      Options
		want      error
		wantInMsg string
	}{
		{"empty data folder", Options{DataDir: empty, BaseModel: base}, ErrNoData, empty},
		{"base without config", Options{DataDir: data, BaseModel: noConfig}, ErrBadBaseModel, filepath.Join(noConfig, "config.json")},
		{"invalid config", Options{DataDir: data, BaseModel: base, Config: badConfig}, ErrInvalidConfig, "learning_rate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.OutDir = filepath.Join(root, "out")
			if tc.opts.Config == (Config{}) {
				tc.opts.Config = tinyRunConfig()
			}
			_, err := Run(context.Background(), tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.wantInMsg) {
				t.Errorf("error %q does not name %q", err, tc.wantInMsg)
			}
		})
	}
}

func TestRunRemovesCheckpointsAfterSuccess(t *testing.T) {
	root := t.TempDir()
	base, data, out := filepath.Join(root, "base"), filepath.Join(root, "clean"), filepath.Join(root, "finetune")
	writeTinyBaseModel(t, base)
	writeTinyCorpus(t, data, 40)

	if _, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: out, Config: tinyRunConfig()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, CheckpointDirName)); !os.IsNotExist(err) {
		t.Errorf("checkpoints after a completed run: stat error %v, want not exist", err)
	}

	kept := tinyRunConfig()
	kept.KeepCheckpointsAfterSuccess = true
	if _, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: out, Config: kept}); err != nil {
		t.Fatal(err)
	}
	if steps, _ := listCheckpoints(filepath.Join(out, CheckpointDirName)); len(steps) == 0 {
		t.Errorf("checkpoints with keep_checkpoints_after_success: got none, want some")
	}
}

func TestRunAfterCompletedRunWithOtherSettings(t *testing.T) {
	root := t.TempDir()
	base, data, out := filepath.Join(root, "base"), filepath.Join(root, "clean"), filepath.Join(root, "finetune")
	writeTinyBaseModel(t, base)
	writeTinyCorpus(t, data, 40)
	first := tinyRunConfig()
	first.KeepCheckpointsAfterSuccess = true // as runs before checkpoint removal left them
	if _, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: out, Config: first}); err != nil {
		t.Fatal(err)
	}

	second := tinyRunConfig()
	second.LearningRate = 2e-2
	metrics, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: out, Config: second})
	if err != nil {
		t.Fatalf("rerun with other settings after a completed run: %v", err)
	}
	if metrics.Steps != 12 {
		t.Errorf("steps: got %d, want 12", metrics.Steps)
	}
}

func TestRunAfterInterruptedRunWithOtherSettings(t *testing.T) {
	root := t.TempDir()
	base, data, out := filepath.Join(root, "base"), filepath.Join(root, "clean"), filepath.Join(root, "finetune")
	writeTinyBaseModel(t, base)
	writeTinyCorpus(t, data, 40)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Run(ctx, Options{DataDir: data, BaseModel: base, OutDir: out, Config: tinyRunConfig(), Progress: func(step, _ int) {
		if step == 7 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: got error %v, want context.Canceled", err)
	}

	other := tinyRunConfig()
	other.LearningRate = 2e-2
	_, err = Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: out, Config: other})
	if !errors.Is(err, ErrCheckpointMismatch) {
		t.Errorf("got error %v, want ErrCheckpointMismatch", err)
	}
}

func TestRunMetricsRecordRealCounts(t *testing.T) {
	root := t.TempDir()
	base, data, out := filepath.Join(root, "base"), filepath.Join(root, "clean"), filepath.Join(root, "finetune")
	writeTinyBaseModel(t, base)
	writeTinyCorpus(t, data, 4)
	cfg := tinyRunConfig()
	cfg.Epochs = 1
	cfg.MaxSteps = 40
	cfg.CheckpointEvery = 0
	metrics, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: out, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if metrics.Steps != 40 {
		t.Errorf("steps: got %d, want 40", metrics.Steps)
	}
	if !(metrics.EpochsDone > 1) {
		t.Errorf("epochs_done: got %v, want > 1", metrics.EpochsDone)
	}
	if metrics.ValTokens >= int64(metrics.TokensPerStep) || metrics.ValTokens == 0 {
		t.Errorf("val_tokens: got %d, want real count in (0, %d)", metrics.ValTokens, metrics.TokensPerStep)
	}
	if metrics.TokensSeen == 0 || metrics.TokensSeen > int64(40*metrics.TokensPerStep) {
		t.Errorf("tokens_seen: got %d, want in (0, %d]", metrics.TokensSeen, 40*metrics.TokensPerStep)
	}
}

func TestCheckpointFolderMode(t *testing.T) {
	dir := t.TempDir()
	m := newBigramModel(8)
	opt := NewAdamW(m.params(), 0.9, 0.95, 1e-8, 0)
	if err := saveCheckpoint(dir, checkpointState{Step: 1}, m.params(), opt, 2); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "step-00000001"))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got&0o555 != 0o555 {
		t.Errorf("checkpoint folder mode: got %v, want 0755", got)
	}
}

func TestRunFingerprintShardedBase(t *testing.T) {
	tensors := func(last float32) []safetensors.Tensor {
		return []safetensors.Tensor{
			safetensors.FromFloat32("a", []int{3}, []float32{1, 2, 3}),
			safetensors.FromFloat32("b", []int{2}, []float32{4, last}),
		}
	}
	single, sharded, changed := t.TempDir(), t.TempDir(), t.TempDir()
	if _, err := safetensors.WriteFolder(single, tensors(5), nil, 0); err != nil {
		t.Fatal(err)
	}
	// A 12-byte shard limit splits the two tensors into two shards.
	if _, err := safetensors.WriteFolder(sharded, tensors(5), nil, 12); err != nil {
		t.Fatal(err)
	}
	if _, err := safetensors.WriteFolder(changed, tensors(6), nil, 12); err != nil {
		t.Fatal(err)
	}
	train := &Packed{SeqLen: 2, Inputs: []int32{1, 2}, Targets: []int32{2, 3}}

	if _, err := runFingerprint(single, Config{}, train, nil); err != nil {
		t.Fatalf("single-file base: %v", err)
	}
	fpSharded, err := runFingerprint(sharded, Config{}, train, nil)
	if err != nil {
		t.Fatalf("sharded base: %v", err)
	}
	fpChanged, err := runFingerprint(changed, Config{}, train, nil)
	if err != nil {
		t.Fatalf("sharded base with other weights: %v", err)
	}
	if fpSharded == fpChanged {
		t.Errorf("fingerprints of different sharded weights are both %s, want them to differ", fpSharded)
	}

	if _, err := runFingerprint(t.TempDir(), Config{}, train, nil); err == nil {
		t.Error("base folder without weights: got no error, want one")
	}
}
