package gguf

import (
	"fmt"
	"strconv"
	"strings"
)

// Default hyperparameters of llama.cpp (llama-model.cpp, 2024) used when a
// key is absent.
const (
	defaultRopeTheta  = 10000.0
	defaultRMSNormEps = 1e-5
	defaultContext    = 2048
)

// LlamaParams is the Hugging Face LlamaConfig / Qwen2Config read from the
// metadata of a "llama" or "qwen2" GGUF file. Sizes are counts.
type LlamaParams struct {
	// Architecture is general.architecture: "llama" or "qwen2".
	Architecture string
	// VocabSize is the number of rows of token_embd (V).
	VocabSize int
	// HiddenSize is <arch>.embedding_length (C).
	HiddenSize int
	// IntermediateSize is <arch>.feed_forward_length, the SwiGLU width.
	IntermediateSize int
	// NumLayers is <arch>.block_count.
	NumLayers int
	// NumHeads is <arch>.attention.head_count; HiddenSize/NumHeads is the
	// head size (HS).
	NumHeads int
	// NumKVHeads is <arch>.attention.head_count_kv. Absent means NumHeads.
	NumKVHeads int
	// MaxPositions is <arch>.context_length. Absent means 2048.
	MaxPositions int
	// RopeTheta is <arch>.rope.freq_base. Absent means 10000.
	RopeTheta float64
	// RMSNormEps is <arch>.attention.layer_norm_rms_epsilon. Absent means
	// 1e-5.
	RMSNormEps float64
	// TieWordEmbeddings is true when the file has no output.weight, so the
	// output projection reuses token_embd.
	TieWordEmbeddings bool
	// AttentionBias is true when the q/k/v projections have biases (Qwen2).
	AttentionBias bool
}

// HeadSize returns HiddenSize / NumHeads.
func (p LlamaParams) HeadSize() int { return p.HiddenSize / p.NumHeads }

// LlamaParams reads the hyperparameters of a "llama" or "qwen2" file.
// It returns an error wrapping ErrUnsupported for another architecture and
// ErrMissing when a required key is absent.
func (f *File) LlamaParams() (LlamaParams, error) {
	arch, _ := f.String("general.architecture")
	if arch != "llama" && arch != "qwen2" {
		return LlamaParams{}, fmt.Errorf("%s: %w: general.architecture %q (only \"llama\" and \"qwen2\" are mapped)", f.Name, ErrUnsupported, arch)
	}
	p := LlamaParams{Architecture: arch, RopeTheta: defaultRopeTheta, RMSNormEps: defaultRMSNormEps, MaxPositions: defaultContext}
	required := []struct {
		key string
		dst *int
	}{
		{"embedding_length", &p.HiddenSize},
		{"feed_forward_length", &p.IntermediateSize},
		{"block_count", &p.NumLayers},
		{"attention.head_count", &p.NumHeads},
	}
	for _, r := range required {
		v, ok := f.Uint(arch + "." + r.key)
		if !ok || v == 0 || v > 1<<24 {
			return LlamaParams{}, fmt.Errorf("%s: %w: %s.%s is absent or not a positive integer", f.Name, ErrMissing, arch, r.key)
		}
		*r.dst = int(v)
	}
	if p.NumLayers > len(f.Tensors) {
		return LlamaParams{}, fmt.Errorf("%s: %w: %s.block_count %d exceeds the %d tensors in the file", f.Name, ErrMissing, arch, p.NumLayers, len(f.Tensors))
	}
	p.NumKVHeads = p.NumHeads
	if v, ok := f.Uint(arch + ".attention.head_count_kv"); ok {
		p.NumKVHeads = int(v)
	}
	if v, ok := f.Uint(arch + ".context_length"); ok && v > 0 && v <= 1<<24 {
		p.MaxPositions = int(v)
	}
	if v, ok := f.Float(arch + ".rope.freq_base"); ok {
		p.RopeTheta = v
	}
	if v, ok := f.Float(arch + ".attention.layer_norm_rms_epsilon"); ok {
		// Round through float32 the way the file stores it, then keep the
		// shortest decimal: 1e-5 stays 1e-5 rather than 9.99999974738e-06.
		p.RMSNormEps, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', -1, 32), 64)
	}
	if p.NumKVHeads <= 0 || p.HiddenSize%p.NumHeads != 0 || p.NumHeads%p.NumKVHeads != 0 || p.HeadSize()%2 != 0 {
		return LlamaParams{}, fmt.Errorf("%s: %w: embedding_length %d, head_count %d, head_count_kv %d do not fit together (need an even head size and head_count divisible by head_count_kv)",
			f.Name, ErrUnsupported, p.HiddenSize, p.NumHeads, p.NumKVHeads)
	}

	embd, ok := f.Tensor("token_embd.weight")
	if !ok || len(embd.Dims) != 2 || embd.Dims[0] != uint64(p.HiddenSize) {
		return LlamaParams{}, fmt.Errorf("%s: %w: token_embd.weight absent or not [%d, vocab] in GGUF order", f.Name, ErrMissing, p.HiddenSize)
	}
	p.VocabSize = int(embd.Dims[1])
	_, hasOutput := f.Tensor("output.weight")
	p.TieWordEmbeddings = !hasOutput
	_, p.AttentionBias = f.Tensor("blk.0.attn_q.bias")
	return p, nil
}

