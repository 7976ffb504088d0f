package model

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/model/safetensors"
	"github.com/adapt-llm/adapt/tensor"
)

// smallLlama is a configuration that exercises every optional path the
// goldens do not: a head size other than C/NH, multi-query attention, an
// o_proj bias, untied lm_head and Llama 3 RoPE scaling whose bands fall
// inside HS/2 = 3 frequencies.
func smallLlama() LlamaConfig {
	return LlamaConfig{
		ModelType: "llama", VocabSize: 11, HiddenSize: 8, IntermediateSize: 10,
		NumHiddenLayers: 2, NumAttentionHeads: 2, NumKeyValueHeads: 1, HeadDim: 6,
		MaxPositionEmbeddings: 16, RMSNormEps: 1e-5, RopeTheta: 100, AttentionBias: true,
		RopeScaling: &RopeScalingConfig{RopeType: "llama3", Factor: 4, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8},
		// Weights of order 1 give gradients well above the finite-difference
		// noise floor.
		InitializerRange: 0.5,
	}
}

// TestLlamaFiniteDifference checks every parameter's gradient at a few
// sampled entries against central differences of Loss. Loss is computed
// in float32 with a relative rounding error of about 1e-6, so at h = 1e-2
// the difference carries noise of about 1e-6*|loss|/h = 3e-4 for losses
// near 3. The O(h^2) truncation error is of the same order, hence atol
// 1e-3 and rtol 2e-2.
func TestLlamaFiniteDifference(t *testing.T) {
	for _, tied := range []bool{false, true} {
		t.Run(fmt.Sprintf("tied=%v", tied), func(t *testing.T) {
			cfg := smallLlama()
			cfg.TieWordEmbeddings = tied
			m := NewLlama(cfg, 3)
			const B, T = 2, 5
			r := rand.New(rand.NewPCG(5, 6))
			ids, targets := make([]int32, B*T), make([]int32, B*T)
			for i := range ids {
				ids[i] = int32(r.IntN(cfg.VocabSize))
				targets[i] = int32(r.IntN(cfg.VocabSize))
			}
			targets[3] = IgnoreIndex
			m.ForwardBackward(ids, targets, B, T)

			const h = 1e-2
			for _, p := range m.Parameters() {
				for s := 0; s < 4; s++ {
					i := r.IntN(len(p.Data))
					orig := p.Data[i]
					p.Data[i] = orig + h
					plus := float64(m.Loss(ids, targets, B, T))
					p.Data[i] = orig - h
					minus := float64(m.Loss(ids, targets, B, T))
					p.Data[i] = orig
					num := (plus - minus) / (2 * h)
					if got := float64(p.Grad[i]); math.Abs(num-got) > 1e-3+2e-2*math.Abs(num) {
						t.Errorf("%s[%d]: analytic %g, finite difference %g", p.Name, i, got, num)
					}
				}
			}
		})
	}
}

// ropeConsecutivePairs is Meta's and llama2.c's RoPE: within each head of
// HS channels it rotates the pair (2i, 2i+1) by t*invFreq[i].
func ropeConsecutivePairs(x []float64, nHeads, HS, t int, invFreq []float64) {
	for h := 0; h < nHeads; h++ {
		for i := 0; i < HS/2; i++ {
			s, c := math.Sincos(float64(t) * invFreq[i])
			a, b := x[h*HS+2*i], x[h*HS+2*i+1]
			x[h*HS+2*i] = a*c - b*s
			x[h*HS+2*i+1] = b*c + a*s
		}
	}
}

