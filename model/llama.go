package model

// The Llama family follows Hugging Face transformers v4.45
// (modeling_llama.py LlamaForCausalLM, modeling_mistral.py,
// modeling_qwen2.py). Token embeddings carry no positions. Each pre-norm
// block has RMSNorm, rotate-half RoPE on q and k, grouped-query causal
// attention and a SwiGLU MLP. A final RMSNorm feeds an lm_head that may be
// tied to the embeddings. Shapes use C = hidden_size, I = intermediate_size, NH and NKV
// query and key/value heads of HS channels, and L = (NH+2*NKV)*HS, the width
// of the stacked q/k/v projection.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/adapt-llm/adapt/model/safetensors"
	"github.com/adapt-llm/adapt/tensor"
)

// llamaLayer holds the parameters of one decoder layer. Weights are
// nn.Linear's [out,in]. q, k and v weights are adjacent in memory, so qkvW
// is their stack, and likewise for the biases and for gate and up.
type llamaLayer struct {
	inputNorm      *Param    // [C]
	q, k, v        *Param    // [NH*HS,C], [NKV*HS,C], [NKV*HS,C]
	qb, kb, vb     *Param    // [NH*HS], [NKV*HS], [NKV*HS], or nil
	o              *Param    // [C,NH*HS]
	ob             *Param    // [C] or nil
	postNorm       *Param    // [C]
	gate, up, down *Param    // [I,C], [I,C], [C,I]
	qkvW, qkvWGrad []float32 // [L,C]
	qkvB, qkvBGrad []float32 // [L] or nil
	gateUpW        []float32 // [2I,C]
	gateUpWGrad    []float32 // [2I,C]
}

// Llama is a Llama-family causal language model (Llama 2 and 3, Mistral,
// Qwen2, SmolLM, TinyLlama). A Llama is not safe for concurrent use:
// Forward and ForwardBackward share activation buffers.
type Llama struct {
	Config LlamaConfig

	params []*Param
	embed  *Param // [V,C]
	layers []llamaLayer
	norm   *Param // [C]
	lmHead *Param // [V,C]; nil when tied to embed

	invFreq []float64 // [HS/2] RoPE frequencies
	acts    *llamaActivations
	lora    *LoRA // attached adapter, or nil
}

// NewLlama returns a randomly initialized model as transformers'
// LlamaPreTrainedModel initializes one: linear and embedding weights
// N(0, initializer_range), biases 0, RMSNorm weights 1. The same seed gives
// the same weights. It panics on a configuration that validate rejects.
func NewLlama(cfg LlamaConfig, seed int64) *Llama {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		panic("model.NewLlama: " + err.Error())
	}
	m := newLlama(cfg)

	r := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	for _, p := range m.params {
		switch {
		case strings.HasSuffix(p.Name, "norm.weight"):
			fill(p.Data, 1)
		case strings.HasSuffix(p.Name, ".bias"):
			// zero from allocation
		default:
			normal(r, p.Data, cfg.InitializerRange)
		}
	}
	return m
}