// Tensor is one float32 tensor under its Hugging Face name.
type Tensor struct {
	// Name is the Hugging Face name, such as "model.layers.0.self_attn.q_proj.weight".
	Name string
	// Shape is row-major; a Linear weight is [out, in].
	Shape []int
	Data  []float32
}

// blockNames maps the llama.cpp tensor name suffix inside blk.N to the
// Hugging Face name inside model.layers.N (llama.cpp gguf-py
// tensor_mapping.py).
var blockNames = map[string]string{
	"attn_norm.weight":   "input_layernorm.weight",
	"attn_q.weight":      "self_attn.q_proj.weight",
	"attn_k.weight":      "self_attn.k_proj.weight",
	"attn_v.weight":      "self_attn.v_proj.weight",
	"attn_q.bias":        "self_attn.q_proj.bias",
	"attn_k.bias":        "self_attn.k_proj.bias",
	"attn_v.bias":        "self_attn.v_proj.bias",
	"attn_output.weight": "self_attn.o_proj.weight",
	"attn_output.bias":   "self_attn.o_proj.bias", // Llama with attention_bias
	"ffn_norm.weight":    "post_attention_layernorm.weight",
	"ffn_gate.weight":    "mlp.gate_proj.weight",
	"ffn_up.weight":      "mlp.up_proj.weight",
	"ffn_down.weight":    "mlp.down_proj.weight",
}

// globalNames maps the llama.cpp names outside the blocks.
var globalNames = map[string]string{
	"token_embd.weight":  "model.embed_tokens.weight",
	"output_norm.weight": "model.norm.weight",
	"output.weight":      "lm_head.weight",
}

// HFName returns the Hugging Face name of a llama.cpp tensor name, and
// false for a name outside the llama mapping (such as rope_freqs.weight).
func HFName(name string) (string, bool) {
	if hf, ok := globalNames[name]; ok {
		return hf, true
	}
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return "", false
	}
	layer, suffix, ok := strings.Cut(rest, ".")
	if _, err := strconv.Atoi(layer); !ok || err != nil {
		return "", false
	}
	hf, ok := blockNames[suffix]
	if !ok {
		return "", false
	}
	return "model.layers." + layer + "." + hf, true
}

// GGUFName returns the llama.cpp name of a Hugging Face Llama tensor name,
// the inverse of HFName.
func GGUFName(hf string) (string, bool) {
	for g, h := range globalNames {
		if h == hf {
			return g, true
		}
	}
	rest, ok := strings.CutPrefix(hf, "model.layers.")
	if !ok {
		return "", false
	}
	layer, suffix, ok := strings.Cut(rest, ".")
	if _, err := strconv.Atoi(layer); !ok || err != nil {
		return "", false
	}
	for g, h := range blockNames {
		if h == suffix {
			return "blk." + layer + "." + g, true
		}
	}
	return "", false
}

// LlamaTensors converts every tensor the llama mapping names to float32
// under its Hugging Face name, in file order, and checks each shape against
// p. For the "llama" architecture the q and k weights (and biases) are
// permuted from the consecutive-pair RoPE layout that llama.cpp's converter
// stores to Hugging Face's rotate-half layout; "qwen2" files already use
// rotate-half and are copied as they are. Tensors outside the mapping are
// skipped.
func (f *File) LlamaTensors(p LlamaParams) ([]Tensor, error) {
	want := expectedShapes(p)
	var out []Tensor
	for _, t := range f.Tensors {
		hf, ok := HFName(t.Name)
		if !ok {
			continue
		}
		shape, ok := want[hf]
		if !ok {
			return nil, fmt.Errorf("%s: %w: tensor %q (%s) does not belong to a %d-layer model", f.Name, ErrMissing, t.Name, hf, p.NumLayers)
		}
		if got := t.Shape(); !equalShape(got, shape) {
			return nil, fmt.Errorf("%s: %w: tensor %q has shape %v, the metadata implies %v", f.Name, ErrMissing, t.Name, got, shape)
		}
		data, err := t.Float32()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if p.Architecture == "llama" {
			switch {
			case strings.HasSuffix(hf, "q_proj.weight"), strings.HasSuffix(hf, "q_proj.bias"):
				data = PermuteToRotateHalf(data, p.NumHeads, p.HeadSize(), len(data)/(p.NumHeads*p.HeadSize()))
			case strings.HasSuffix(hf, "k_proj.weight"), strings.HasSuffix(hf, "k_proj.bias"):
				data = PermuteToRotateHalf(data, p.NumKVHeads, p.HeadSize(), len(data)/(p.NumKVHeads*p.HeadSize()))
			}
		}
		out = append(out, Tensor{Name: hf, Shape: shape, Data: data})
		delete(want, hf)
	}
	for hf := range want {
		if strings.HasSuffix(hf, ".bias") || (hf == "lm_head.weight" && p.TieWordEmbeddings) {
			continue
		}
		g, _ := GGUFName(hf)
		return nil, fmt.Errorf("%s: %w: tensor %q (%s) not found", f.Name, ErrMissing, g, hf)
	}
	return out, nil
}

