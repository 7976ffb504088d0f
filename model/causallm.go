package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CausalLM is a decoder-only language model that the trainer and the
// evaluator drive without knowing its architecture. *GPT2 and *Llama
// implement it. Implementations are not safe for concurrent use.
type CausalLM interface {
	// Forward runs the model on ids [B,T] and returns the logits [B,T,V],
	// owned by the model and overwritten by the next call.
	Forward(ids []int32, B, T int) []float32
	// ForwardBackward returns the mean next-token cross-entropy (nats) over
	// targets [B,T] that are not IgnoreIndex and adds its gradient to every
	// Param.Grad.
	ForwardBackward(ids, targets []int32, B, T int) float32
	// Loss returns the same mean cross-entropy without touching gradients.
	Loss(ids, targets []int32, B, T int) float32
	// ZeroGrad sets every gradient to zero.
	ZeroGrad()
	// Parameters returns every trainable tensor, aliasing the model's
	// weights and gradients, in a fixed order.
	Parameters() []*Param
	// Greedy returns n tokens appended to prompt by argmax decoding.
	Greedy(prompt []int32, n int) []int32
	// Save writes a Hugging Face folder (config.json, model.safetensors).
	Save(dir string) error
	// VocabSize returns the number of token ids (V).
	VocabSize() int
	// MaxPositions returns the longest sequence Forward accepts.
	MaxPositions() int
}

var (
	_ CausalLM = (*GPT2)(nil)
	_ CausalLM = (*Llama)(nil)
)

// VocabSize returns Config.VocabSize.
func (m *GPT2) VocabSize() int { return m.Config.VocabSize }

// MaxPositions returns Config.NPositions.
func (m *GPT2) MaxPositions() int { return m.Config.NPositions }

// Load reads a Hugging Face model folder and returns the model that
// config.json's model_type names: "gpt2" through LoadGPT2, and "llama",
// "mistral" and "qwen2" through LoadLlama. Any other type returns an error
// wrapping ErrUnsupported.
func Load(dir string) (CausalLM, error) {
	data, path, err := readConfigFile(dir)
	if err != nil {
		return nil, err
	}
	var head struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}

	switch head.ModelType {
	case "gpt2":
		m, err := LoadGPT2(dir)
		if err != nil {
			return nil, err
		}
		return m, nil
	case "llama", "mistral", "qwen2":
		m, err := LoadLlama(dir)
		if err != nil {
			return nil, err
		}
		return m, nil
	case "":
		return nil, fmt.Errorf("%s: %w: model_type is missing; set it to gpt2, llama, mistral or qwen2", path, ErrUnsupported)
	}
	return nil, fmt.Errorf("%s: %w: model_type %q is not implemented; supported types are gpt2, llama, mistral and qwen2", path, ErrUnsupported, head.ModelType)
}

// readConfigFile returns the contents and path of dir/config.json.
func readConfigFile(dir string) ([]byte, string, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, path, fmt.Errorf("reading model config: %s not found; a model folder must contain config.json and model.safetensors (Hugging Face layout): %w", path, err)
	}
	if err != nil {
		return nil, path, fmt.Errorf("reading model config: %w", err)
	}
	return data, path, nil
}
