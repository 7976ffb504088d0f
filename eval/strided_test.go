package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/model/safetensors"
)

// uniformLogits returns all-zero logits over V tokens, so each scored token
// costs exactly log V nats.
func uniformLogits(V int) LogitsFunc {
	return func(ids []int32) []float32 { return make([]float32, len(ids)*V) }
}

func TestStridedNLLWindows(t *testing.T) {
	cases := []struct {
		name              string
		n, maxLen, stride int
		want              []Window
		wantScored        int
	}{
		{"hugging face layout", 40, 16, 8, []Window{{0, 16, 15, 0}, {8, 24, 8, 0}, {16, 32, 8, 0}, {24, 40, 8, 0}}, 39},
		{"short sequence", 5, 16, 8, []Window{{0, 5, 4, 0}}, 4},
		// Without overlap the first token of each window has no context,
		// so Hugging Face's method leaves it unscored.
		{"stride equals length", 10, 4, 4, []Window{{0, 4, 3, 0}, {4, 8, 3, 0}, {8, 10, 1, 0}}, 7},
		{"ragged end", 20, 8, 6, []Window{{0, 8, 7, 0}, {6, 14, 6, 0}, {12, 20, 6, 0}}, 19},
		{"stride one", 4, 3, 1, []Window{{0, 3, 2, 0}, {1, 4, 1, 0}}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ids := make([]int32, tc.n)
			windows, nll, scored := StridedNLL(ids, tc.maxLen, tc.stride, uniformLogits(4))
			if len(windows) != len(tc.want) {
				t.Fatalf("windows: got %+v, want %+v", windows, tc.want)
			}
			for i, w := range windows {
				want := tc.want[i]
				if w.Begin != want.Begin || w.End != want.End || w.Scored != want.Scored {
					t.Errorf("window %d: got %+v, want begin %d end %d scored %d", i, w, want.Begin, want.End, want.Scored)
				}
			}
			if scored != tc.wantScored {
				t.Errorf("scored tokens: got %d, want %d", scored, tc.wantScored)
			}
			// 1e-9: a sum of at most 40 float64 logs.
			if want := float64(tc.wantScored) * math.Log(4); math.Abs(nll-want) > 1e-9 {
				t.Errorf("NLL: got %v, want %v", nll, want)
			}
		})
	}
}

func TestStridedNLLTooShort(t *testing.T) {
	windows, nll, scored := StridedNLL([]int32{3}, 4, 2, uniformLogits(4))
	if windows != nil || nll != 0 || scored != 0 {
		t.Errorf("one token: got %v, %v, %v, want nothing scored", windows, nll, scored)
	}
}

// goldenStrided is the "strided_perplexity" entry of the gpt2-tiny
// reference outputs.
type goldenStrided struct {
	MaxLength int      `json:"max_length"`
	Stride    int      `json:"stride"`
	NLLSum    float64  `json:"nll_sum"`
	Scored    int      `json:"scored_tokens"`
	PPL       float64  `json:"ppl"`
	Windows   []Window `json:"windows"`
}