// newLlama allocates zeroed parameters and gradients in one block each, in
// the order Parameters returns them.
func newLlama(cfg LlamaConfig) *Llama {
	m := &Llama{Config: cfg}
	V, C, I := cfg.VocabSize, cfg.HiddenSize, cfg.IntermediateSize
	NH, NKV, HS := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	add := func(name string, shape ...int) *Param {
		p := &Param{Name: name, Shape: shape}
		m.params = append(m.params, p)
		return p
	}

	// Parameters that are used as one stacked matrix are added one after
	// another, which makes them adjacent in the block allocated below.
	m.embed = add("model.embed_tokens.weight", V, C)
	m.layers = make([]llamaLayer, cfg.NumHiddenLayers)
	for l := range m.layers {
		prefix := fmt.Sprintf("model.layers.%d.", l)
		ly := &m.layers[l]
		ly.inputNorm = add(prefix+"input_layernorm.weight", C)
		ly.q = add(prefix+"self_attn.q_proj.weight", NH*HS, C)
		ly.k = add(prefix+"self_attn.k_proj.weight", NKV*HS, C)
		ly.v = add(prefix+"self_attn.v_proj.weight", NKV*HS, C)
		if cfg.qkvBias() {
			ly.qb = add(prefix+"self_attn.q_proj.bias", NH*HS)
			ly.kb = add(prefix+"self_attn.k_proj.bias", NKV*HS)
			ly.vb = add(prefix+"self_attn.v_proj.bias", NKV*HS)
		}
		ly.o = add(prefix+"self_attn.o_proj.weight", C, NH*HS)
		if cfg.oBias() {
			ly.ob = add(prefix+"self_attn.o_proj.bias", C)
		}
		ly.postNorm = add(prefix+"post_attention_layernorm.weight", C)
		ly.gate = add(prefix+"mlp.gate_proj.weight", I, C)
		ly.up = add(prefix+"mlp.up_proj.weight", I, C)
		ly.down = add(prefix+"mlp.down_proj.weight", C, I)
	}
	m.norm = add("model.norm.weight", C)
	if !cfg.TieWordEmbeddings {
		m.lmHead = add("lm_head.weight", V, C)
	}

	total := 0
	for _, p := range m.params {
		total += numElements(p.Shape)
	}
	data, grad := make([]float32, total), make([]float32, total)
	offset := make(map[*Param]int, len(m.params))
	off := 0
	for _, p := range m.params {
		n := numElements(p.Shape)
		p.Data, p.Grad = data[off:off+n:off+n], grad[off:off+n:off+n]
		offset[p] = off
		off += n
	}

	// Stacked views over the adjacent parameters.
	L := (NH + 2*NKV) * HS
	view := func(first *Param, n int) ([]float32, []float32) {
		o := offset[first]
		return data[o : o+n : o+n], grad[o : o+n : o+n]
	}
	for l := range m.layers {
		ly := &m.layers[l]
		ly.qkvW, ly.qkvWGrad = view(ly.q, L*C)
		if ly.qb != nil {
			ly.qkvB, ly.qkvBGrad = view(ly.qb, L)
		}
		ly.gateUpW, ly.gateUpWGrad = view(ly.gate, 2*I*C)
	}
	m.invFreq = tensor.RoPEInvFreq(HS, cfg.RopeTheta, cfg.ropeScaling())
	return m
}

// Parameters returns every parameter in a fixed order. model.embed_tokens
// comes first. Each layer follows with input_layernorm, the q_proj, k_proj
// and v_proj weights, their biases when present, o_proj (weight, bias),
// post_attention_layernorm, gate_proj, up_proj and down_proj. model.norm
// and, unless tied to the embeddings, lm_head come last.
func (m *Llama) Parameters() []*Param {
	if m.lora != nil {
		return m.lora.Parameters()
	}
	return m.params
}

// NumParameters returns the number of scalar parameters.
func (m *Llama) NumParameters() int {
	n := 0
	for _, p := range m.params {
		n += len(p.Data)
	}
	return n
}

// ZeroGrad sets every parameter gradient to zero.
func (m *Llama) ZeroGrad() {
	for _, p := range m.params {
		clear(p.Grad)
	}
	m.lora.zeroGrad()
}

// VocabSize returns Config.VocabSize.
func (m *Llama) VocabSize() int { return m.Config.VocabSize }

// MaxPositions returns the longest sequence Forward accepts:
// max_position_embeddings, capped at the sliding window where one applies.
func (m *Llama) MaxPositions() int {
	n := m.Config.MaxPositionEmbeddings
	if w := m.Config.slidingWindow(); w > 0 && w < n {
		// NOTE: sliding-window attention is not implemented; within the
		// window it equals full causal attention, so longer inputs are
		// rejected instead.
		n = w
	}
	return n
}

