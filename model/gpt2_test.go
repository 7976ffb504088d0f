package model

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
	"github.com/adapt-llm/adapt/model/safetensors"
)

// Tolerances against the float64 PyTorch goldens: float32 arithmetic
// through a few layers keeps about 1e-4 relative accuracy, and values near
// zero get an absolute floor because their relative error is unbounded.
const (
	goldenRTol = 1e-4
	goldenATol = 1e-6
)

type goldens struct {
	dir     string
	file    *safetensors.File
	ids     []int32
	targets []int32
	B, T    int
	json    struct {
		Loss   float64 `json:"loss"`
		Greedy struct {
			Prompt    []int32 `json:"prompt"`
			NewTokens []int32 `json:"new_tokens"`
		} `json:"greedy"`
	}
}

func loadGoldens(t *testing.T) *goldens {
	t.Helper()
	g := &goldens{dir: sharedtest.Dir(t, "goldens", "models", "gpt2-tiny")}
	f, err := safetensors.Read(filepath.Join(g.dir, "goldens.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	g.file = f
	idsT, ok := f.Tensor("input_ids")
	if !ok {
		t.Fatal("goldens have no input_ids")
	}
	ids, err := idsT.Int64()
	if err != nil {
		t.Fatal(err)
	}
	g.B, g.T = idsT.Shape[0], idsT.Shape[1]
	for i, id := range ids {
		g.ids = append(g.ids, int32(id))
		// Next-token targets; the last position of each row is not scored.
		if (i+1)%g.T == 0 {
			g.targets = append(g.targets, IgnoreIndex)
		} else {
			g.targets = append(g.targets, int32(ids[i+1]))
		}
	}
	data, err := os.ReadFile(filepath.Join(g.dir, "goldens.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &g.json); err != nil {
		t.Fatal(err)
	}
	return g
}

func (g *goldens) tensor(t *testing.T, name string) []float64 {
	t.Helper()
	tt, ok := g.file.Tensor(name)
	if !ok {
		t.Fatalf("golden tensor %s not found", name)
	}
	v, err := tt.Float64()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func compareGolden(t *testing.T, name string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	bad, worst := 0, 0.0
	for i := range got {
		diff := math.Abs(float64(got[i]) - want[i])
		if diff > goldenATol+goldenRTol*math.Abs(want[i]) || math.IsNaN(float64(got[i])) {
			if bad < 3 {
				t.Errorf("%s[%d] = %.9g, want %.9g", name, i, got[i], want[i])
			}
			bad++
		}
		worst = max(worst, diff/(goldenATol+goldenRTol*math.Abs(want[i])))
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values outside tolerance", name, bad, len(got))
	}
	t.Logf("%s: worst error is %.2f of the tolerance", name, worst)
}

func TestGPT2GoldenLogits(t *testing.T) {
	g := loadGoldens(t)
	m, err := LoadGPT2(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	logits := m.Forward(g.ids, g.B, g.T)
	compareGolden(t, "logits", logits, g.tensor(t, "logits"))
}

func TestGPT2GoldenLossAndGradients(t *testing.T) {
	g := loadGoldens(t)
	m, err := LoadGPT2(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	loss := m.ForwardBackward(g.ids, g.targets, g.B, g.T)
	if math.Abs(float64(loss)-g.json.Loss) > goldenRTol*g.json.Loss {
		t.Errorf("loss = %.9g, want %.9g", loss, g.json.Loss)
	}
	if got := m.Loss(g.ids, g.targets, g.B, g.T); got != loss {
		t.Errorf("Loss = %.9g, ForwardBackward returned %.9g", got, loss)
	}
	for _, p := range m.Parameters() {
		t.Run(p.Name, func(t *testing.T) {
			compareGolden(t, "grad."+p.Name, p.Grad, g.tensor(t, "grad."+p.Name))
		})
	}

	// A second call accumulates: every gradient doubles.
	first := slices.Clone(m.Parameters()[0].Grad)
	m.ForwardBackward(g.ids, g.targets, g.B, g.T)
	for i, v := range m.Parameters()[0].Grad {
		if math.Abs(float64(v-2*first[i])) > 1e-6+1e-5*math.Abs(float64(v)) {
			t.Fatalf("after two calls grad[%d] = %g, want 2 * %g", i, v, first[i])
		}
	}
	m.ZeroGrad()
	for _, p := range m.Parameters() {
		for _, v := range p.Grad {
			if v != 0 {
				t.Fatalf("after ZeroGrad %s has a nonzero gradient", p.Name)
			}
		}
	}
}

func TestGPT2GoldenGreedy(t *testing.T) {
	g := loadGoldens(t)
	m, err := LoadGPT2(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	got := m.Greedy(g.json.Greedy.Prompt, len(g.json.Greedy.NewTokens))
	if !slices.Equal(got, g.json.Greedy.NewTokens) {
		t.Errorf("Greedy = %v, want %v", got, g.json.Greedy.NewTokens)
	}
}

func TestGPT2SaveLoadRoundTrip(t *testing.T) {
	cfg := GPT2Config{VocabSize: 50, NPositions: 16, NEmbd: 16, NLayer: 2, NHead: 2, BOSTokenID: 49, EOSTokenID: 49}
	m := NewGPT2(cfg, 1)
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := LoadGPT2(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Config.EOSTokenID != 49 || back.Config.ModelType != "gpt2" {
		t.Errorf("loaded config = %+v", back.Config)
	}
	for i, p := range m.Parameters() {
		if q := back.Parameters()[i]; !slices.Equal(p.Data, q.Data) {
			t.Errorf("%s differs after a round trip", p.Name)
		}
	}
	f, err := safetensors.Read(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Tensor("lm_head.weight"); ok {
		t.Error("saved file stores lm_head.weight, want it tied to wte and absent")
	}
}

func TestNewGPT2Init(t *testing.T) {
	cfg := GPT2Config{VocabSize: 300, NPositions: 32, NEmbd: 64, NLayer: 8, NHead: 4}
	m := NewGPT2(cfg, 7)
	std := func(x []float32) float64 {
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
		{"wte.weight", 0.02},
		{"h.0.attn.c_attn.weight", 0.02},
		{"h.0.attn.c_proj.weight", 0.02 / 4},
		{"h.0.mlp.c_proj.weight", 0.02 / 4},
		{"h.0.ln_1.weight", 1},
		{"h.0.mlp.c_fc.bias", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range m.Parameters() {
				if p.Name == c.name {
					if got := std(p.Data); math.Abs(got-c.want) > 0.1*c.want+1e-9 {
						t.Errorf("rms = %g, want %g", got, c.want)
					}
					return
				}
			}
			t.Fatalf("parameter not found")
		})
	}
	if again := NewGPT2(cfg, 7); !slices.Equal(again.Parameters()[0].Data, m.Parameters()[0].Data) {
		t.Error("same seed gave different weights")
	}
}

func TestLoadGPT2Errors(t *testing.T) {
	empty := t.TempDir()
	_, err := LoadGPT2(empty)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing config: got %v, want a not-exist error", err)
	}

	llama := t.TempDir()
	os.WriteFile(filepath.Join(llama, "config.json"), []byte(`{"model_type":"llama"}`), 0o644)
	_, err = LoadGPT2(llama)
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("llama config: got %v, want ErrUnsupported", err)
	}
}