func TestPermuteQKForRotateHalf(t *testing.T) {
	const nHeads, HS, C, pos = 3, 8, 5, 7
	r := rand.New(rand.NewPCG(9, 10))
	meta := make([]float32, nHeads*HS*C)
	for i := range meta {
		meta[i] = float32(r.NormFloat64())
	}
	u := make([]float32, C)
	for i := range u {
		u[i] = float32(r.NormFloat64())
	}
	invFreq := tensor.RoPEInvFreq(HS, 10000, tensor.RoPEScaling{})

	// Meta path: project with the original weight, rotate consecutive pairs.
	want := make([]float64, nHeads*HS)
	for o := range want {
		for c := range u {
			want[o] += float64(meta[o*C+c]) * float64(u[c])
		}
	}
	ropeConsecutivePairs(want, nHeads, HS, pos, invFreq)

	// Hugging Face path: permute, project, rotate halves at position pos.
	hf := slices.Clone(meta)
	PermuteQKForRotateHalf(hf, nHeads, HS, C)
	x := make([]float32, (pos+1)*nHeads*HS)
	row := x[pos*nHeads*HS:]
	tensor.LinearForwardRef(row, u, hf, nil, 1, C, nHeads*HS)
	tensor.RoPEForwardRef(x, nHeads*HS, invFreq, 1, pos+1, nHeads, HS)

	// Channel i of a rotate-half head is channel 2i of the Meta head, and
	// channel HS/2+i is channel 2i+1.
	for h := 0; h < nHeads; h++ {
		for i := 0; i < HS/2; i++ {
			for a := 0; a < 2; a++ {
				got, w := float64(row[h*HS+a*HS/2+i]), want[h*HS+2*i+a]
				// float32 products of C=5 terms of order 1: a few ulps.
				if math.Abs(got-w) > 1e-5*(1+math.Abs(w)) {
					t.Errorf("head %d channel %d: rotate-half %g, consecutive-pair %g", h, 2*i+a, got, w)
				}
			}
		}
	}
}

func TestPermuteQKForRotateHalfPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("odd head size did not panic")
		}
	}()
	PermuteQKForRotateHalf(make([]float32, 6), 2, 3, 1)
}

func TestLlamaSaveLoadRoundTrip(t *testing.T) {
	for _, tied := range []bool{false, true} {
		t.Run(fmt.Sprintf("tied=%v", tied), func(t *testing.T) {
			cfg := smallLlama()
			cfg.TieWordEmbeddings = tied
			cfg.Extra = map[string]json.RawMessage{"eos_token_id": json.RawMessage(`[9, 10]`), "bos_token_id": json.RawMessage(`8`)}
			m := NewLlama(cfg, 1)
			dir := filepath.Join(t.TempDir(), "model")
			if err := m.Save(dir); err != nil {
				t.Fatal(err)
			}
			loaded, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			back, ok := loaded.(*Llama)
			if !ok {
				t.Fatalf("Load returned %T, want *Llama", loaded)
			}
			if got := back.Config.EOSTokenIDs(); !slices.Equal(got, []int{9, 10}) {
				t.Errorf("EOSTokenIDs = %v, want [9 10]", got)
			}
			if got := back.Config.BOSTokenIDs(); !slices.Equal(got, []int{8}) {
				t.Errorf("BOSTokenIDs = %v, want [8]", got)
			}
			if back.Config.RopeScaling == nil || back.Config.RopeScaling.RopeType != "llama3" {
				t.Errorf("rope_scaling = %+v, want llama3", back.Config.RopeScaling)
			}
			if back.Config.TorchDType != "float32" {
				t.Errorf("torch_dtype = %q, want float32", back.Config.TorchDType)
			}
			for i, p := range m.Parameters() {
				if q := back.Parameters()[i]; q.Name != p.Name || !slices.Equal(p.Data, q.Data) {
					t.Errorf("%s differs after a round trip", p.Name)
				}
			}
			f, err := safetensors.Read(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := f.Tensor("lm_head.weight"); ok == tied {
				t.Errorf("lm_head.weight stored = %v with tie_word_embeddings %v", ok, tied)
			}
		})
	}
}

// toBF16 keeps the top 16 bits of each float32, which is exact for values
// whose low mantissa bits are zero.
func toBF16(t safetensors.Tensor) safetensors.Tensor {
	out := safetensors.Tensor{Name: t.Name, DType: safetensors.BF16, Shape: t.Shape, Data: make([]byte, len(t.Data)/2)}
	for i := 0; i < len(t.Data)/4; i++ {
		bits := binary.LittleEndian.Uint32(t.Data[4*i:])
		binary.LittleEndian.PutUint16(out.Data[2*i:], uint16(bits>>16))
	}
	return out
}

func TestLoadLlamaHalfPrecision(t *testing.T) {
	cfg := smallLlama()
	m := NewLlama(cfg, 2)
	// Truncate every weight to bfloat16 precision so the conversion is exact.
	for _, p := range m.Parameters() {
		for i, v := range p.Data {
			p.Data[i] = math.Float32frombits(math.Float32bits(v) &^ 0xffff)
		}
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}

	// Rewrite the weights: norms as F16, everything else as BF16.
	var tensors []safetensors.Tensor
	for _, p := range m.Parameters() {
		st := safetensors.FromFloat32(p.Name, p.Shape, p.Data)
		if strings.HasSuffix(p.Name, "norm.weight") {
			// RMSNorm weights are all 1.0, which is 0x3c00 in float16.
			st = safetensors.Tensor{Name: p.Name, DType: safetensors.F16, Shape: p.Shape, Data: make([]byte, 2*len(p.Data))}
			for i := range p.Data {
				binary.LittleEndian.PutUint16(st.Data[2*i:], 0x3c00)
			}
		} else {
			st = toBF16(st)
		}
		tensors = append(tensors, st)
	}
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), tensors, nil); err != nil {
		t.Fatal(err)
	}

	back, err := LoadLlama(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Parameters() {
		if !slices.Equal(p.Data, back.Parameters()[i].Data) {
			t.Errorf("%s differs after loading BF16/F16", p.Name)
		}
	}
}

