// Package llama2c reads Andrej Karpathy's llama2.c model checkpoints and
// tokenizer files and maps them to Hugging Face Llama names and layout.
//
// Checkpoint layout (the legacy "version 0" format that llama2.c's run.c
// reads, commit 350e04f, 2023): seven int32 values dim, hidden_dim,
// n_layers, n_heads, n_kv_heads, vocab_size, seq_len, then float32 weights
// in this order: token embedding [vocab, dim]; rms_att [layers, dim]; wq
// [layers, dim, dim]; wk and wv [layers, kv_dim, dim]; wo [layers, dim,
// dim]; rms_ffn [layers, dim]; w1 [layers, hidden, dim]; w2 [layers, dim,
// hidden]; w3 [layers, hidden, dim]; rms_final [dim]; the unused RoPE
// tables freq_cis_real and freq_cis_imag [seq_len, head_size/2] each; and,
// when vocab_size is negative, the untied classifier [vocab, dim]. Every
// number is little-endian.
//
// Tokenizer layout (tokenizer.bin, tok512.bin): int32 max_token_length,
// then per token a float32 score, an int32 byte length and the bytes. Spaces
// are stored as " ", not SentencePiece's U+2581.
package llama2c

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/model/gguf"
)

// RMSNormEps is the RMSNorm epsilon of llama2.c's run.c.
const RMSNormEps = 1e-5

// RopeTheta is the RoPE base of llama2.c's run.c.
const RopeTheta = 10000.0

// headerBytes is the size of the seven int32 header fields.
const headerBytes = 7 * 4

// Config is the checkpoint header. Sizes are counts.
type Config struct {
	Dim       int // model width (C)
	HiddenDim int // SwiGLU width
	NLayers   int
	NHeads    int
	NKVHeads  int
	// VocabSize is the absolute value of the stored vocab_size.
	VocabSize int
	// SeqLen is the longest sequence the model was trained on.
	SeqLen int
	// SharedClassifier is true when the stored vocab_size is positive: the
	// output projection reuses the token embedding.
	SharedClassifier bool
}

// HeadSize returns Dim / NHeads.
func (c Config) HeadSize() int { return c.Dim / c.NHeads }

// Params returns the configuration as the Llama hyperparameters of package
// gguf, with llama2.c's fixed RMSNorm epsilon and RoPE base.
func (c Config) Params() gguf.LlamaParams {
	return gguf.LlamaParams{
		Architecture:      "llama",
		VocabSize:         c.VocabSize,
		HiddenSize:        c.Dim,
		IntermediateSize:  c.HiddenDim,
		NumLayers:         c.NLayers,
		NumHeads:          c.NHeads,
		NumKVHeads:        c.NKVHeads,
		MaxPositions:      c.SeqLen,
		RopeTheta:         RopeTheta,
		RMSNormEps:        RMSNormEps,
		TieWordEmbeddings: c.SharedClassifier,
	}
}

// Checkpoint is a parsed llama2.c checkpoint.
type Checkpoint struct {
	Config Config
	// Tensors holds every weight under its Hugging Face Llama name, q and k
	// permuted to the rotate-half RoPE layout; lm_head.weight is present
	// only when the classifier is not shared.
	Tensors []gguf.Tensor
}

// ReadCheckpoint reads and parses the checkpoint at path.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading llama2.c checkpoint: %w", err)
	}
	return ParseCheckpoint(data, path)
}

