package finetune

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/model/safetensors"
)

func tinyLoRAConfig() Config {
	cfg := tinyRunConfig()
	cfg.LoRA = &LoRAConfig{Enabled: true, R: 4, Dropout: 0.1, TargetModules: []string{"c_attn", "c_fc"}}
	cfg.KeepCheckpointsAfterSuccess = true // the checks below read them
	cfg.LearningRate = 3e-2
	return cfg
}

func TestRunLoRATrainsOnlyAdapter(t *testing.T) {
	root := t.TempDir()
	base, data, out := filepath.Join(root, "base"), filepath.Join(root, "clean"), filepath.Join(root, "finetune")
	writeTinyBaseModel(t, base)
	writeTinyCorpus(t, data, 40)

	metrics, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: out, Config: tinyLoRAConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if first, last := metrics.Val[0].Loss, metrics.Val[len(metrics.Val)-1].Loss; !(last < first) {
		t.Errorf("validation loss went from %.4f to %.4f, want lower", first, last)
	}

	// The adapter folder is PEFT's, and the adapter trained.
	for _, name := range []string{model.AdapterConfigFile, model.AdapterWeightsFile} {
		if _, err := os.Stat(filepath.Join(out, AdapterDirName, name)); err != nil {
			t.Errorf("adapter folder lacks %s: %v", name, err)
		}
	}
	lm, err := model.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	adapter, err := model.LoadLoRA(lm, filepath.Join(out, AdapterDirName))
	if err != nil {
		t.Fatal(err)
	}
	if got := adapter.TargetModules(); !slices.Equal(got, []string{"c_attn", "c_fc"}) {
		t.Errorf("adapter targets: got %v, want [c_attn c_fc]", got)
	}
	moved := false
	for _, p := range adapter.Parameters() {
		if strings.Contains(p.Name, "lora_B") && slices.ContainsFunc(p.Data, func(v float32) bool { return v != 0 }) {
			moved = true
		}
	}
	if !moved {
		t.Error("every lora_B is still zero after training")
	}

	// The untouched base plus the adapter gives the merged model's logits,
	// which holds only if training left the base weights alone. Both paths
	// add the same float32 products, so 1e-4 relative covers the rounding.
	merged, err := model.Load(filepath.Join(out, ModelDirName))
	if err != nil {
		t.Fatal(err)
	}
	ids := []int32{1, 50, 97, 98, 99, 32, 116, 104, 101, 256}
	want := slices.Clone(merged.Forward(ids, 1, len(ids)))
	got := lm.Forward(ids, 1, len(ids))
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5+1e-4*math.Abs(float64(want[i])) {
			t.Fatalf("logit %d: base+adapter %g, merged model %g", i, got[i], want[i])
		}
	}

	// Checkpoints hold only the adapter.
	steps, err := listCheckpoints(filepath.Join(out, CheckpointDirName))
	if err != nil || len(steps) == 0 {
		t.Fatalf("checkpoints: got %v (error %v), want at least one", steps, err)
	}
	f, err := safetensors.Read(filepath.Join(out, CheckpointDirName, "step-00000010", weightsFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range f.Tensors {
		if !strings.Contains(tt.Name, ".lora_") {
			t.Errorf("checkpoint holds base tensor %s", tt.Name)
		}
	}
}

func TestRunLoRAResumeMatchesUninterrupted(t *testing.T) {
	root := t.TempDir()
	base, data := filepath.Join(root, "base"), filepath.Join(root, "clean")
	writeTinyBaseModel(t, base)
	writeTinyCorpus(t, data, 40)
	cfg := tinyLoRAConfig()

	whole := filepath.Join(root, "whole")
	if _, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: whole, Config: cfg}); err != nil {
		t.Fatal(err)
	}

	// Interrupt after step 7 and rerun, which resumes from the checkpoint
	// written on interruption and must draw the same dropout masks.
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
	if _, err := os.Stat(filepath.Join(resumed, AdapterDirName)); !os.IsNotExist(err) {
		t.Errorf("interrupted run left an adapter folder (stat error %v)", err)
	}
	if _, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: resumed, Config: cfg}); err != nil {
		t.Fatal(err)
	}

	for _, path := range []string{filepath.Join(AdapterDirName, model.AdapterWeightsFile), filepath.Join(ModelDirName, "model.safetensors")} {
		want, err := os.ReadFile(filepath.Join(whole, path))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(resumed, path))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s after resume differs from the uninterrupted run", path)
		}
	}
}

func TestLoRAConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		lora *LoRAConfig
		want string
	}{
		{"nil", nil, ""},
		{"defaults", &LoRAConfig{Enabled: true}, ""},
		{"negative rank", &LoRAConfig{Enabled: true, R: -1}, "lora.r"},
		{"negative alpha", &LoRAConfig{Enabled: true, Alpha: -2}, "lora.alpha"},
		{"dropout one", &LoRAConfig{Enabled: true, Dropout: 1}, "lora.dropout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.LoRA = tc.lora
			err := cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Errorf("got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrInvalidConfig naming %s", err, tc.want)
			}
		})
	}
}

func TestRunLoRAUnknownTarget(t *testing.T) {
	root := t.TempDir()
	base, data := filepath.Join(root, "base"), filepath.Join(root, "clean")
	writeTinyBaseModel(t, base)
	writeTinyCorpus(t, data, 10)
	cfg := tinyLoRAConfig()
	cfg.LoRA.TargetModules = []string{"q_proj"}
	_, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: filepath.Join(root, "out"), Config: cfg})
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "q_proj") {
		t.Errorf("got %v, want ErrInvalidConfig naming q_proj", err)
	}
}

func TestRunFullAfterLoRARemovesAdapter(t *testing.T) {
	root := t.TempDir()
	base, data, out := filepath.Join(root, "base"), filepath.Join(root, "clean"), filepath.Join(root, "finetune")
	writeTinyBaseModel(t, base)
	writeTinyCorpus(t, data, 10)
	adapterDir := filepath.Join(out, AdapterDirName)

	if _, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: out, Config: tinyLoRAConfig()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(adapterDir); err != nil {
		t.Fatalf("LoRA run wrote no adapter: %v", err)
	}

	if _, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: out, Config: tinyRunConfig()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(adapterDir); !os.IsNotExist(err) {
		t.Errorf("adapter folder after a full run: got stat error %v, want not exist", err)
	}
	if _, err := os.Stat(filepath.Join(out, ModelDirName, "model.safetensors")); err != nil {
		t.Errorf("full run left no model: %v", err)
	}
}
