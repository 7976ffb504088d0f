package model

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
	"github.com/adapt-llm/adapt/model/safetensors"
)

// loadModelGoldens reads the reference outputs of the tiny model in the
// goldens folder name, as loadGoldens does for GPT-2.
func loadModelGoldens(t *testing.T, name string) *goldens {
	t.Helper()
	g := &goldens{dir: sharedtest.Dir(t, "goldens", "models", name)}
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

var llamaGoldenModels = []string{"llama-tiny", "qwen2-tiny"}

func TestLlamaGoldenLogits(t *testing.T) {
	for _, name := range llamaGoldenModels {
		t.Run(name, func(t *testing.T) {
			g := loadModelGoldens(t, name)
			m, err := LoadLlama(g.dir)
			if err != nil {
				t.Fatal(err)
			}
			logits := m.Forward(g.ids, g.B, g.T)
			compareGolden(t, "logits", logits, g.tensor(t, "logits"))
		})
	}
}

func TestLlamaGoldenLossAndGradients(t *testing.T) {
	for _, name := range llamaGoldenModels {
		t.Run(name, func(t *testing.T) {
			g := loadModelGoldens(t, name)
			m, err := LoadLlama(g.dir)
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

			// Every parameter has a golden gradient, and every golden
			// gradient belongs to a parameter.
			names := map[string]bool{}
			for _, p := range m.Parameters() {
				names["grad."+p.Name] = true
				t.Run(p.Name, func(t *testing.T) {
					compareGolden(t, "grad."+p.Name, p.Grad, g.tensor(t, "grad."+p.Name))
				})
			}
			for _, gt := range g.file.Tensors {
				if strings.HasPrefix(gt.Name, "grad.") && !names[gt.Name] {
					t.Errorf("golden %s has no parameter", gt.Name)
				}
			}
		})
	}
}

func TestLlamaGoldenGreedy(t *testing.T) {
	for _, name := range llamaGoldenModels {
		t.Run(name, func(t *testing.T) {
			g := loadModelGoldens(t, name)
			m, err := LoadLlama(g.dir)
			if err != nil {
				t.Fatal(err)
			}
			got := m.Greedy(g.json.Greedy.Prompt, len(g.json.Greedy.NewTokens))
			if !slices.Equal(got, g.json.Greedy.NewTokens) {
				t.Errorf("Greedy = %v, want %v", got, g.json.Greedy.NewTokens)
			}
		})
	}
}
