package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// GPT2Config is the Hugging Face config.json of a GPT-2 model
// (transformers.GPT2Config, transformers v4). Sizes are counts.
type GPT2Config struct {
	// VocabSize is the number of token embeddings (V).
	VocabSize int `json:"vocab_size"`
	// NPositions is the longest sequence the position table covers.
	NPositions int `json:"n_positions"`
	// NCtx repeats NPositions for older readers. Zero means NPositions.
	NCtx int `json:"n_ctx,omitempty"`
	// NEmbd is the model width (C).
	NEmbd int `json:"n_embd"`
	// NLayer is the number of transformer blocks.
	NLayer int `json:"n_layer"`
	// NHead is the number of attention heads (NH); NEmbd must be a multiple.
	NHead int `json:"n_head"`
	// NInner is the MLP width. Zero means 4*NEmbd.
	NInner int `json:"n_inner,omitempty"`
	// LayerNormEpsilon is added to the variance in every LayerNorm; zero
	// means 1e-5, the GPT-2 default.
	LayerNormEpsilon float64 `json:"layer_norm_epsilon"`
	BOSTokenID       int     `json:"bos_token_id"`
	EOSTokenID       int     `json:"eos_token_id"`
	// ActivationFunction must be "gelu_new" (or empty, meaning gelu_new).
	ActivationFunction string   `json:"activation_function"`
	ModelType          string   `json:"model_type"`
	Architectures      []string `json:"architectures,omitempty"`
	// TieWordEmbeddings is true for GPT-2: the output projection reuses wte.
	TieWordEmbeddings bool   `json:"tie_word_embeddings"`
	TorchDType        string `json:"torch_dtype,omitempty"`
}

// defaultLayerNormEpsilon is GPT-2's LayerNorm epsilon in transformers'
// GPT2Config.
const defaultLayerNormEpsilon = 1e-5

// withDefaults fills the fields whose zero value means a default.
func (c GPT2Config) withDefaults() GPT2Config {
	if c.LayerNormEpsilon == 0 {
		c.LayerNormEpsilon = defaultLayerNormEpsilon
	}
	if c.ActivationFunction == "" {
		c.ActivationFunction = "gelu_new"
	}
	if c.ModelType == "" {
		c.ModelType = "gpt2"
	}
	if len(c.Architectures) == 0 {
		c.Architectures = []string{"GPT2LMHeadModel"}
	}
	if c.NCtx == 0 {
		c.NCtx = c.NPositions
	}
	c.TieWordEmbeddings = true
	return c
}

// validate returns an error wrapping ErrUnsupported for a configuration
// this package cannot run.
func (c GPT2Config) validate() error {
	if c.ModelType != "gpt2" {
		return fmt.Errorf("%w: model_type %q, want \"gpt2\"", ErrUnsupported, c.ModelType)
	}
	if c.ActivationFunction != "gelu_new" {
		return fmt.Errorf("%w: activation_function %q, only \"gelu_new\" is implemented", ErrUnsupported, c.ActivationFunction)
	}
	if c.VocabSize <= 0 || c.NPositions <= 0 || c.NEmbd <= 0 || c.NLayer <= 0 || c.NHead <= 0 {
		return fmt.Errorf("%w: vocab_size %d, n_positions %d, n_embd %d, n_layer %d, n_head %d must all be positive",
			ErrUnsupported, c.VocabSize, c.NPositions, c.NEmbd, c.NLayer, c.NHead)
	}
	if c.NEmbd%c.NHead != 0 {
		return fmt.Errorf("%w: n_embd %d is not divisible by n_head %d", ErrUnsupported, c.NEmbd, c.NHead)
	}
	if c.NInner != 0 && c.NInner != 4*c.NEmbd {
		return fmt.Errorf("%w: n_inner %d, only 4*n_embd = %d is implemented", ErrUnsupported, c.NInner, 4*c.NEmbd)
	}
	return nil
}

// readGPT2Config reads and validates dir/config.json.
func readGPT2Config(dir string) (GPT2Config, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return GPT2Config{}, fmt.Errorf("reading model config: %s not found; a model folder must contain config.json and model.safetensors (Hugging Face layout): %w", path, err)
	}
	if err != nil {
		return GPT2Config{}, fmt.Errorf("reading model config: %w", err)
	}
	var cfg GPT2Config
	if err := json.Unmarshal(data, &cfg); err != nil {
		return GPT2Config{}, fmt.Errorf("parsing %s: %w", path, err)
	}
	if cfg.ModelType == "" {
		return GPT2Config{}, fmt.Errorf("%s: %w: model_type is missing", path, ErrUnsupported)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return GPT2Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
