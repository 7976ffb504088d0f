package gguf

// The "gpt2" architecture mapping follows llama.cpp's converter
// (convert_hf_to_gguf.py, class GPT2Model, and gguf-py's
// tensor_mapping.py, 2024-2025). Transformers stores the four Conv1D
// weights of each block as [in,out], so they are transposed to the [out,in]
// rows that ggml's matrix product reads. Every other tensor is copied as it
// is.
// GGUF dims list the fastest-varying axis first, so a row-major [out,in]
// matrix is written with dims [in, out].

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/adapt-llm/adapt/model"
)

// gpt2Block maps the Hugging Face name inside h.N to the llama.cpp name
// inside blk.N and reports whether the tensor is a Conv1D weight that is
// transposed.
var gpt2Block = []struct {
	hf, gguf  string
	transpose bool
}{
	{"ln_1.weight", "attn_norm.weight", false},
	{"ln_1.bias", "attn_norm.bias", false},
	{"attn.c_attn.weight", "attn_qkv.weight", true},
	{"attn.c_attn.bias", "attn_qkv.bias", false},
	{"attn.c_proj.weight", "attn_output.weight", true},
	{"attn.c_proj.bias", "attn_output.bias", false},
	{"ln_2.weight", "ffn_norm.weight", false},
	{"ln_2.bias", "ffn_norm.bias", false},
	{"mlp.c_fc.weight", "ffn_up.weight", true},
	{"mlp.c_fc.bias", "ffn_up.bias", false},
	{"mlp.c_proj.weight", "ffn_down.weight", true},
	{"mlp.c_proj.bias", "ffn_down.bias", false},
}

// gpt2Global maps the GPT-2 tensors outside the blocks.
var gpt2Global = map[string]string{
	"wte.weight":  "token_embd.weight",
	"wpe.weight":  "position_embd.weight",
	"ln_f.weight": "output_norm.weight",
	"ln_f.bias":   "output_norm.bias",
}

// GPT2GGUFName returns the llama.cpp name of a Hugging Face GPT-2 tensor
// name (without the "transformer." prefix) and whether the tensor is a
// Conv1D weight that the file stores transposed. It returns false for a
// name outside the mapping.
func GPT2GGUFName(hf string) (name string, transpose, ok bool) {
	if g, ok := gpt2Global[hf]; ok {
		return g, false, true
	}
	rest, ok := strings.CutPrefix(hf, "h.")
	if !ok {
		return "", false, false
	}
	layer, suffix, ok := strings.Cut(rest, ".")
	if _, err := strconv.Atoi(layer); !ok || err != nil {
		return "", false, false
	}
	for _, b := range gpt2Block {
		if b.hf == suffix {
			return "blk." + layer + "." + b.gguf, b.transpose, true
		}
	}
	return "", false, false
}

// transpose returns the [cols,rows] row-major transpose of w, a row-major
// [rows,cols] matrix. It panics when len(w) != rows*cols.
func transpose(w []float32, rows, cols int) []float32 {
	if len(w) != rows*cols {
		panic(fmt.Sprintf("gguf: transposing %d values as [%d,%d]", len(w), rows, cols))
	}
	out := make([]float32, len(w))
	for r := range rows {
		for c := range cols {
			out[c*rows+r] = w[r*cols+c]
		}
	}
	return out
}

// GPT2Metadata returns the metadata llama.cpp needs to run a "gpt2" model
// with configuration cfg and tokenizer v (nil writes no tokenizer keys),
// with general.name set to name and general.file_type derived from typ.
func GPT2Metadata(cfg model.GPT2Config, v *Vocab, name string, typ GGMLType) []KV {
	md := []KV{
		{"general.architecture", "gpt2"},
		{"general.name", name},
		{"general.file_type", fileType(typ)},
		{KeyAlignment, uint32(DefaultAlignment)},
		{"gpt2.context_length", uint32(cfg.NPositions)},
		{"gpt2.embedding_length", uint32(cfg.NEmbd)},
		{"gpt2.feed_forward_length", uint32(4 * cfg.NEmbd)},
		{"gpt2.block_count", uint32(cfg.NLayer)},
		{"gpt2.attention.head_count", uint32(cfg.NHead)},
		{"gpt2.attention.layer_norm_epsilon", float32(cfg.LayerNormEpsilon)},
	}
	return append(md, vocabMetadata(v)...)
}

