package finetune

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/adapt-llm/adapt/model"
)

// AdapterDirName is the folder under OutDir where a LoRA run writes its
// PEFT adapter (adapter_config.json, adapter_model.safetensors).
const AdapterDirName = "adapter"

// LoRAConfig selects LoRA fine-tuning: the base weights stay frozen and
// only low-rank adapters on the target layers are trained.
type LoRAConfig struct {
	// Enabled turns LoRA on. When false the other fields are ignored.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// R is the rank of each adapter. Zero means 8.
	R int `yaml:"r" json:"r"`
	// Alpha sets the scaling alpha/R of the adapters' output. Zero means
	// 2*R, so the scaling is 2.
	Alpha float64 `yaml:"alpha" json:"alpha"`
	// Dropout is the probability, in [0, 1), that an element of an
	// adapter's input is zeroed during training. Zero means no dropout.
	Dropout float64 `yaml:"dropout" json:"dropout"`
	// TargetModules names the layers to adapt as PEFT's target_modules
	// does: "c_attn", "c_proj", "c_fc" for GPT-2; "q_proj", "k_proj",
	// "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" for Llama,
	// Mistral and Qwen2. Empty means PEFT's default for the architecture
	// (c_attn; q_proj and v_proj).
	TargetModules []string `yaml:"target_modules" json:"target_modules,omitempty"`
}

// Defaults of LoRAConfig's zero fields.
const (
	defaultLoRARank       = 8
	defaultLoRAAlphaRatio = 2
)

func (c LoRAConfig) withDefaults() LoRAConfig {
	if c.R == 0 {
		c.R = defaultLoRARank
	}
	if c.Alpha == 0 {
		c.Alpha = defaultLoRAAlphaRatio * float64(c.R)
	}
	return c
}

// validate returns the first LoRA field outside its valid range, wrapping
// ErrInvalidConfig. A nil c is valid.
func (c *LoRAConfig) validate() error {
	if c == nil {
		return nil
	}
	checks := []struct {
		bad  bool
		name string
		val  any
		want string
	}{
		{c.R < 0, "lora.r", c.R, ">= 0"},
		{!(c.Alpha >= 0), "lora.alpha", c.Alpha, ">= 0"},
		{!(c.Dropout >= 0 && c.Dropout < 1), "lora.dropout", c.Dropout, "in [0, 1)"},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("%w: %s is %v, must be %s", ErrInvalidConfig, ch.name, ch.val, ch.want)
		}
	}
	return nil
}

// attachLoRA attaches a new adapter to lm when cfg.LoRA is enabled and
// returns it, or returns nil when LoRA is off. When checkpointDir has a
// checkpoint to resume from, the adapter's dropout pass count is set to
// the number of micro-batches before it, so resumed training draws the same
// dropout masks as an uninterrupted run.
func attachLoRA(lm model.CausalLM, cfg Config, checkpointDir string, logger *slog.Logger) (*model.LoRA, error) {
	if cfg.LoRA == nil || !cfg.LoRA.Enabled {
		return nil, nil
	}
	lc := cfg.LoRA.withDefaults()
	adapter, err := model.NewLoRA(lm, model.LoRAConfig{
		R:             lc.R,
		Alpha:         lc.Alpha,
		Dropout:       lc.Dropout,
		TargetModules: lc.TargetModules,
		Seed:          uint64(cfg.Seed),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: lora: %w", ErrInvalidConfig, err)
	}

	step, err := newestCheckpointStep(checkpointDir)
	if err != nil {
		return nil, err
	}
	adapter.SetPasses(uint64(step) * uint64(cfg.withDefaults().GradAccum))
	logger.Info("attached LoRA adapter", "r", lc.R, "alpha", lc.Alpha, "dropout", lc.Dropout,
		"targets", adapter.TargetModules(), "trainable_params", adapter.NumParameters())
	return adapter, nil
}

// newestCheckpointStep returns the step recorded by the newest checkpoint
// in dir, or 0 when there is none.
func newestCheckpointStep(dir string) (int, error) {
	steps, err := listCheckpoints(dir)
	if err != nil || len(steps) == 0 {
		return 0, err
	}
	path := filepath.Join(dir, fmt.Sprintf("%s%08d", checkpointPrefix, steps[len(steps)-1]), stateFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading checkpoint: %w", err)
	}
	var state checkpointState
	if err := json.Unmarshal(data, &state); err != nil {
		return 0, fmt.Errorf("reading checkpoint %s: %w; delete the folder to start over", path, err)
	}
	return state.Step, nil
}

// saveAdapter writes the adapter as a PEFT folder at outDir/adapter,
// replacing any earlier one only once the new one is complete.
func saveAdapter(adapter *model.LoRA, outDir, baseModel string) error {
	dir := filepath.Join(outDir, AdapterDirName)
	return SaveModelFolder(dir, func(tmp string) error {
		return adapter.Save(tmp, baseModel)
	})
}

// writeOrRemoveAdapter saves adapter to outDir/adapter, or, when adapter is
// nil because the run was a full fine-tune, removes any adapter folder an
// earlier LoRA run left there.
func writeOrRemoveAdapter(adapter *model.LoRA, outDir, baseModel string) error {
	if adapter != nil {
		return saveAdapter(adapter, outDir, baseModel)
	}
	dir := filepath.Join(outDir, AdapterDirName)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing adapter of an earlier LoRA run: %w", err)
	}
	return nil
}
