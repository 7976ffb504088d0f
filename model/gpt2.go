// Package model implements transformer language models on top of the
// float32 kernels in package tensor: GPT-2, following Hugging Face
// transformers' GPT2LMHeadModel (v4) and Karpathy's llm.c train_gpt2.c,
// with loading and saving in the Hugging Face folder layout.
package model

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/adapt-llm/adapt/model/safetensors"

	"github.com/adapt-llm/adapt/internal/atomicfile"
)

// IgnoreIndex marks a target position that is not scored, as PyTorch's
// cross_entropy ignore_index does.
const IgnoreIndex = -100

// initStd is the standard deviation of GPT-2's normal weight initialization
// (initializer_range in transformers' GPT2Config).
const initStd = 0.02

// Param is one parameter tensor with its gradient.
type Param struct {
	// Name is the Hugging Face safetensors name, such as "h.0.attn.c_attn.weight".
	Name  string
	Shape []int
	// Data and Grad have product(Shape) elements, row-major. Conv1D weights
	// are stored [in,out].
	Data, Grad []float32
}

// block holds the parameters of one transformer block. Shapes use C for
// n_embd.
type block struct {
	ln1W, ln1B       *Param // [C], [C]
	qkvW, qkvB       *Param // [C,3C], [3C]
	attProjW         *Param // [C,C]
	attProjB         *Param // [C]
	ln2W, ln2B       *Param // [C], [C]
	fcW, fcB         *Param // [C,4C], [4C]
	fcProjW, fcProjB *Param // [4C,C], [C]
}

// GPT2 is a GPT-2 language model with tied input and output embeddings.
// A GPT2 is not safe for concurrent use: Forward and ForwardBackward share
// activation buffers.
type GPT2 struct {
	Config GPT2Config

	params []*Param
	wte    *Param // [V,C], also the output projection
	wpe    *Param // [NPositions,C]
	blocks []block
	lnfW   *Param // [C]
	lnfB   *Param // [C]

	acts *activations
	lora *LoRA // attached adapter, or nil
}

// NewGPT2 returns a randomly initialized model as transformers initializes
// GPT-2: weights N(0, 0.02), the two residual output projections of each
// block (attn.c_proj, mlp.c_proj) N(0, 0.02/sqrt(2*n_layer)), biases 0,
// LayerNorm weights 1. The same seed gives the same weights. It panics on a
// configuration that validate rejects.
func NewGPT2(cfg GPT2Config, seed int64) *GPT2 {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		panic("model.NewGPT2: " + err.Error())
	}
	m := newGPT2(cfg)

	r := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	residualStd := initStd / math.Sqrt(2*float64(cfg.NLayer))
	for _, p := range m.params {
		switch {
		case strings.HasSuffix(p.Name, "ln_1.weight"), strings.HasSuffix(p.Name, "ln_2.weight"), p.Name == "ln_f.weight":
			fill(p.Data, 1)
		case strings.HasSuffix(p.Name, ".bias"):
			// zero from allocation
		case strings.HasSuffix(p.Name, "c_proj.weight"):
			normal(r, p.Data, residualStd)
		default:
			normal(r, p.Data, initStd)
		}
	}
	return m
}

func fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}

func normal(r *rand.Rand, x []float32, std float64) {
	for i := range x {
		x[i] = float32(r.NormFloat64() * std)
	}
}