// ParseCheckpoint parses a whole checkpoint held in data; name identifies
// it in errors. It returns an error wrapping ErrCorrupt when the header is
// invalid or the file size disagrees with it.
func ParseCheckpoint(data []byte, name string) (*Checkpoint, error) {
	if len(data) < headerBytes {
		return nil, fmt.Errorf("%s: %w: %d bytes, shorter than the %d-byte header", name, ErrCorrupt, len(data), headerBytes)
	}
	var h [7]int32
	for i := range h {
		h[i] = int32(binary.LittleEndian.Uint32(data[4*i:]))
	}
	cfg := Config{Dim: int(h[0]), HiddenDim: int(h[1]), NLayers: int(h[2]), NHeads: int(h[3]), NKVHeads: int(h[4]),
		VocabSize: int(h[5]), SeqLen: int(h[6]), SharedClassifier: h[5] > 0}
	if cfg.VocabSize < 0 {
		cfg.VocabSize = -cfg.VocabSize
	}
	fields := []struct {
		name string
		v    int
	}{{"dim", cfg.Dim}, {"hidden_dim", cfg.HiddenDim}, {"n_layers", cfg.NLayers}, {"n_heads", cfg.NHeads},
		{"n_kv_heads", cfg.NKVHeads}, {"vocab_size", cfg.VocabSize}, {"seq_len", cfg.SeqLen}}
	for i, f := range fields {
		if f.v <= 0 {
			return nil, fmt.Errorf("%s: %w: header field %s at byte offset %d is %d, want a positive count", name, ErrCorrupt, f.name, 4*i, f.v)
		}
	}
	if cfg.Dim%cfg.NHeads != 0 || cfg.NHeads%cfg.NKVHeads != 0 || cfg.HeadSize()%2 != 0 {
		return nil, fmt.Errorf("%s: %w: dim %d, n_heads %d, n_kv_heads %d do not fit together (need an even head size and n_heads divisible by n_kv_heads)",
			name, ErrCorrupt, cfg.Dim, cfg.NHeads, cfg.NKVHeads)
	}

	// Check the size before allocating anything. The float64 estimate
	// rejects header values whose weight count would overflow int64.
	C, H, L, V := int64(cfg.Dim), int64(cfg.HiddenDim), int64(cfg.NLayers), int64(cfg.VocabSize)
	kv := int64(cfg.NKVHeads) * int64(cfg.HeadSize())
	fC, fH, fL, fV, fKV := float64(C), float64(H), float64(L), float64(V), float64(kv)
	if est := 2*fV*fC + fC + float64(cfg.SeqLen)*float64(cfg.HeadSize()) + fL*(2*fC+2*fC*fC+2*fKV*fC+3*fH*fC); est > 1<<60 {
		return nil, fmt.Errorf("%s: %w: the header (dim %d, hidden_dim %d, n_layers %d, n_heads %d, n_kv_heads %d, vocab_size %d, seq_len %d) implies about %.3g weights, more than any file holds",
			name, ErrCorrupt, h[0], h[1], h[2], h[3], h[4], h[5], h[6], est)
	}
	perLayer := 2*C + C*C + 2*kv*C + C*C + 3*H*C
	want := V*C + C + int64(cfg.SeqLen)*int64(cfg.HeadSize()) + perLayer*L
	if !cfg.SharedClassifier {
		want += V * C
	}
	if got := int64(len(data) - headerBytes); got != 4*want {
		return nil, fmt.Errorf("%s: %w: %d weight bytes after the header, but the header (dim %d, hidden_dim %d, n_layers %d, n_heads %d, n_kv_heads %d, vocab_size %d, seq_len %d) implies %d; the file is truncated or not a llama2.c checkpoint",
			name, ErrCorrupt, got, h[0], h[1], h[2], h[3], h[4], h[5], h[6], 4*want)
	}

	// Read the weights in file order.
	r := reader{data: data, off: headerBytes}
	ck := &Checkpoint{Config: cfg}
	add := func(hf string, shape ...int) { ck.Tensors = append(ck.Tensors, gguf.Tensor{Name: hf, Shape: shape}) }
	embed := r.floats(int(V * C))
	perLayerTensor := func(suffix string, rows, cols int) {
		for l := range cfg.NLayers {
			hf := "model.layers." + strconv.Itoa(l) + "." + suffix
			w := r.floats(rows * cols)
			switch {
			case strings.HasSuffix(suffix, "q_proj.weight"):
				w = gguf.PermuteToRotateHalf(w, cfg.NHeads, cfg.HeadSize(), cols)
			case strings.HasSuffix(suffix, "k_proj.weight"):
				w = gguf.PermuteToRotateHalf(w, cfg.NKVHeads, cfg.HeadSize(), cols)
			}
			shape := []int{rows, cols}
			if rows == 1 {
				shape = []int{cols}
			}
			ck.Tensors = append(ck.Tensors, gguf.Tensor{Name: hf, Shape: shape, Data: w})
		}
	}
	add("model.embed_tokens.weight", int(V), int(C))
	ck.Tensors[0].Data = embed
	perLayerTensor("input_layernorm.weight", 1, cfg.Dim)
	perLayerTensor("self_attn.q_proj.weight", cfg.Dim, cfg.Dim)
	perLayerTensor("self_attn.k_proj.weight", int(kv), cfg.Dim)
	perLayerTensor("self_attn.v_proj.weight", int(kv), cfg.Dim)
	perLayerTensor("self_attn.o_proj.weight", cfg.Dim, cfg.Dim)
	perLayerTensor("post_attention_layernorm.weight", 1, cfg.Dim)
	perLayerTensor("mlp.gate_proj.weight", cfg.HiddenDim, cfg.Dim)
	perLayerTensor("mlp.down_proj.weight", cfg.Dim, cfg.HiddenDim)
	perLayerTensor("mlp.up_proj.weight", cfg.HiddenDim, cfg.Dim)
	add("model.norm.weight", cfg.Dim)
	ck.Tensors[len(ck.Tensors)-1].Data = r.floats(cfg.Dim)
	r.off += 4 * cfg.SeqLen * cfg.HeadSize() // freq_cis_real and freq_cis_imag, unused
	if !cfg.SharedClassifier {
		add("lm_head.weight", int(V), int(C))
		ck.Tensors[len(ck.Tensors)-1].Data = r.floats(int(V * C))
	}
	return ck, nil
}

// reader decodes float32 values; ParseCheckpoint has checked the size.
type reader struct {
	data []byte
	off  int
}

func (r *reader) floats(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.data[r.off+4*i:]))
	}
	r.off += 4 * n
	return out
}

// LoadLlama reads the checkpoint at path and returns it as a model.Llama
// with q/k weights in the rotate-half layout, RMSNorm epsilon 1e-5 and
// RoPE base 10000, as run.c uses.
func LoadLlama(path string) (*model.Llama, error) {
	ck, err := ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	m, err := gguf.NewLlama(ck.Config.Params(), ck.Tensors)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
