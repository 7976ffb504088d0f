package model

// Reading and writing LoRA adapters in Hugging Face PEFT's folder layout
// (peft/utils/save_and_load.py and peft/tuners/lora/config.py):
// adapter_config.json holds a LoraConfig, and adapter_model.safetensors
// holds "base_model.model.<module path>.lora_A.weight" [r,in] and
// ".lora_B.weight" [out,r] for each wrapped layer.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/adapt-llm/adapt/model/safetensors"
)

// Files of a PEFT adapter folder.
const (
	AdapterConfigFile  = "adapter_config.json"
	AdapterWeightsFile = "adapter_model.safetensors"
)

// PEFTConfig is the part of PEFT's adapter_config.json that adapt reads and
// writes. Fields adapt does not use are ignored on reading.
type PEFTConfig struct {
	PEFTType            string  `json:"peft_type"`
	TaskType            string  `json:"task_type"`
	BaseModelNameOrPath *string `json:"base_model_name_or_path"`
	R                   int     `json:"r"`
	LoRAAlpha           float64 `json:"lora_alpha"`
	LoRADropout         float64 `json:"lora_dropout"`
	Bias                string  `json:"bias"`
	FanInFanOut         bool    `json:"fan_in_fan_out"`
	UseRSLoRA           bool    `json:"use_rslora"`
	UseDoRA             bool    `json:"use_dora"`
	InitLoRAWeights     any     `json:"init_lora_weights"`
	InferenceMode       bool    `json:"inference_mode"`
	// TargetModules is a list of module names or one regular expression.
	TargetModules     json.RawMessage `json:"target_modules"`
	ModulesToSave     []string        `json:"modules_to_save"`
	LayersToTransform json.RawMessage `json:"layers_to_transform"`
	RankPattern       map[string]any  `json:"rank_pattern"`
	AlphaPattern      map[string]any  `json:"alpha_pattern"`
}

// ParsePEFTConfig parses adapter_config.json data and returns the adapter
// settings it describes. It returns an error wrapping ErrUnsupported for a
// valid PEFT file that uses a feature adapt does not implement (another
// peft_type, DoRA, trained biases, modules_to_save, per-layer ranks or
// layer selection), and a plain error for malformed JSON.
func ParsePEFTConfig(data []byte) (LoRAConfig, error) {
	var pc PEFTConfig
	if err := json.Unmarshal(data, &pc); err != nil {
		return LoRAConfig{}, fmt.Errorf("parsing %s: %w", AdapterConfigFile, err)
	}
	unsupported := func(what string) (LoRAConfig, error) {
		return LoRAConfig{}, fmt.Errorf("%w: %s: %s is not implemented", ErrUnsupported, AdapterConfigFile, what)
	}
	switch {
	case pc.PEFTType != "LORA":
		return unsupported(fmt.Sprintf("peft_type %q (only LORA)", pc.PEFTType))
	case pc.TaskType != "" && pc.TaskType != "CAUSAL_LM":
		return unsupported(fmt.Sprintf("task_type %q (only CAUSAL_LM)", pc.TaskType))
	case pc.UseDoRA:
		return unsupported("use_dora")
	case pc.Bias != "" && pc.Bias != "none":
		return unsupported(fmt.Sprintf("bias %q (only none)", pc.Bias))
	case len(pc.ModulesToSave) > 0:
		return unsupported("modules_to_save")
	case len(pc.RankPattern) > 0 || len(pc.AlphaPattern) > 0:
		return unsupported("rank_pattern and alpha_pattern")
	case len(pc.LayersToTransform) > 0 && string(pc.LayersToTransform) != "null":
		return unsupported("layers_to_transform")
	}

	cfg := LoRAConfig{R: pc.R, Alpha: pc.LoRAAlpha, Dropout: pc.LoRADropout, UseRSLoRA: pc.UseRSLoRA}
	if pc.LoRAAlpha == 0 {
		// PEFT's LoraConfig default; adapt's zero would mean R instead.
		cfg.Alpha = 8
	}
	if len(pc.TargetModules) > 0 && string(pc.TargetModules) != "null" {
		if err := json.Unmarshal(pc.TargetModules, &cfg.TargetModules); err != nil {
			if err := json.Unmarshal(pc.TargetModules, &cfg.TargetRegexp); err != nil {
				return LoRAConfig{}, fmt.Errorf("parsing %s: target_modules is neither a list of names nor a pattern: %s", AdapterConfigFile, pc.TargetModules)
			}
		}
	}
	if err := cfg.validate(); err != nil {
		return LoRAConfig{}, fmt.Errorf("%s: %w", AdapterConfigFile, err)
	}
	return cfg, nil
}

