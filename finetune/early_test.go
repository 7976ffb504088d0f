package finetune

import (
	"context"
	"math"
	"slices"
	"testing"
)

func TestEarlyStopperObserve(t *testing.T) {
	cases := []struct {
		name     string
		patience int
		minDelta float64
		losses   []float64
		wantStop int // index of the loss that stops training, or -1
	}{
		{"off", 0, 0, []float64{3, 4, 5, 6}, -1},
		{"keeps improving", 2, 0, []float64{3, 2.9, 2.8, 2.7}, -1},
		{"two without improvement", 2, 0, []float64{3, 2.5, 2.6, 2.7, 2.4}, 3},
		{"equal loss is no improvement", 1, 0, []float64{3, 3}, 1},
		{"gain below min delta", 2, 0.1, []float64{3, 2.95, 2.92}, 2},
		{"gain above min delta resets", 2, 0.1, []float64{3, 3.1, 2.8, 2.85, 2.9}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &earlyStopper{patience: tc.patience, minDelta: tc.minDelta}
			got := -1
			for i, l := range tc.losses {
				if e.observe(l) {
					got = i
					break
				}
			}
			if got != tc.wantStop {
				t.Errorf("stopped at loss %d, want %d", got, tc.wantStop)
			}
		})
	}
}

func TestTrainStopsEarly(t *testing.T) {
	// Training on tokens 1..5 makes the model worse at validation text of
	// tokens 6 and 7, so validation loss stops improving at once.
	m := newBigramModel(8)
	train := syntheticPacked(8, 40)
	vp := NewPacker(8, 0)
	for range 6 {
		vp.Add([]int32{6, 7, 6, 7, 6, 7, 6, 7, 6})
	}
	val := vp.Finish()

	cfg := tinyConfig()
	cfg.MaxSteps = 40
	cfg.EvalEvery = 2
	cfg.EarlyStopPatience = 2
	res, err := Train(context.Background(), m, TrainOptions{Config: cfg, Params: m.params(), Train: train, Val: val})
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != StopEarly {
		t.Fatalf("stop reason: got %q, want %q (val curve %v)", res.StopReason, StopEarly, res.Val)
	}
	last := res.Val[len(res.Val)-1].Step
	if res.StoppedAt != last || res.Steps != last || len(res.Train) != last {
		t.Errorf("stopped at %d with %d steps and %d train points, want all %d", res.StoppedAt, res.Steps, len(res.Train), last)
	}
	if res.PlannedSteps != 40 {
		t.Errorf("planned steps: got %d, want 40", res.PlannedSteps)
	}
	best := slices.MinFunc(res.Val, func(a, b LossPoint) int { return cmpFloat(a.Loss, b.Loss) })
	if n := len(res.Val); res.Val[n-3] != best {
		t.Errorf("best validation point %v is not the one two passes before the end of %v", best, res.Val)
	}
}

func TestTrainCompletesWithoutEarlyStop(t *testing.T) {
	m := newBigramModel(8)
	res, err := Train(context.Background(), m, TrainOptions{Config: tinyConfig(), Params: m.params(), Train: syntheticPacked(8, 40)})
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != StopCompleted || res.StoppedAt != 0 {
		t.Errorf("got reason %q, stopped at %d, want %q and 0", res.StopReason, res.StoppedAt, StopCompleted)
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Accumulating two micro-batches of 2 equals one batch of 4 over the same
// sequences: every sequence scores the same number of targets, so the mean
// of the two means is the mean over all.
func TestGradAccumMatchesLargerBatch(t *testing.T) {
	// Tolerance: the two runs add the same float32 gradients in another
	// order, which moves weights by a few ulps per step over 12 steps.
	const tol = 1e-5
	train := syntheticPacked(8, 40)
	full := (train.Len() - 1) * train.SeqLen // drop the padded last sequence
	train.Inputs, train.Targets = train.Inputs[:full], train.Targets[:full]
	if slices.Contains(train.Targets, ignoreIndex) {
		t.Fatal("test data has ignored targets, so micro-batch means would weigh unequally")
	}

	accum := tinyConfig()
	accum.BatchSize, accum.GradAccum = 2, 2
	single := accum
	single.BatchSize, single.GradAccum = 4, 1

	a, b := newBigramModel(8), newBigramModel(8)
	resA, err := Train(context.Background(), a, TrainOptions{Config: accum, Params: a.params(), Train: train})
	if err != nil {
		t.Fatal(err)
	}
	resB, err := Train(context.Background(), b, TrainOptions{Config: single, Params: b.params(), Train: train})
	if err != nil {
		t.Fatal(err)
	}
	for i := range resA.Train {
		if math.Abs(resA.Train[i].Loss-resB.Train[i].Loss) > tol {
			t.Errorf("step %d loss: accumulated %v, single batch %v", i+1, resA.Train[i].Loss, resB.Train[i].Loss)
		}
	}
	for i := range a.table.Data {
		if math.Abs(float64(a.table.Data[i]-b.table.Data[i])) > tol {
			t.Fatalf("table[%d]: accumulated %v, single batch %v", i, a.table.Data[i], b.table.Data[i])
		}
	}
}

// Weight decay shrinks matrices only: with a zero gradient a bias stays put
// while a matrix decays by lr·wd.
func TestAdamWDecaysOnlyMatrices(t *testing.T) {
	matrix := Tensor{Name: "w", Shape: []int{2, 2}, Data: []float32{1, 1, 1, 1}, Grad: make([]float32, 4)}
	bias := Tensor{Name: "b", Shape: []int{2}, Data: []float32{1, 1}, Grad: make([]float32, 2)}
	opt := NewAdamW([]Tensor{matrix, bias}, 0.9, 0.95, 1e-8, 0.1)
	opt.Update(0.5)
	if got, want := matrix.Data[0], float32(1-0.5*0.1); got != want {
		t.Errorf("matrix after decay: got %v, want %v", got, want)
	}
	if got := bias.Data[0]; got != 1 {
		t.Errorf("bias after decay: got %v, want 1", got)
	}
}
