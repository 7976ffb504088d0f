package finetune

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestLearningRate(t *testing.T) {
	cases := []struct {
		name                string
		step, total, warmup int
		want                float64
	}{
		{"first warm-up step", 0, 100, 10, 0.1},
		{"end of warm-up", 9, 100, 10, 1.0},
		{"decay start", 10, 100, 10, 1.0},
		{"decay middle", 10 + 89/2, 100, 10, 0.1 + 0.5*(1+math.Cos(math.Pi*44.0/89.0))*0.9},
		{"last step", 99, 100, 10, 0.1},
		{"past the end", 150, 100, 10, 0.1},
		{"no warm-up", 0, 100, 0, 1.0},
		{"single step", 0, 1, 0, 1.0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := LearningRate(tc.step, tc.total, tc.warmup, 1.0, 0.1)
			if math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("LearningRate(%d, %d, %d): got %v, want %v", tc.step, tc.total, tc.warmup, got, tc.want)
			}
		})
	}
}

func TestAdamWFirstStep(t *testing.T) {
	// After one step the bias-corrected update is lr·g/(|g|+eps), which is
	// ±lr for |g| >> eps; the 2-D tensor also decays by lr·wd·θ.
	matrix := Tensor{Name: "w", Shape: []int{1, 2}, Data: []float32{1, -2}, Grad: []float32{0.5, -3}}
	vector := Tensor{Name: "b", Shape: []int{2}, Data: []float32{1, -2}, Grad: []float32{0.5, -3}}
	opt := NewAdamW([]Tensor{matrix, vector}, 0.9, 0.95, 1e-8, 0.1)
	opt.Update(0.01)

	wantMatrix := []float64{1*(1-0.001) - 0.01, -2*(1-0.001) + 0.01}
	wantVector := []float64{1 - 0.01, -2 + 0.01}
	for i := range 2 {
		// 1e-6: float32 storage of values near 1.
		if got := float64(matrix.Data[i]); math.Abs(got-wantMatrix[i]) > 1e-6 {
			t.Errorf("matrix[%d]: got %v, want %v", i, got, wantMatrix[i])
		}
		if got := float64(vector.Data[i]); math.Abs(got-wantVector[i]) > 1e-6 {
			t.Errorf("vector[%d]: got %v, want %v", i, got, wantVector[i])
		}
	}
	if opt.Step() != 1 {
		t.Errorf("Step: got %d, want 1", opt.Step())
	}
}

func TestClipGradNorm(t *testing.T) {
	cases := []struct {
		name     string
		grad     []float32
		maxNorm  float64
		wantNorm float64
		want     []float32
	}{
		{"scaled down", []float32{3, 4}, 1, 5, []float32{0.6, 0.8}},
		{"below limit", []float32{0.3, 0.4}, 1, 0.5, []float32{0.3, 0.4}},
		{"clipping off", []float32{3, 4}, 0, 5, []float32{3, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := []Tensor{{Name: "g", Shape: []int{2}, Data: make([]float32, 2), Grad: slices.Clone(tc.grad)}}
			norm := ClipGradNorm(p, tc.maxNorm)
			if math.Abs(norm-tc.wantNorm) > 1e-6 {
				t.Errorf("norm: got %v, want %v", norm, tc.wantNorm)
			}
			for i := range tc.want {
				// 1e-6: the 1e-6 added to the norm changes the scale by ~2e-7.
				if math.Abs(float64(p[0].Grad[i]-tc.want[i])) > 1e-6 {
					t.Errorf("grad: got %v, want %v", p[0].Grad, tc.want)
					break
				}
			}
		})
	}
}

func TestPackerPutsEOTBetweenDocuments(t *testing.T) {
	const eot = 99
	p := NewPacker(4, eot)
	p.Add([]int32{1, 2, 3})
	p.Add(nil)
	p.Add([]int32{4, 5})
	p.Add([]int32{6})
	got := p.Finish()

	// Stream: 1 2 3 EOT 4 5 EOT 6 EOT (9 tokens).
	// Every token but the first is a target once, so two sequences cover it.
	wantInputs := []int32{1, 2, 3, eot, 4, 5, eot, 6}
	wantTargets := []int32{2, 3, eot, 4, 5, eot, 6, eot}
	if !slices.Equal(got.Inputs, wantInputs) {
		t.Errorf("inputs:\n got %v\nwant %v", got.Inputs, wantInputs)
	}
	if !slices.Equal(got.Targets, wantTargets) {
		t.Errorf("targets:\n got %v\nwant %v", got.Targets, wantTargets)
	}
	if got.Tokens != 9 {
		t.Errorf("Tokens: got %d, want 9", got.Tokens)
	}
	if got.Len() != 2 {
		t.Errorf("Len: got %d, want 2", got.Len())
	}
}

func TestPackerPadsLastSequence(t *testing.T) {
	p := NewPacker(4, 0)
	p.Add([]int32{1, 2, 3, 4, 5})
	got := p.Finish()

	// Stream: 1 2 3 4 5 0; the second sequence has one real target.
	wantInputs := []int32{1, 2, 3, 4, 5, 0, 0, 0}
	wantTargets := []int32{2, 3, 4, 5, 0, ignoreIndex, ignoreIndex, ignoreIndex}
	if !slices.Equal(got.Inputs, wantInputs) {
		t.Errorf("inputs:\n got %v\nwant %v", got.Inputs, wantInputs)
	}
	if !slices.Equal(got.Targets, wantTargets) {
		t.Errorf("targets:\n got %v\nwant %v", got.Targets, wantTargets)
	}
}

func TestEpochOrderIsSeededPermutation(t *testing.T) {
	a := epochOrder(50, 7, 0)
	b := epochOrder(50, 7, 0)
	c := epochOrder(50, 7, 1)
	if !slices.Equal(a, b) {
		t.Errorf("same seed and epoch gave different orders")
	}
	if slices.Equal(a, c) {
		t.Errorf("epochs 0 and 1 gave the same order")
	}
	sorted := slices.Sorted(slices.Values(a))
	for i, v := range sorted {
		if v != i {
			t.Fatalf("order is not a permutation of 0..49: %v", a)
		}
	}
}

func TestFitSteps(t *testing.T) {
	cases := []struct {
		name                 string
		timed, planned, step int
		elapsed, remaining   time.Duration
		want                 int
	}{
		{"cut to what fits", 10, 1000, 10, 10 * time.Second, 90 * time.Second, 100},
		{"plan already fits", 10, 50, 10, 10 * time.Second, 90 * time.Second, 50},
		{"past the deadline", 10, 1000, 10, 10 * time.Second, -time.Second, 11},
		{"grows back to plan", 10, 1000, 500, time.Second, time.Hour, 1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := fitSteps(tc.timed, tc.planned, tc.step, tc.elapsed, tc.remaining)
			if got != tc.want {
				t.Errorf("fitSteps: got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestEOSTokenID(t *testing.T) {
	cases := []struct {
		name   string
		raw    string
		want   int32
		wantOK bool
	}{
		{"number", "50256", 50256, true},
		{"list", "[128001, 128009]", 128001, true},
		{"null", "null", 0, false},
		{"absent", "", 0, false},
		{"empty list", "[]", 0, false},
		{"string", `"</s>"`, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := EOSTokenID([]byte(tc.raw))
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("EOSTokenID(%s): got %d, %v, want %d, %v", tc.raw, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