func readGoldenStrided(t *testing.T) goldenStrided {
	t.Helper()
	dir := sharedtest.Dir(t, "goldens", "models", "gpt2-tiny")
	data, err := os.ReadFile(filepath.Join(dir, "goldens.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Strided goldenStrided `json:"strided_perplexity"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return g.Strided
}

func TestStridedNLLGoldenWindowLayout(t *testing.T) {
	g := readGoldenStrided(t)
	windows, _, scored := StridedNLL(make([]int32, 40), g.MaxLength, g.Stride, uniformLogits(8))
	if scored != g.Scored {
		t.Errorf("scored tokens: got %d, want %d", scored, g.Scored)
	}
	if len(windows) != len(g.Windows) {
		t.Fatalf("windows: got %d, want %d", len(windows), len(g.Windows))
	}
	for i, w := range windows {
		want := g.Windows[i]
		if w.Begin != want.Begin || w.End != want.End || w.Scored != want.Scored {
			t.Errorf("window %d: got %+v, want %+v", i, w, want)
		}
	}
}

func TestPerplexityMetrics(t *testing.T) {
	got := perplexityMetrics([]Example{{ID: "a", Tokens: 2, NLL: 2}, {ID: "b", Tokens: 6, NLL: 10}})
	want := map[string]float64{"nll_per_token": 1.5, "perplexity": math.Exp(1.5), "tokens": 8}
	for k, v := range want {
		if math.Abs(got[k]-v) > 1e-12 {
			t.Errorf("%s: got %v, want %v", k, got[k], v)
		}
	}
}

func TestBootstrapCI95(t *testing.T) {
	var examples []Example
	for i := range 50 {
		examples = append(examples, Example{Tokens: 10, NLL: float64(20 + i%7)})
	}
	point := perplexityMetrics(examples)
	ci := bootstrapCI95(examples, 500, 3)
	again := bootstrapCI95(examples, 500, 3)
	if ci["perplexity"] != again["perplexity"] {
		t.Errorf("same seed gave %v and %v", ci["perplexity"], again["perplexity"])
	}
	for _, name := range []string{"perplexity", "nll_per_token"} {
		lo, hi := ci[name][0], ci[name][1]
		if !(lo < point[name] && point[name] < hi) {
			t.Errorf("%s: interval [%v, %v] does not contain the estimate %v", name, lo, hi, point[name])
		}
	}
	if got := bootstrapCI95(examples[:1], 500, 3); got != nil {
		t.Errorf("one example: got %v, want nil", got)
	}
}

func TestStridedNLLGoldenGPT2(t *testing.T) {
	g := readGoldenStrided(t)
	dir := sharedtest.Dir(t, "goldens", "models", "gpt2-tiny")
	m, err := model.LoadGPT2(dir)
	if err != nil {
		t.Fatal(err)
	}
	tensors, err := safetensors.Read(filepath.Join(dir, "goldens.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ref, ok := tensors.Tensor("ppl_input_ids")
	if !ok {
		t.Fatal("goldens lack ppl_input_ids")
	}
	ids64, err := ref.Int64()
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int32, len(ids64))
	for i, v := range ids64 {
		ids[i] = int32(v)
	}

	windows, nll, scored := StridedNLL(ids, g.MaxLength, g.Stride, func(w []int32) []float32 {
		return m.Forward(w, 1, len(w))
	})
	// 1e-5 relative: float32 logits against a float64 reference.
	const rel = 1e-5
	if len(windows) != len(g.Windows) {
		t.Fatalf("windows: got %d, want %d", len(windows), len(g.Windows))
	}
	for i, w := range windows {
		want := g.Windows[i]
		if w.Begin != want.Begin || w.End != want.End || w.Scored != want.Scored {
			t.Errorf("window %d: got %+v, want %+v", i, w, want)
		}
		if math.Abs(w.NLL-want.NLL) > rel*want.NLL {
			t.Errorf("window %d NLL: got %.8f, want %.8f", i, w.NLL, want.NLL)
		}
	}
	if scored != g.Scored {
		t.Errorf("scored tokens: got %d, want %d", scored, g.Scored)
	}
	if math.Abs(nll-g.NLLSum) > rel*g.NLLSum {
		t.Errorf("total NLL: got %.8f, want %.8f", nll, g.NLLSum)
	}
	if ppl := math.Exp(nll / float64(scored)); math.Abs(ppl-g.PPL) > 1e-4*g.PPL {
		t.Errorf("perplexity: got %.6f, want %.6f", ppl, g.PPL)
	}

	// The batched path runs the four full windows in one forward call.
	_, batchedNLL, batchedScored := StridedNLLBatched(ids, g.MaxLength, g.Stride, 4, m.Forward)
	if batchedScored != g.Scored || math.Abs(batchedNLL-g.NLLSum) > rel*g.NLLSum {
		t.Errorf("batched: got NLL %.8f over %d tokens, want %.8f over %d", batchedNLL, batchedScored, g.NLLSum, g.Scored)
	}
}

func TestStridedNLLBatchedMatchesSingle(t *testing.T) {
	// A fake model whose logits depend on the token and its position in
	// the window, so batching mistakes change the result.
	const V = 5
	forward := func(ids []int32, B, T int) []float32 {
		out := make([]float32, B*T*V)
		for i, id := range ids {
			for v := range V {
				out[i*V+v] = float32((int(id)*3+v*(i%T+1))%7) * 0.3
			}
		}
		return out
	}
	ids := make([]int32, 53)
	for i := range ids {
		ids[i] = int32(i * 7 % V)
	}
	wantWindows, wantNLL, wantScored := StridedNLL(ids, 16, 8, func(w []int32) []float32 { return forward(w, 1, len(w)) })
	for _, batch := range []int{1, 2, 3, 8} {
		t.Run(fmt.Sprintf("batch %d", batch), func(t *testing.T) {
			windows, nll, scored := StridedNLLBatched(ids, 16, 8, batch, forward)
			if !slices.Equal(windows, wantWindows) {
				t.Errorf("windows:\n got %+v\nwant %+v", windows, wantWindows)
			}
			if nll != wantNLL || scored != wantScored {
				t.Errorf("got NLL %v over %d tokens, want %v over %d", nll, scored, wantNLL, wantScored)
			}
		})
	}
}