func TestLoadDispatch(t *testing.T) {
	write := func(t *testing.T, config string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	cases := []struct {
		name     string
		config   string
		want     error
		wantText string
	}{
		{"unknown type", `{"model_type":"falcon"}`, ErrUnsupported, `model_type "falcon"`},
		{"missing type", `{"hidden_size":8}`, ErrUnsupported, "model_type is missing"},
		{"llama without weights", `{"model_type":"llama","vocab_size":11,"hidden_size":8,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":2,"max_position_embeddings":8}`, os.ErrNotExist, "model.safetensors"},
		{"gpt2 without weights", `{"model_type":"gpt2","vocab_size":11,"n_positions":8,"n_embd":8,"n_layer":1,"n_head":2}`, os.ErrNotExist, "model.safetensors"},
		{"invalid JSON", `{"model_type":`, nil, "parsing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := write(t, c.config)
			_, err := Load(dir)
			if err == nil {
				t.Fatal("Load returned no error")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %q does not wrap %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.wantText) {
				t.Errorf("error %q does not mention %q", err, c.wantText)
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the folder %s", err, dir)
			}
		})
	}

	t.Run("gpt2", func(t *testing.T) {
		dir := t.TempDir()
		if err := NewGPT2(GPT2Config{VocabSize: 20, NPositions: 8, NEmbd: 8, NLayer: 1, NHead: 2}, 1).Save(dir); err != nil {
			t.Fatal(err)
		}
		m, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.(*GPT2); !ok || m.VocabSize() != 20 || m.MaxPositions() != 8 {
			t.Errorf("Load = %T with vocab %d and %d positions, want *GPT2 with 20 and 8", m, m.VocabSize(), m.MaxPositions())
		}
	})
}