// newGPT2 allocates zeroed parameters and gradients in one block each, in
// the order Parameters returns them.
func newGPT2(cfg GPT2Config) *GPT2 {
	m := &GPT2{Config: cfg}
	V, P, C := cfg.VocabSize, cfg.NPositions, cfg.NEmbd
	add := func(name string, shape ...int) *Param {
		p := &Param{Name: name, Shape: shape}
		m.params = append(m.params, p)
		return p
	}

	m.wte = add("wte.weight", V, C)
	m.wpe = add("wpe.weight", P, C)
	for l := 0; l < cfg.NLayer; l++ {
		prefix := fmt.Sprintf("h.%d.", l)
		m.blocks = append(m.blocks, block{
			ln1W:     add(prefix+"ln_1.weight", C),
			ln1B:     add(prefix+"ln_1.bias", C),
			qkvW:     add(prefix+"attn.c_attn.weight", C, 3*C),
			qkvB:     add(prefix+"attn.c_attn.bias", 3*C),
			attProjW: add(prefix+"attn.c_proj.weight", C, C),
			attProjB: add(prefix+"attn.c_proj.bias", C),
			ln2W:     add(prefix+"ln_2.weight", C),
			ln2B:     add(prefix+"ln_2.bias", C),
			fcW:      add(prefix+"mlp.c_fc.weight", C, 4*C),
			fcB:      add(prefix+"mlp.c_fc.bias", 4*C),
			fcProjW:  add(prefix+"mlp.c_proj.weight", 4*C, C),
			fcProjB:  add(prefix+"mlp.c_proj.bias", C),
		})
	}
	m.lnfW = add("ln_f.weight", C)
	m.lnfB = add("ln_f.bias", C)

	total := 0
	for _, p := range m.params {
		total += numElements(p.Shape)
	}
	data, grad := make([]float32, total), make([]float32, total)
	off := 0
	for _, p := range m.params {
		n := numElements(p.Shape)
		p.Data, p.Grad = data[off:off+n:off+n], grad[off:off+n:off+n]
		off += n
	}
	return m
}

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Parameters returns every parameter in a fixed order: wte, wpe, each
// block's ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj
// (weight before bias), then ln_f. The output projection is tied to wte and
// has no entry of its own.
func (m *GPT2) Parameters() []*Param {
	if m.lora != nil {
		return m.lora.Parameters()
	}
	return m.params
}

// NumParameters returns the number of scalar parameters.
func (m *GPT2) NumParameters() int {
	n := 0
	for _, p := range m.params {
		n += len(p.Data)
	}
	return n
}

// ZeroGrad sets every parameter gradient to zero.
func (m *GPT2) ZeroGrad() {
	for _, p := range m.params {
		clear(p.Grad)
	}
	m.lora.zeroGrad()
}

// LoadGPT2 reads a Hugging Face GPT-2 folder: dir/config.json and F32, F16
// or BF16 weights (converted to float32) in dir/model.safetensors or, for a
// sharded checkpoint, in the shards dir/model.safetensors.index.json lists.
// Names may carry transformers' "transformer." prefix; lm_head.weight (tied
// to wte) and the attention mask buffers of older checkpoints are ignored.
func LoadGPT2(dir string) (*GPT2, error) {
	cfg, err := readGPT2Config(dir)
	if err != nil {
		return nil, err
	}
	tensors, path, err := readWeights(dir)
	if err != nil {
		return nil, fmt.Errorf("loading GPT-2 weights: %w", err)
	}
	byName := make(map[string]safetensors.Tensor, len(tensors))
	for _, t := range tensors {
		byName[strings.TrimPrefix(t.Name, "transformer.")] = t
	}

	m := newGPT2(cfg)
	for _, p := range m.params {
		t, ok := byName[p.Name]
		if !ok {
			return nil, fmt.Errorf("%s: %w: %s not found", path, ErrMissingTensor, p.Name)
		}
		if !equalShape(t.Shape, p.Shape) {
			return nil, fmt.Errorf("%s: %w: %s has shape %v, config.json implies %v", path, ErrMissingTensor, p.Name, t.Shape, p.Shape)
		}
		values, err := t.Float32()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		copy(p.Data, values)
	}
	return m, nil
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

// Save writes dir/config.json and dir/model.safetensors (F32, Hugging Face
// names, lm_head not stored because it is tied to wte), creating dir if
// needed. Weights above MaxShardBytes go to model-0000K-of-0000N.safetensors
// shards and model.safetensors.index.json instead. Each file is written
// under a temporary name and renamed when complete.
func (m *GPT2) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	cfg := m.Config.withDefaults()
	if cfg.TorchDType == "" {
		cfg.TorchDType = "float32"
	}
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding model config: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "config.json"), append(js, '\n')); err != nil {
		return err
	}

	return writeWeights(dir, m.params, m.lora.mergedData)
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// over path.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