// GPT2GGUFTensors converts the parameters of m to GGUF tensors of type typ
// under llama.cpp's names, in Parameters order, transposing the Conv1D
// weights. One-dimensional tensors and position_embd stay F32, as
// llama.cpp's converter keeps them. A Q8_0 matrix whose rows are not a
// multiple of 32 values also stays F32. No output.weight is written:
// GPT-2 ties the output projection to token_embd, and llama.cpp falls back
// to token_embd when output is absent.
func GPT2GGUFTensors(m *model.GPT2, typ GGMLType) []TensorInfo {
	params := m.Parameters()
	out := make([]TensorInfo, 0, len(params))
	for _, p := range params {
		name, tr, ok := GPT2GGUFName(p.Name)
		if !ok {
			panic(fmt.Sprintf("gguf: GPT-2 parameter %q has no llama.cpp name", p.Name))
		}
		shape, data := p.Shape, p.Data
		if tr {
			shape = []int{p.Shape[1], p.Shape[0]}
			data = transpose(p.Data, p.Shape[0], p.Shape[1])
		}
		tt := typ
		if len(shape) < 2 || name == "position_embd.weight" || (typ == GGMLTypeQ8_0 && shape[len(shape)-1]%q8BlockSize != 0) {
			tt = GGMLTypeF32
		}
		out = append(out, FromFloat32(name, shape, data, tt))
	}
	return out
}

// WriteGPT2 writes m and its tokenizer v (nil writes none) as a "gpt2"
// GGUF file that llama.cpp and Ollama load, with matrices of type typ
// (F32, F16, BF16 or Q8_0). The file is written under a temporary name and
// renamed when complete. It returns an error wrapping ErrUnsupported for a
// model with an attached LoRA adapter (merge it first).
func WriteGPT2(path string, m *model.GPT2, v *Vocab, name string, typ GGMLType) error {
	if len(m.Parameters()) != 4+12*m.Config.NLayer {
		return fmt.Errorf("writing %s: %w: the GPT-2 model has an attached adapter; merge it before exporting", path, ErrUnsupported)
	}
	return Write(path, GPT2Metadata(m.Config, v, name, typ), GPT2GGUFTensors(m, typ))
}

// GPT2Config reads the configuration of a "gpt2" file. The vocabulary size
// comes from token_embd and the position count from position_embd. It
// returns an error wrapping ErrUnsupported for another architecture or a
// feed-forward width other than 4*embedding_length, and ErrMissing when a
// required key or tensor is absent.
func (f *File) GPT2Config() (model.GPT2Config, error) {
	arch, _ := f.String("general.architecture")
	if arch != "gpt2" {
		return model.GPT2Config{}, fmt.Errorf("%s: %w: general.architecture %q, want \"gpt2\"", f.Name, ErrUnsupported, arch)
	}
	var c model.GPT2Config
	for _, r := range []struct {
		key string
		dst *int
	}{
		{"gpt2.embedding_length", &c.NEmbd},
		{"gpt2.block_count", &c.NLayer},
		{"gpt2.attention.head_count", &c.NHead},
	} {
		v, ok := f.Uint(r.key)
		if !ok || v == 0 || v > 1<<24 {
			return model.GPT2Config{}, fmt.Errorf("%s: %w: %s is absent or not a positive integer", f.Name, ErrMissing, r.key)
		}
		*r.dst = int(v)
	}
	if c.NLayer > len(f.Tensors) {
		return model.GPT2Config{}, fmt.Errorf("%s: %w: gpt2.block_count %d exceeds the %d tensors in the file", f.Name, ErrMissing, c.NLayer, len(f.Tensors))
	}
	if ff, ok := f.Uint("gpt2.feed_forward_length"); ok && ff != uint64(4*c.NEmbd) {
		return model.GPT2Config{}, fmt.Errorf("%s: %w: gpt2.feed_forward_length %d, only 4*embedding_length = %d is implemented", f.Name, ErrUnsupported, ff, 4*c.NEmbd)
	}
	if c.NEmbd%c.NHead != 0 {
		return model.GPT2Config{}, fmt.Errorf("%s: %w: embedding_length %d is not divisible by head_count %d", f.Name, ErrUnsupported, c.NEmbd, c.NHead)
	}
	if v, ok := f.Float("gpt2.attention.layer_norm_epsilon"); ok {
		// The file stores float32; keep the shortest decimal (1e-5).
		c.LayerNormEpsilon, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', -1, 32), 64)
	}
	for _, t := range []struct {
		name string
		dst  *int
	}{{"token_embd.weight", &c.VocabSize}, {"position_embd.weight", &c.NPositions}} {
		info, ok := f.Tensor(t.name)
		if !ok || len(info.Dims) != 2 || info.Dims[0] != uint64(c.NEmbd) || info.Dims[1] == 0 || info.Dims[1] > 1<<24 {
			return model.GPT2Config{}, fmt.Errorf("%s: %w: %s absent or not [%d, n] in GGUF order", f.Name, ErrMissing, t.name, c.NEmbd)
		}
		*t.dst = int(info.Dims[1])
	}
	c.ModelType = "gpt2"
	c.TieWordEmbeddings = true
	if id, ok := f.Uint("tokenizer.ggml.bos_token_id"); ok && id < uint64(c.VocabSize) {
		c.BOSTokenID = int(id)
	}
	if id, ok := f.Uint("tokenizer.ggml.eos_token_id"); ok && id < uint64(c.VocabSize) {
		c.EOSTokenID = int(id)
	}
	return c, nil
}