// LoadLoRA reads the PEFT adapter folder dir and attaches it to m. Every
// tensor of adapter_model.safetensors must belong to a layer that
// target_modules selects, and every selected layer must have both tensors
// with the shapes that r and the model imply. If not, LoadLoRA returns an
// error wrapping ErrMissingTensor. GPT-2 tensor names may omit
// transformers' "transformer." prefix. fan_in_fan_out is not read, because
// the model's architecture fixes each weight's layout.
func LoadLoRA(m CausalLM, dir string) (*LoRA, error) {
	cfgPath := filepath.Join(dir, AdapterConfigFile)
	data, err := os.ReadFile(cfgPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading adapter config: %s not found; a PEFT adapter folder must contain %s and %s: %w",
			cfgPath, AdapterConfigFile, AdapterWeightsFile, err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading adapter config: %w", err)
	}
	cfg, err := ParsePEFTConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	weightsPath := filepath.Join(dir, AdapterWeightsFile)
	file, err := safetensors.Read(weightsPath)
	if err != nil {
		return nil, fmt.Errorf("loading adapter weights: %w", err)
	}

	l, err := newLoRA(m, cfg, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if err := l.loadTensors(file.Tensors, weightsPath); err != nil {
		return nil, err
	}
	l.host.setLoRA(l)
	return l, nil
}

// loadTensors copies the adapter tensors into l's parameters; source names
// them in errors.
func (l *LoRA) loadTensors(tensors []safetensors.Tensor, source string) error {
	byName := make(map[string]safetensors.Tensor, len(tensors))
	for _, t := range tensors {
		byName[canonicalAdapterName(t.Name)] = t
	}
	for _, p := range l.params {
		t, ok := byName[canonicalAdapterName(p.Name)]
		if !ok {
			return fmt.Errorf("%s: %w: %s not found; target_modules selects this layer", source, ErrMissingTensor, p.Name)
		}
		if !equalShape(t.Shape, p.Shape) {
			return fmt.Errorf("%s: %w: %s has shape %v, r and the model imply %v", source, ErrMissingTensor, p.Name, t.Shape, p.Shape)
		}
		values, err := t.Float32()
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		copy(p.Data, values)
		delete(byName, canonicalAdapterName(p.Name))
	}
	for name := range byName {
		return fmt.Errorf("%s: %w: tensor %s belongs to no layer that target_modules selects in this model", source, ErrMissingTensor, name)
	}
	return nil
}

// canonicalAdapterName maps the names PEFT may write for one tensor to one
// form: without the "base_model.model." prefix, GPT-2's "transformer."
// prefix and the ".default" adapter name that PEFT keeps in memory.
func canonicalAdapterName(name string) string {
	name = strings.TrimPrefix(name, "base_model.model.")
	name = strings.TrimPrefix(name, "transformer.")
	name = strings.Replace(name, ".lora_A.default.", ".lora_A.", 1)
	return strings.Replace(name, ".lora_B.default.", ".lora_B.", 1)
}

// Save writes the adapter to dir as a PEFT folder: adapter_config.json and
// adapter_model.safetensors (F32), creating dir if needed. baseModel is
// recorded as base_model_name_or_path. When it names a local folder, Save
// records the absolute path, so the record does not depend on the working
// directory. Otherwise (a hub id such as "gpt2") it is recorded unchanged,
// and an empty baseModel records null.
// Each file is written under a temporary name and renamed when complete.
func (l *LoRA) Save(dir, baseModel string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("saving adapter: %w", err)
	}
	targets, _ := json.Marshal(l.TargetModules())
	if l.Config.TargetRegexp != "" {
		targets, _ = json.Marshal(l.Config.TargetRegexp)
	}
	pc := PEFTConfig{
		PEFTType:        "LORA",
		TaskType:        "CAUSAL_LM",
		R:               l.Config.R,
		LoRAAlpha:       l.Config.Alpha,
		LoRADropout:     l.Config.Dropout,
		Bias:            "none",
		FanInFanOut:     len(l.modules) > 0 && l.modules[0].site.conv1D,
		UseRSLoRA:       l.Config.UseRSLoRA,
		InitLoRAWeights: true,
		InferenceMode:   true,
		TargetModules:   targets,
	}
	if pc.LoRAAlpha == 0 {
		pc.LoRAAlpha = float64(l.Config.R)
	}
	if baseModel != "" {
		if info, err := os.Stat(baseModel); err == nil && info.IsDir() {
			abs, err := filepath.Abs(baseModel)
			if err != nil {
				return fmt.Errorf("saving adapter: resolving base model path %s: %w", baseModel, err)
			}
			baseModel = abs
		}
		pc.BaseModelNameOrPath = &baseModel
	}
	js, err := json.MarshalIndent(pc, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding adapter config: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, AdapterConfigFile), append(js, '\n')); err != nil {
		return err
	}

	tensors := make([]safetensors.Tensor, 0, len(l.params))
	for _, p := range l.params {
		tensors = append(tensors, safetensors.FromFloat32(p.Name, p.Shape, p.Data))
	}
	if err := safetensors.Write(filepath.Join(dir, AdapterWeightsFile), tensors, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("saving adapter weights: %w", err)
	}
	return nil
}