// expectedShapes returns the row-major shape of every tensor a model with
// p may hold; biases and lm_head are optional.
func expectedShapes(p LlamaParams) map[string][]int {
	C, V, I := p.HiddenSize, p.VocabSize, p.IntermediateSize
	kvDim := p.NumKVHeads * p.HeadSize()
	m := map[string][]int{
		"model.embed_tokens.weight": {V, C},
		"model.norm.weight":         {C},
		"lm_head.weight":            {V, C},
	}
	for l := range p.NumLayers {
		pre := "model.layers." + strconv.Itoa(l) + "."
		m[pre+"input_layernorm.weight"] = []int{C}
		m[pre+"self_attn.q_proj.weight"] = []int{C, C}
		m[pre+"self_attn.k_proj.weight"] = []int{kvDim, C}
		m[pre+"self_attn.v_proj.weight"] = []int{kvDim, C}
		m[pre+"self_attn.q_proj.bias"] = []int{C}
		m[pre+"self_attn.k_proj.bias"] = []int{kvDim}
		m[pre+"self_attn.v_proj.bias"] = []int{kvDim}
		m[pre+"self_attn.o_proj.weight"] = []int{C, C}
		m[pre+"self_attn.o_proj.bias"] = []int{C}
		m[pre+"post_attention_layernorm.weight"] = []int{C}
		m[pre+"mlp.gate_proj.weight"] = []int{I, C}
		m[pre+"mlp.up_proj.weight"] = []int{I, C}
		m[pre+"mlp.down_proj.weight"] = []int{C, I}
	}
	return m
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// PermuteToRotateHalf returns the rows of a q or k projection w, shape
// [nHeads*headSize, cols] row-major, reordered from the consecutive-pair
// RoPE layout (Meta, llama2.c, llama.cpp's "llama") to Hugging Face's
// rotate-half layout. Within each head, output row s*headSize/2 + i is
// input row 2*i + s: the view [nHeads, headSize/2, 2, cols] with its middle
// axes swapped, as transformers' convert_llama_weights_to_hf.py does. A
// bias is the case cols = 1. It panics when len(w) is not
// nHeads*headSize*cols or headSize is odd.
func PermuteToRotateHalf(w []float32, nHeads, headSize, cols int) []float32 {
	return permuteRows(w, nHeads, headSize, cols, true)
}

// PermuteToPairs is the inverse of PermuteToRotateHalf: it reorders a
// Hugging Face q or k projection to the consecutive-pair layout that
// llama.cpp expects for the "llama" architecture (the permute in
// convert_hf_to_gguf.py).
func PermuteToPairs(w []float32, nHeads, headSize, cols int) []float32 {
	return permuteRows(w, nHeads, headSize, cols, false)
}

func permuteRows(w []float32, nHeads, headSize, cols int, toRotateHalf bool) []float32 {
	if headSize%2 != 0 || len(w) != nHeads*headSize*cols {
		panic(fmt.Sprintf("gguf: permuting q/k rows: %d values, want [%d heads * %d head size, %d cols] with an even head size", len(w), nHeads, headSize, cols))
	}
	out := make([]float32, len(w))
	half := headSize / 2
	for h := range nHeads {
		for i := range half {
			for s := range 2 {
				pairRow := h*headSize + 2*i + s
				halfRow := h*headSize + s*half + i
				src, dst := pairRow, halfRow
				if !toRotateHalf {
					src, dst = halfRow, pairRow
				}
				copy(out[dst*cols:(dst+1)*cols], w[src*cols:(src+1)*cols])
			}
		}
	}
	return out
}