// LoadLlama reads a Hugging Face Llama, Mistral or Qwen2 folder:
// dir/config.json and F32, F16 or BF16 weights (converted to float32) under
// transformers' names, in dir/model.safetensors or, for a sharded
// checkpoint, in the shards dir/model.safetensors.index.json lists.
// lm_head.weight is ignored when tie_word_embeddings is true, as
// transformers ties it then, and so are rotary_emb.inv_freq buffers of
// older checkpoints.
func LoadLlama(dir string) (*Llama, error) {
	cfg, err := readLlamaConfig(dir)
	if err != nil {
		return nil, err
	}
	tensors, path, err := readWeights(dir)
	if err != nil {
		return nil, fmt.Errorf("loading Llama weights: %w", err)
	}
	return llamaFromTensors(cfg, tensors, path)
}

// llamaFromTensors builds a model from named tensors; source names them in
// errors.
func llamaFromTensors(cfg LlamaConfig, tensors []safetensors.Tensor, source string) (*Llama, error) {
	byName := make(map[string]safetensors.Tensor, len(tensors))
	for _, t := range tensors {
		byName[t.Name] = t
	}

	m := newLlama(cfg)
	for _, p := range m.params {
		t, ok := byName[p.Name]
		if !ok {
			return nil, fmt.Errorf("%s: %w: %s not found", source, ErrMissingTensor, p.Name)
		}
		if !equalShape(t.Shape, p.Shape) {
			return nil, fmt.Errorf("%s: %w: %s has shape %v, config.json implies %v", source, ErrMissingTensor, p.Name, t.Shape, p.Shape)
		}
		values, err := t.Float32()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		copy(p.Data, values)
	}
	return m, nil
}

// Save writes dir/config.json and dir/model.safetensors (F32, Hugging Face
// names, no lm_head.weight when it is tied), creating dir if needed.
// Weights above MaxShardBytes go to model-0000K-of-0000N.safetensors shards
// and model.safetensors.index.json instead. Each file is written under a
// temporary name and renamed when complete.
func (m *Llama) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	cfg := m.Config.withDefaults()
	cfg.TorchDType = "float32"
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding model config: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "config.json"), append(js, '\n')); err != nil {
		return err
	}

	return writeWeights(dir, m.params, m.lora.mergedData)
}

// PermuteQKForRotateHalf converts, in place, a q_proj or k_proj weight
// from Meta's layout, where RoPE rotates consecutive channel pairs (2i,
// 2i+1) of each head, to Hugging Face's rotate-half layout, where it
// rotates channels (i, i+HS/2). w is [nHeads*headDim, cols] row-major. Each
// head's rows are viewed as [headDim/2, 2] and transposed to [2, headDim/2],
// so row 2i+a moves to row a*headDim/2+i, which is the permutation of
// transformers' convert_llama_weights_to_hf.py. llama2.c checkpoints and
// GGUF files of the "llama" architecture need it; the biases of such a
// projection, if any, need the same permutation with cols = 1. It panics
// when len(w) != nHeads*headDim*cols or headDim is odd.
func PermuteQKForRotateHalf(w []float32, nHeads, headDim, cols int) {
	if headDim <= 0 || headDim%2 != 0 || nHeads <= 0 || cols <= 0 || len(w) != nHeads*headDim*cols {
		panic(fmt.Sprintf("model.PermuteQKForRotateHalf: %d elements for %d heads x %d head size (must be even) x %d columns", len(w), nHeads, headDim, cols))
	}
	half := headDim / 2
	head := make([]float32, headDim*cols)
	for h := 0; h < nHeads; h++ {
		rows := w[h*headDim*cols : (h+1)*headDim*cols]
		copy(head, rows)
		for i := 0; i < half; i++ {
			for a := 0; a < 2; a++ {
				src := head[(2*i+a)*cols : (2*i+a+1)*cols]
				copy(rows[(a*half+i)*cols:(a*half+i+1)*cols], src)
			}
		}
	}
}
