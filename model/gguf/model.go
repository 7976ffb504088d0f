package gguf

import (
	"fmt"

	"github.com/adapt-llm/adapt/model"
)

// Config returns p as the Hugging Face configuration of package model.
func (p LlamaParams) Config() model.LlamaConfig {
	return model.LlamaConfig{
		ModelType:             p.Architecture,
		VocabSize:             p.VocabSize,
		HiddenSize:            p.HiddenSize,
		IntermediateSize:      p.IntermediateSize,
		NumHiddenLayers:       p.NumLayers,
		NumAttentionHeads:     p.NumHeads,
		NumKeyValueHeads:      p.NumKVHeads,
		MaxPositionEmbeddings: p.MaxPositions,
		RMSNormEps:            p.RMSNormEps,
		RopeTheta:             p.RopeTheta,
		TieWordEmbeddings:     p.TieWordEmbeddings,
		AttentionBias:         p.AttentionBias && p.Architecture == "llama",
	}
}

// ParamsFromConfig is the inverse of LlamaParams.Config. A "mistral"
// model_type maps to the "llama" architecture, as llama.cpp's converter
// registers MistralForCausalLM with its Llama class. It returns an error
// wrapping ErrUnsupported for another model_type, or a head_dim that is
// not hidden_size/num_attention_heads.
func ParamsFromConfig(c model.LlamaConfig) (LlamaParams, error) {
	if c.ModelType == "mistral" {
		c.ModelType = "llama"
	}
	if c.ModelType != "llama" && c.ModelType != "qwen2" {
		return LlamaParams{}, fmt.Errorf("%w: model_type %q has no GGUF architecture here (only llama, mistral and qwen2)", ErrUnsupported, c.ModelType)
	}
	if c.NumAttentionHeads <= 0 || (c.HeadDim != 0 && c.HeadDim*c.NumAttentionHeads != c.HiddenSize) {
		return LlamaParams{}, fmt.Errorf("%w: head_dim %d with %d heads and hidden_size %d", ErrUnsupported, c.HeadDim, c.NumAttentionHeads, c.HiddenSize)
	}
	p := LlamaParams{
		Architecture: c.ModelType, VocabSize: c.VocabSize, HiddenSize: c.HiddenSize, IntermediateSize: c.IntermediateSize,
		NumLayers: c.NumHiddenLayers, NumHeads: c.NumAttentionHeads, NumKVHeads: c.NumKeyValueHeads,
		MaxPositions: c.MaxPositionEmbeddings, RopeTheta: c.RopeTheta, RMSNormEps: c.RMSNormEps,
		TieWordEmbeddings: c.TieWordEmbeddings, AttentionBias: c.AttentionBias || c.ModelType == "qwen2",
	}
	if p.NumKVHeads == 0 {
		p.NumKVHeads = p.NumHeads
	}
	if p.RopeTheta == 0 {
		p.RopeTheta = defaultRopeTheta
	}
	if p.RMSNormEps == 0 {
		p.RMSNormEps = 1e-6 // transformers' LlamaConfig default
	}
	return p, nil
}

// NewLlama builds a model.Llama with configuration p from Hugging Face
// named tensors (as LlamaTensors returns). It returns an error wrapping
// ErrMissing when a parameter is absent or misshaped.
func NewLlama(p LlamaParams, tensors []Tensor) (*model.Llama, error) {
	byName := make(map[string]Tensor, len(tensors))
	for _, t := range tensors {
		byName[t.Name] = t
	}
	m := model.NewLlama(p.Config(), 0)
	for _, param := range m.Parameters() {
		t, ok := byName[param.Name]
		if !ok {
			return nil, fmt.Errorf("%w: tensor %s not found", ErrMissing, param.Name)
		}
		if !equalShape(t.Shape, param.Shape) {
			return nil, fmt.Errorf("%w: tensor %s has shape %v, the configuration implies %v", ErrMissing, param.Name, t.Shape, param.Shape)
		}
		copy(param.Data, t.Data)
	}
	return m, nil
}

// LoadLlama reads a "llama" or "qwen2" GGUF file and returns the model, its
// q/k weights in the rotate-half layout, and its tokenizer.
func LoadLlama(path string) (*model.Llama, *Vocab, error) {
	f, err := Read(path)
	if err != nil {
		return nil, nil, err
	}
	p, err := f.LlamaParams()
	if err != nil {
		return nil, nil, err
	}
	tensors, err := f.LlamaTensors(p)
	if err != nil {
		return nil, nil, err
	}
	m, err := NewLlama(p, tensors)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	v, err := f.Vocab()
	if err != nil {
		return nil, nil, err
	}
	return m, v, nil
}

// WriteLlama writes m and its tokenizer v (nil writes none) as a GGUF file
// that llama.cpp and Ollama load, with matrices of type typ (F32, F16,
// BF16 or Q8_0) and one-dimensional tensors in F32.
func WriteLlama(path string, m *model.Llama, v *Vocab, name string, typ GGMLType) error {
	p, err := ParamsFromConfig(m.Config)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	params := m.Parameters()
	tensors := make([]Tensor, len(params))
	for i, param := range params {
		tensors[i] = Tensor{Name: param.Name, Shape: param.Shape, Data: param.Data}
	}
	infos, err := LlamaGGUFTensors(p, tensors, typ)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	md := LlamaMetadata(p, v, name)
	for i := range md {
		if md[i].Key == "general.file_type" {
			md[i].Value = fileType(typ)
		}
	}
	return Write(path, md, infos)
}

// fileType returns llama.cpp's general.file_type (enum llama_ftype) for
// matrices of type typ.
func fileType(typ GGMLType) uint32 {
	switch typ {
	case GGMLTypeF16:
		return 1
	case GGMLTypeQ8_0:
		return 7
	case GGMLTypeBF16:
		return 32
	}
	return 0
}