func TestLlamaConfigValidate(t *testing.T) {
	window := 4
	cases := []struct {
		name   string
		change func(*LlamaConfig)
		want   string // empty means valid
	}{
		{"valid", func(c *LlamaConfig) {}, ""},
		{"mistral", func(c *LlamaConfig) { c.ModelType = "mistral" }, ""},
		{"gelu", func(c *LlamaConfig) { c.HiddenAct = "gelu" }, "hidden_act"},
		{"mlp bias", func(c *LlamaConfig) { c.MLPBias = true }, "mlp_bias"},
		{"uneven groups", func(c *LlamaConfig) { c.NumAttentionHeads, c.NumKeyValueHeads = 3, 2 }, "multiple"},
		{"odd head size", func(c *LlamaConfig) { c.HeadDim = 5 }, "odd"},
		{"zero vocabulary", func(c *LlamaConfig) { c.VocabSize = 0 }, "positive"},
		{"yarn scaling", func(c *LlamaConfig) { c.RopeScaling = &RopeScalingConfig{Type: "yarn", Factor: 4} }, "yarn"},
		{"llama3 without bands", func(c *LlamaConfig) { c.RopeScaling = &RopeScalingConfig{RopeType: "llama3", Factor: 8} }, "low_freq_factor"},
		{"linear factor below one", func(c *LlamaConfig) { c.RopeScaling = &RopeScalingConfig{Type: "linear", Factor: 0.5} }, "factor"},
		{"sliding window", func(c *LlamaConfig) { c.ModelType = "mistral"; c.SlidingWindow = &window }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := smallLlama()
			c.change(&cfg)
			err := cfg.withDefaults().validate()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("validate = %v, want nil", err)
			case c.want != "" && (err == nil || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.want)):
				t.Errorf("validate = %v, want ErrUnsupported mentioning %q", err, c.want)
			}
		})
	}
}

func TestLlamaMaxPositions(t *testing.T) {
	window := 4
	cases := []struct {
		name      string
		modelType string
		window    *int
		useWindow bool
		want      int
	}{
		{"no window", "llama", nil, false, 16},
		{"mistral window", "mistral", &window, false, 4},
		{"qwen2 window unused", "qwen2", &window, false, 16},
		{"qwen2 window used", "qwen2", &window, true, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := smallLlama()
			cfg.ModelType, cfg.SlidingWindow, cfg.UseSlidingWindow = c.modelType, c.window, c.useWindow
			if got := NewLlama(cfg, 1).MaxPositions(); got != c.want {
				t.Errorf("MaxPositions = %d, want %d", got, c.want)
			}
		})
	}
}

func TestNewLlamaInit(t *testing.T) {
	cfg := smallLlama()
	cfg.InitializerRange = 0
	cfg.VocabSize, cfg.HiddenSize, cfg.IntermediateSize = 300, 64, 128
	cfg.NumAttentionHeads, cfg.HeadDim = 4, 16
	m := NewLlama(cfg, 7)
	rms := func(x []float32) float64 {
		var s float64
		for _, v := range x {
			s += float64(v) * float64(v)
		}
		return math.Sqrt(s / float64(len(x)))
	}
	cases := []struct {
		name string
		want float64
	}{
		{"model.embed_tokens.weight", 0.02},
		{"model.layers.0.self_attn.q_proj.weight", 0.02},
		{"model.layers.1.mlp.down_proj.weight", 0.02},
		{"model.layers.0.input_layernorm.weight", 1},
		{"model.norm.weight", 1},
		{"model.layers.0.self_attn.k_proj.bias", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range m.Parameters() {
				if p.Name == c.name {
					if got := rms(p.Data); math.Abs(got-c.want) > 0.1*c.want+1e-9 {
						t.Errorf("rms = %g, want %g", got, c.want)
					}
					return
				}
			}
			t.Fatal("parameter not found")
		})
	}
	if again := NewLlama(cfg, 7); !slices.Equal(again.Parameters()[1].Data, m.Parameters()[1].Data) {
		t.Error("same seed gave different weights")
	}
}

// FuzzLlamaConfig checks that any config.json that parses survives a
// Save-style round trip unchanged, Extra included.
func FuzzLlamaConfig(f *testing.F) {
	f.Add([]byte(`{"model_type":"llama","hidden_size":8,"eos_token_id":[1,2],"rope_scaling":{"type":"linear","factor":2}}`))
	f.Add([]byte(`{"model_type":"qwen2","sliding_window":null,"use_sliding_window":false,"x":{"y":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var cfg LlamaConfig
		if json.Unmarshal(data, &cfg) != nil {
			return
		}
		cfg.withDefaults().validate()
		out, err := json.Marshal(cfg)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back LlamaConfig
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("reparse %s: %v", out, err)
		}
		again, err := json.Marshal(back)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(out) {
			t.Errorf("round trip changed\n%s\nto\n%s", out, again)
		}
	})
}
