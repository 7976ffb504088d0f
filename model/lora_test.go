package model

import (
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
)

var loraGoldenModels = []string{"gpt2-tiny", "llama-tiny", "qwen2-tiny"}

// loadGoldenWithAdapter loads a golden model and attaches its PEFT adapter.
func loadGoldenWithAdapter(t *testing.T, name string) (*goldens, CausalLM, *LoRA) {
	t.Helper()
	g := loadModelGoldens(t, name)
	m, err := Load(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := LoadLoRA(m, filepath.Join(g.dir, "lora_adapter"))
	if err != nil {
		t.Fatal(err)
	}
	return g, m, l
}

func TestLoRAGoldenLogits(t *testing.T) {
	for _, name := range loraGoldenModels {
		t.Run(name, func(t *testing.T) {
			g, m, _ := loadGoldenWithAdapter(t, name)
			logits := m.Forward(g.ids, g.B, g.T)
			compareGolden(t, "lora_logits", logits, g.tensor(t, "lora_logits"))
		})
	}
}

func TestLoRAGoldenLossAndGradients(t *testing.T) {
	for _, name := range loraGoldenModels {
		t.Run(name, func(t *testing.T) {
			g, m, l := loadGoldenWithAdapter(t, name)
			var want struct {
				Lora struct {
					Loss float64 `json:"loss"`
				} `json:"lora"`
			}
			readJSON(t, filepath.Join(g.dir, "goldens.json"), &want)

			m.ZeroGrad()
			loss := m.ForwardBackward(g.ids, g.targets, g.B, g.T)
			if diff := math.Abs(float64(loss) - want.Lora.Loss); diff > goldenRTol*want.Lora.Loss {
				t.Errorf("loss: got %.9g, want %.9g", loss, want.Lora.Loss)
			}

			params := m.Parameters()
			if len(params) != 2*len(l.modules) || len(params) == 0 {
				t.Fatalf("Parameters: got %d tensors, want the adapter's %d", len(params), 2*len(l.modules))
			}
			for _, p := range params {
				golden := "lora_grad." + strings.TrimSuffix(canonicalAdapterName(p.Name), ".weight")
				compareGolden(t, golden, p.Grad, g.tensor(t, golden))
			}
		})
	}
}

// TestLoRAMergeKeepsLogits checks that Merge and Save (which merges
// without changing the model) reproduce the adapter's logits. Both add
// s*B*A once to each weight in float32, so the logits differ from the
// adapter path's only by rounding, far below the golden tolerance used
// here.
func TestLoRAMergeKeepsLogits(t *testing.T) {
	for _, name := range loraGoldenModels {
		t.Run(name, func(t *testing.T) {
			g, m, l := loadGoldenWithAdapter(t, name)
			want := slices.Clone(m.Forward(g.ids, g.B, g.T))
			golden := make([]float64, len(want))
			for i, v := range want {
				golden[i] = float64(v)
			}

			// Save writes merged weights and leaves the adapter attached.
			dir := t.TempDir()
			if err := m.Save(dir); err != nil {
				t.Fatal(err)
			}
			saved, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, "saved merged logits", saved.Forward(g.ids, g.B, g.T), golden)
			compareGolden(t, "logits after Save", m.Forward(g.ids, g.B, g.T), golden)

			l.Merge()
			if n := len(m.Parameters()); n == 2*len(l.modules) {
				t.Errorf("Parameters after Merge: got %d tensors, want the full model's", n)
			}
			compareGolden(t, "merged logits", m.Forward(g.ids, g.B, g.T), golden)
		})
	}
}

func TestLoRAPEFTRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		new  func() CausalLM
		cfg  LoRAConfig
	}{
		{"gpt2 all layers", func() CausalLM { return smallGPT2() }, LoRAConfig{R: 3, Alpha: 6, Dropout: 0.1, TargetModules: []string{"c_attn", "c_proj", "c_fc"}, Seed: 1}},
		{"llama attention", func() CausalLM { return NewLlama(smallLlama(), 1) }, LoRAConfig{R: 2, Alpha: 16, TargetModules: []string{"q_proj", "k_proj", "v_proj", "o_proj"}, Seed: 2}},
		{"llama rslora regexp", func() CausalLM { return NewLlama(smallLlama(), 1) }, LoRAConfig{R: 4, Alpha: 8, UseRSLoRA: true, TargetRegexp: `.*\.mlp\..*_proj`, Seed: 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewLoRA(tc.new(), tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			randomizeB(l, 4)
			dir := t.TempDir()
			if err := l.Save(dir, "some/base"); err != nil {
				t.Fatal(err)
			}

			got, err := LoadLoRA(tc.new(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if got.scale != l.scale || got.Config.R != l.Config.R || got.Config.Dropout != l.Config.Dropout {
				t.Errorf("config: got r %d scaling %g dropout %g, want r %d scaling %g dropout %g",
					got.Config.R, got.scale, got.Config.Dropout, l.Config.R, l.scale, l.Config.Dropout)
			}
			if len(got.params) != len(l.params) {
				t.Fatalf("got %d tensors, want %d", len(got.params), len(l.params))
			}
			for i, p := range l.params {
				if q := got.params[i]; q.Name != p.Name || !slices.Equal(q.Data, p.Data) {
					t.Errorf("tensor %d: got %s, want %s with equal values", i, q.Name, p.Name)
				}
			}
		})
	}
}

// TestLoRANamesMatchPEFT checks the tensor names of a new adapter against
// the names PEFT wrote into the golden adapters.
func TestLoRANamesMatchPEFT(t *testing.T) {
	for _, name := range loraGoldenModels {
		t.Run(name, func(t *testing.T) {
			g := loadModelGoldens(t, name)
			m, err := Load(g.dir)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := LoadLoRA(m, filepath.Join(g.dir, "lora_adapter"))
			if err != nil {
				t.Fatal(err)
			}
			ref.Detach()
			l, err := NewLoRA(m, LoRAConfig{R: 4, Alpha: 8})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := l.Save(dir, g.dir); err != nil {
				t.Fatal(err)
			}
			want := readSafetensorNames(t, filepath.Join(g.dir, "lora_adapter", AdapterWeightsFile))
			got := readSafetensorNames(t, filepath.Join(dir, AdapterWeightsFile))
			if !slices.Equal(got, want) {
				t.Errorf("tensor names:\ngot  %v\nwant %v", got, want)
			}
		})
	}
}

func TestNewLoRAInit(t *testing.T) {
	m := smallGPT2()
	ids, targets := randomBatch(m.Config.VocabSize, 2, 6, 1)
	want := slices.Clone(m.Forward(ids, 2, 6))
	l, err := NewLoRA(m, LoRAConfig{R: 4, Alpha: 8, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	for _, mod := range l.modules {
		bound := float32(1 / math.Sqrt(float64(mod.site.in)))
		for i, v := range mod.A.Data {
			if v < -bound || v > bound {
				t.Fatalf("%s[%d] = %g, want within ±%g", mod.A.Name, i, v, bound)
			}
		}
		if slices.ContainsFunc(mod.B.Data, func(v float32) bool { return v != 0 }) {
			t.Errorf("%s: want all zero", mod.B.Name)
		}
	}
	if got := m.Forward(ids, 2, 6); !slices.Equal(got, want) {
		t.Error("logits changed when a zero-initialized adapter was attached")
	}
	if got := l.TargetModules(); !slices.Equal(got, []string{"c_attn"}) {
		t.Errorf("default targets: got %v, want [c_attn]", got)
	}

	// Training moves only the adapter.
	base := slices.Clone(m.params[0].Data)
	m.ZeroGrad()
	m.ForwardBackward(ids, targets, 2, 6)
	for _, p := range m.Parameters() {
		if !strings.Contains(p.Name, ".lora_") {
			t.Errorf("Parameters includes base tensor %s", p.Name)
		}
	}
	if !slices.Equal(base, m.params[0].Data) {
		t.Error("ForwardBackward changed a base weight")
	}
}

// TestLoRAFiniteDifference checks the adapter gradients of every layer
// kind, with and without dropout, against central differences of the loss.
// Dropout masks depend only on the pass count, so resetting it before each
// evaluation keeps the mask fixed. At h = 1e-2 the O(h^2) truncation error
// of GPT-2 with weights of order 1 reached 5%, so h is 3e-3. The float32
// loss (about 3, relative rounding 1e-6) then carries a difference noise of
// about 1e-6*3/h = 1e-3, hence atol 2e-3 and rtol 2e-2.
func TestLoRAFiniteDifference(t *testing.T) {
	cases := []struct {
		name    string
		new     func() CausalLM
		dropout float64
	}{
		{"gpt2", func() CausalLM { g := smallGPT2(); scaleWeights(g.params, 3); return g }, 0},
		{"gpt2 dropout", func() CausalLM { g := smallGPT2(); scaleWeights(g.params, 3); return g }, 0.3},
		{"llama", func() CausalLM { return NewLlama(smallLlama(), 3) }, 0},
		{"llama dropout", func() CausalLM { return NewLlama(smallLlama(), 3) }, 0.3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.new()
			l, err := NewLoRA(m, LoRAConfig{R: 2, Alpha: 4, Dropout: tc.dropout, TargetRegexp: "all-linear", Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			randomizeB(l, 5)
			const B, T = 2, 5
			ids, targets := randomBatch(m.VocabSize(), B, T, 4)
			targets[3] = IgnoreIndex
			lossAt := func() float64 {
				l.SetPasses(0)
				return float64(m.ForwardBackward(ids, targets, B, T))
			}
			lossAt()
			grads := map[*Param][]float32{}
			for _, p := range m.Parameters() {
				grads[p] = slices.Clone(p.Grad)
			}

			r := rand.New(rand.NewPCG(5, 6))
			const h = 3e-3
			for _, p := range m.Parameters() {
				for s := 0; s < 3; s++ {
					i := r.IntN(len(p.Data))
					orig := p.Data[i]
					p.Data[i] = orig + h
					plus := lossAt()
					p.Data[i] = orig - h
					minus := lossAt()
					p.Data[i] = orig
					num := (plus - minus) / (2 * h)
					if got := float64(grads[p][i]); math.Abs(num-got) > 2e-3+2e-2*math.Abs(num) {
						t.Errorf("%s[%d]: analytic %g, finite difference %g", p.Name, i, got, num)
					}
				}
			}
		})
	}
}

func TestLoRADropoutOnlyInTraining(t *testing.T) {
	m := NewLlama(smallLlama(), 3)
	l, err := NewLoRA(m, LoRAConfig{R: 2, Dropout: 0.5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	randomizeB(l, 2)
	ids, targets := randomBatch(m.VocabSize(), 2, 5, 1)
	eval1, eval2 := m.Loss(ids, targets, 2, 5), m.Loss(ids, targets, 2, 5)
	train1, train2 := m.ForwardBackward(ids, targets, 2, 5), m.ForwardBackward(ids, targets, 2, 5)
	if eval1 != eval2 {
		t.Errorf("Loss is not deterministic: %g then %g", eval1, eval2)
	}
	if train1 == eval1 || train1 == train2 {
		t.Errorf("ForwardBackward losses %g and %g, Loss %g: want dropout to change each pass", train1, train2, eval1)
	}
	l.SetPasses(0)
	if again := m.ForwardBackward(ids, targets, 2, 5); again != train1 {
		t.Errorf("pass 0 repeated: got %g, want %g", again, train1)
	}
}

func TestNewLoRAErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  LoRAConfig
		want string
	}{
		{"zero rank", LoRAConfig{R: 0}, "rank"},
		{"dropout one", LoRAConfig{R: 2, Dropout: 1}, "lora_dropout"},
		{"unknown target", LoRAConfig{R: 2, TargetModules: []string{"q_proj"}},
			"lora target_modules [q_proj] match no layer of this gpt2 model; its linear layers are c_attn, c_proj, c_fc"},
		{"one unknown target", LoRAConfig{R: 2, TargetModules: []string{"c_attn", "c_fcc"}}, "target_modules [c_fcc] match no layer"},
		{"pattern matching nothing", LoRAConfig{R: 2, TargetRegexp: `.*\.q_proj`}, "matches no layer of this gpt2 model"},
		// smallGPT2 has n_embd 8, so c_attn is [8 in, 24 out].
		{"rank above layer width", LoRAConfig{R: 9, TargetModules: []string{"c_attn"}},
			"rank r 9 exceeds min(in_features, out_features) = 8 of layer transformer.h.0.attn.c_attn (in_features 8, out_features 24)"},
		{"bad pattern", LoRAConfig{R: 2, TargetRegexp: "("}, "pattern"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewLoRA(smallGPT2(), tc.cfg)
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrUnsupported mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := NewLoRA(smallGPT2(), LoRAConfig{R: 8, TargetModules: []string{"c_attn"}}); err != nil {
		t.Errorf("rank equal to layer width: got %v, want nil", err)
	}
	m := smallGPT2()
	if _, err := NewLoRA(m, LoRAConfig{R: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLoRA(m, LoRAConfig{R: 2}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("second adapter: got %v, want ErrUnsupported", err)
	}
}

func TestParsePEFTConfig(t *testing.T) {
	cases := []struct {
		name    string
		json    string
		want    LoRAConfig
		wantErr error
	}{
		{"list", `{"peft_type":"LORA","r":4,"lora_alpha":8,"target_modules":["q_proj","v_proj"]}`,
			LoRAConfig{R: 4, Alpha: 8, TargetModules: []string{"q_proj", "v_proj"}}, nil},
		{"pattern", `{"peft_type":"LORA","r":2,"lora_alpha":4,"lora_dropout":0.1,"target_modules":".*attn.*"}`,
			LoRAConfig{R: 2, Alpha: 4, Dropout: 0.1, TargetRegexp: ".*attn.*"}, nil},
		{"default alpha", `{"peft_type":"LORA","r":16,"use_rslora":true}`, LoRAConfig{R: 16, Alpha: 8, UseRSLoRA: true}, nil},
		{"prefix tuning", `{"peft_type":"PREFIX_TUNING","r":4}`, LoRAConfig{}, ErrUnsupported},
		{"dora", `{"peft_type":"LORA","r":4,"use_dora":true}`, LoRAConfig{}, ErrUnsupported},
		{"lora bias", `{"peft_type":"LORA","r":4,"bias":"lora_only"}`, LoRAConfig{}, ErrUnsupported},
		{"layers", `{"peft_type":"LORA","r":4,"layers_to_transform":[0]}`, LoRAConfig{}, ErrUnsupported},
		{"zero rank", `{"peft_type":"LORA","r":0}`, LoRAConfig{}, ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePEFTConfig([]byte(tc.json))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("got error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLoadLoRAErrors(t *testing.T) {
	g := loadModelGoldens(t, "llama-tiny")
	m, err := Load(g.dir)
	if err != nil {
		t.Fatal(err)
	}

	// A folder whose adapter lacks a selected layer.
	l, err := NewLoRA(m, LoRAConfig{R: 4, Alpha: 8, TargetModules: []string{"q_proj"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := l.Save(dir, ""); err != nil {
		t.Fatal(err)
	}
	l.Detach()
	cfgOnly := strings.Replace(readFile(t, filepath.Join(dir, AdapterConfigFile)), `"q_proj"`, `"q_proj", "v_proj"`, 1)
	writeFile(t, filepath.Join(dir, AdapterConfigFile), cfgOnly)
	if _, err := LoadLoRA(m, dir); !errors.Is(err, ErrMissingTensor) || !strings.Contains(err.Error(), "v_proj") {
		t.Errorf("missing v_proj tensors: got %v, want ErrMissingTensor naming v_proj", err)
	}
	if _, err := LoadLoRA(m, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("empty folder: got %v, want a not found error", err)
	}
}

func FuzzParsePEFTConfig(f *testing.F) {
	f.Add([]byte(`{"peft_type":"LORA","r":4,"lora_alpha":8,"target_modules":["c_attn"],"fan_in_fan_out":true}`))
	f.Add([]byte(`{"peft_type":"LORA","r":2,"target_modules":"all-linear"}`))
	f.Add([]byte(`{"peft_type":"LORA","r":-1,"lora_dropout":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParsePEFTConfig(data)
		if err != nil {
			return
		}
		if err := cfg.validate(); err != nil {
			t.Errorf("ParsePEFTConfig accepted an invalid config: %v", err)
		}
	})
}

// smallGPT2 returns a random two-layer GPT-2 small enough for finite
// differences.
func smallGPT2() *GPT2 {
	return NewGPT2(GPT2Config{VocabSize: 13, NPositions: 8, NEmbd: 8, NLayer: 2, NHead: 2}, 3)
}

// scaleWeights multiplies every parameter by f, giving weights of order 1
// whose gradients stand above the finite-difference noise.
func scaleWeights(params []*Param, f float32) {
	for _, p := range params {
		for i := range p.Data {
			p.Data[i] *= f
		}
	}
}

// randomizeB fills every B with uniform values in [-0.5, 0.5), so the
// adapter changes the output and A receives a gradient.
func randomizeB(l *LoRA, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 1))
	for _, mod := range l.modules {
		for i := range mod.B.Data {
			mod.B.Data[i] = float32(r.Float64() - 0.5)
		}
	}
}

func randomBatch(V, B, T int, seed uint64) (ids, targets []int32) {
	r := rand.New(rand.NewPCG(seed, 2))
	ids, targets = make([]int32, B*T), make([]int32, B*T)
	for i := range ids {
		ids[i] = int32(r.IntN(V))
		targets[i] = int32(r.IntN(V))
	}
	return ids, targets
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(readFile(t, path)), v); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
}

func readSafetensorNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := safetensors.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tt := range f.Tensors {
		names = append(names, tt.Name)
	}
	slices.Sort(names)
	return names
}

func TestLoRASaveBaseModelPath(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "basemodel", "gpt2-small"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	cases := []struct {
		name, base string
		want       *string
	}{
		{"relative local folder", filepath.Join("basemodel", "gpt2-small"), ptr(filepath.Join(root, "basemodel", "gpt2-small"))},
		{"hub id", "openai-community/gpt2", ptr("openai-community/gpt2")},
		{"empty", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewLoRA(smallGPT2(), LoRAConfig{R: 2})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := l.Save(dir, tc.base); err != nil {
				t.Fatal(err)
			}
			var pc PEFTConfig
			if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, AdapterConfigFile))), &pc); err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == nil && pc.BaseModelNameOrPath != nil:
				t.Errorf("base_model_name_or_path: got %q, want null", *pc.BaseModelNameOrPath)
			case tc.want != nil && (pc.BaseModelNameOrPath == nil || *pc.BaseModelNameOrPath != *tc.want):
				t.Errorf("base_model_name_or_path: got %v, want %q", pc.BaseModelNameOrPath, *tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestLoadLoRAToleratesTargetModelLacks(t *testing.T) {
	l, err := NewLoRA(smallGPT2(), LoRAConfig{R: 2, TargetModules: []string{"c_attn"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := l.Save(dir, ""); err != nil {
		t.Fatal(err)
	}
	// PEFT loads an adapter whose target_modules also lists modules the
	// model lacks, as long as one matches.
	cfg := strings.Replace(readFile(t, filepath.Join(dir, AdapterConfigFile)), `"c_attn"`, `"c_attn", "q_proj"`, 1)
	writeFile(t, filepath.Join(dir, AdapterConfigFile), cfg)
	if _, err := LoadLoRA(smallGPT2(), dir); err != nil {
		t.Errorf("got %v, want nil", err)
	}
}