// GPT2 builds the model stored in a "gpt2" file, undoing the transposition
// of the Conv1D weights. Every tensor of the configuration must be present
// with the shape it implies. An output.weight is accepted only when it
// equals token_embd, because model.GPT2 ties the two.
func (f *File) GPT2() (*model.GPT2, error) {
	cfg, err := f.GPT2Config()
	if err != nil {
		return nil, err
	}
	// Check every shape before allocating, so that the model's size is
	// bounded by tensor data that the file really holds.
	C := cfg.NEmbd
	want := map[string][]int{
		"token_embd.weight": {cfg.VocabSize, C}, "position_embd.weight": {cfg.NPositions, C},
		"output_norm.weight": {C}, "output_norm.bias": {C},
	}
	blockShapes := map[string][]int{
		"attn_norm.weight": {C}, "attn_norm.bias": {C}, "attn_qkv.weight": {3 * C, C}, "attn_qkv.bias": {3 * C},
		"attn_output.weight": {C, C}, "attn_output.bias": {C}, "ffn_norm.weight": {C}, "ffn_norm.bias": {C},
		"ffn_up.weight": {4 * C, C}, "ffn_up.bias": {4 * C}, "ffn_down.weight": {C, 4 * C}, "ffn_down.bias": {C},
	}
	for l := range cfg.NLayer {
		for suffix, shape := range blockShapes {
			want["blk."+strconv.Itoa(l)+"."+suffix] = shape
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		shape := want[name]
		info, ok := f.Tensor(name)
		if !ok {
			return nil, fmt.Errorf("%s: %w: tensor %q not found", f.Name, ErrMissing, name)
		}
		if got := info.Shape(); !equalShape(got, shape) {
			return nil, fmt.Errorf("%s: %w: tensor %q has shape %v, the metadata implies %v", f.Name, ErrMissing, name, got, shape)
		}
	}

	m := model.NewGPT2(cfg, 0)
	for _, p := range m.Parameters() {
		name, tr, _ := GPT2GGUFName(p.Name)
		info, _ := f.Tensor(name)
		data, err := info.Float32()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if tr {
			data = transpose(data, p.Shape[1], p.Shape[0])
		}
		copy(p.Data, data)
	}
	if out, ok := f.Tensor("output.weight"); ok {
		data, err := out.Float32()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		embd := m.Parameters()[0].Data
		if len(data) != len(embd) {
			return nil, fmt.Errorf("%s: %w: output.weight differs in size from token_embd; untied GPT-2 output is not implemented", f.Name, ErrUnsupported)
		}
		for i := range data {
			if data[i] != embd[i] {
				return nil, fmt.Errorf("%s: %w: output.weight differs from token_embd; untied GPT-2 output is not implemented", f.Name, ErrUnsupported)
			}
		}
	}
	return m, nil
}

// LoadGPT2 reads a "gpt2" GGUF file and returns the model and its
// tokenizer.
func LoadGPT2(path string) (*model.GPT2, *Vocab, error) {
	f, err := Read(path)
	if err != nil {
		return nil, nil, err
	}
	m, err := f.GPT2()
	if err != nil {
		return nil, nil, err
	}
	v, err := f.Vocab()
	if err != nil {
		return nil, nil, err
	}
	return m, v, nil
}
