package finetune

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// bigramModel is a tiny causal language model for trainer tests: the logits
// of the next token are row ids[t] of a [V,V] table, plus a [V] bias.
type bigramModel struct {
	V     int
	table Tensor // [V,V]
	bias  Tensor // [V]
}

func newBigramModel(V int) *bigramModel {
	m := &bigramModel{V: V}
	m.table = Tensor{Name: "table", Shape: []int{V, V}, Data: make([]float32, V*V), Grad: make([]float32, V*V)}
	m.bias = Tensor{Name: "bias", Shape: []int{V}, Data: make([]float32, V), Grad: make([]float32, V)}
	for i := range m.table.Data {
		m.table.Data[i] = float32(math.Sin(float64(i))) * 0.1
	}
	return m
}

func (m *bigramModel) params() []Tensor { return []Tensor{m.table, m.bias} }

func (m *bigramModel) ZeroGrad() {
	clear(m.table.Grad)
	clear(m.bias.Grad)
}

func (m *bigramModel) Loss(ids, targets []int32, B, T int) float32 {
	return m.run(ids, targets, false)
}

func (m *bigramModel) ForwardBackward(ids, targets []int32, B, T int) float32 {
	return m.run(ids, targets, true)
}

func (m *bigramModel) run(ids, targets []int32, backward bool) float32 {
	V := m.V
	var loss float64
	count := 0
	for _, t := range targets {
		if t != ignoreIndex {
			count++
		}
	}
	probs := make([]float64, V)
	for i, tgt := range targets {
		if tgt == ignoreIndex {
			continue
		}
		row := m.table.Data[int(ids[i])*V : int(ids[i]+1)*V]
		maxLogit := math.Inf(-1)
		for j := range V {
			maxLogit = max(maxLogit, float64(row[j]+m.bias.Data[j]))
		}
		var sum float64
		for j := range V {
			probs[j] = math.Exp(float64(row[j]+m.bias.Data[j]) - maxLogit)
			sum += probs[j]
		}
		loss -= math.Log(probs[tgt] / sum)
		if !backward {
			continue
		}
		grad := m.table.Grad[int(ids[i])*V : int(ids[i]+1)*V]
		for j := range V {
			d := probs[j] / sum
			if j == int(tgt) {
				d--
			}
			grad[j] += float32(d / float64(count))
			m.bias.Grad[j] += float32(d / float64(count))
		}
	}
	return float32(loss / float64(count))
}

// syntheticPacked packs documents made of a repeating pattern, which a
// bigram model can learn.
func syntheticPacked(seqLen, docs int) *Packed {
	p := NewPacker(seqLen, 0)
	for d := range docs {
		doc := make([]int32, 5+d%7)
		for i := range doc {
			doc[i] = int32(1 + (d+i)%5)
		}
		p.Add(doc)
	}
	return p.Finish()
}

func tinyConfig() Config {
	cfg := DefaultConfig()
	cfg.SeqLen = 8
	cfg.BatchSize = 2
	cfg.GradAccum = 2
	cfg.MaxSteps = 12
	cfg.Epochs = 0
	cfg.LearningRate = 0.05
	cfg.WarmupSteps = 2
	cfg.EvalEvery = 4
	cfg.CheckpointEvery = 3
	return cfg
}

func TestTrainLossDecreases(t *testing.T) {
	m := newBigramModel(8)
	train := syntheticPacked(8, 40)
	val := syntheticPacked(8, 6)
	cfg := tinyConfig()
	cfg.LearningRate = 0.3
	res, err := Train(context.Background(), m, TrainOptions{Config: cfg, Params: m.params(), Train: train, Val: val})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(res.Train), 12; got != want {
		t.Fatalf("train points: got %d, want %d", got, want)
	}
	first, last := res.Val[0].Loss, res.Val[len(res.Val)-1].Loss
	if !(last < first*0.7) {
		t.Errorf("validation loss went from %.4f to %.4f, want a drop of at least 30%%", first, last)
	}
	if got := res.Train[len(res.Train)-1].Loss; !(got < res.Train[0].Loss) {
		t.Errorf("train loss went from %.4f to %.4f, want lower", res.Train[0].Loss, got)
	}
}

func TestTrainResumeMatchesUninterrupted(t *testing.T) {
	cfg := tinyConfig()
	train := syntheticPacked(8, 40)
	val := syntheticPacked(8, 6)

	whole := newBigramModel(8)
	wantRes, err := Train(context.Background(), whole, TrainOptions{Config: cfg, Params: whole.params(), Train: train, Val: val})
	if err != nil {
		t.Fatal(err)
	}

	// Interrupt after step 7: checkpoints at step 6 (periodic) and 7
	// (written on interruption).
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	first := newBigramModel(8)
	_, err = Train(ctx, first, TrainOptions{Config: cfg, Params: first.params(), Train: train, Val: val, CheckpointDir: dir, Fingerprint: "fp",
		Progress: func(step, total int) {
			if step == 7 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: got error %v, want context.Canceled", err)
	}
	steps, err := listCheckpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{6, 7}; !slices.Equal(steps, want) {
		t.Fatalf("checkpoints after interruption: got %v, want %v", steps, want)
	}

	resumed := newBigramModel(8)
	gotRes, err := Train(context.Background(), resumed, TrainOptions{Config: cfg, Params: resumed.params(), Train: train, Val: val, CheckpointDir: dir, Fingerprint: "fp"})
	if err != nil {
		t.Fatal(err)
	}
	if gotRes.ResumedFrom != 7 {
		t.Errorf("ResumedFrom: got %d, want 7", gotRes.ResumedFrom)
	}
	// Exact equality: the resumed run repeats the same float32 operations.
	if !slices.Equal(resumed.table.Data, whole.table.Data) || !slices.Equal(resumed.bias.Data, whole.bias.Data) {
		t.Errorf("weights after resume differ from the uninterrupted run")
	}
	if got, want := len(gotRes.Train), len(wantRes.Train); got != want {
		t.Errorf("train points after resume: got %d, want %d", got, want)
	}
	if !slices.Equal(gotRes.Val, wantRes.Val) {
		t.Errorf("validation curve after resume:\n got %v\nwant %v", gotRes.Val, wantRes.Val)
	}
}

func TestTrainResumeFromPeriodicCheckpoint(t *testing.T) {
	// A killed process writes no checkpoint on the way out, so the run must
	// continue from the last periodic one (step 6 of 12).
	cfg := tinyConfig()
	train := syntheticPacked(8, 40)
	whole := newBigramModel(8)
	if _, err := Train(context.Background(), whole, TrainOptions{Config: cfg, Params: whole.params(), Train: train}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	first := newBigramModel(8)
	Train(ctx, first, TrainOptions{Config: cfg, Params: first.params(), Train: train, CheckpointDir: dir, Fingerprint: "fp",
		Progress: func(step, _ int) {
			if step == 7 {
				cancel()
			}
		}})
	if err := os.RemoveAll(filepath.Join(dir, "step-00000007")); err != nil {
		t.Fatal(err)
	}

	resumed := newBigramModel(8)
	res, err := Train(context.Background(), resumed, TrainOptions{Config: cfg, Params: resumed.params(), Train: train, CheckpointDir: dir, Fingerprint: "fp"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedFrom != 6 {
		t.Errorf("ResumedFrom: got %d, want 6", res.ResumedFrom)
	}
	if !slices.Equal(resumed.table.Data, whole.table.Data) || !slices.Equal(resumed.bias.Data, whole.bias.Data) {
		t.Errorf("weights after resume differ from the uninterrupted run")
	}
}

func TestTrainRejectsOtherFingerprint(t *testing.T) {
	cfg := tinyConfig()
	cfg.MaxSteps = 3
	dir := t.TempDir()
	train := syntheticPacked(8, 10)
	ctx, cancel := context.WithCancel(context.Background())
	m := newBigramModel(8)
	cfg.CheckpointEvery = 1
	Train(ctx, m, TrainOptions{Config: cfg, Params: m.params(), Train: train, CheckpointDir: dir, Fingerprint: "a",
		Progress: func(step, _ int) { cancel() }})

	m2 := newBigramModel(8)
	_, err := Train(context.Background(), m2, TrainOptions{Config: cfg, Params: m2.params(), Train: train, CheckpointDir: dir, Fingerprint: "b"})
	if !errors.Is(err, ErrCheckpointMismatch) {
		t.Errorf("got error %v, want ErrCheckpointMismatch", err)
	}
}

func TestTotalSteps(t *testing.T) {
	cases := []struct {
		name              string
		maxSteps          int
		epochs            float64
		batch, accum, seq int
		want              int
	}{
		{"one epoch by default", 0, 0, 4, 1, 100, 25},
		{"max steps only", 10, 0, 4, 1, 100, 10},
		{"max steps win over epochs", 100, 1, 4, 2, 100, 100},
		{"epochs without max steps", 0, 2, 4, 2, 100, 25},
		{"max steps below cap", 5, 2, 4, 1, 100, 5},
		{"at least one step", 0, 0.01, 8, 1, 3, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{MaxSteps: tc.maxSteps, Epochs: tc.epochs, BatchSize: tc.batch, GradAccum: tc.accum}
			if got := TotalSteps(cfg, tc.seq); got != tc.want {
				t.Errorf("TotalSteps: got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestTrainMaxStepsRepeatsData(t *testing.T) {
	cfg := tinyConfig()
	cfg.Epochs = 1
	cfg.MaxSteps = 40
	cfg.CheckpointEvery = 0
	train := syntheticPacked(8, 10)
	m := newBigramModel(8)
	res, err := Train(context.Background(), m, TrainOptions{Config: cfg, Params: m.params(), Train: train})
	if err != nil {
		t.Fatal(err)
	}
	if train.Len()*1 >= 40*4 {
		t.Fatalf("split of %d sequences fills 40 steps in one epoch; the test needs fewer", train.Len())
	}
	if res.Steps != 40 || len(res.Train) != 40 {
		t.Errorf("steps: got %d with %d points, want 40 and 40", res.Steps, len(res.Train))
	}
	// Each step takes BatchSize x GradAccum = 4 sequences.
	if want := 40 * 4 / float64(train.Len()); res.EpochsDone != want {
		t.Errorf("EpochsDone: got %v, want %v", res.EpochsDone, want)
	}
}

func TestTrainCountsRealTokens(t *testing.T) {
	cfg := tinyConfig()
	cfg.MaxSteps = 3
	cfg.CheckpointEvery = 0
	// One stream of 11 tokens packs into 2 sequences of 8: 10 real targets
	// and 6 padding targets.
	p := NewPacker(8, 0)
	p.Add([]int32{1, 2, 3, 4, 5, 6, 7, 1, 2, 3})
	train := p.Finish()
	m := newBigramModel(8)
	res, err := Train(context.Background(), m, TrainOptions{Config: cfg, Params: m.params(), Train: train, Val: train})
	if err != nil {
		t.Fatal(err)
	}
	// Each step has 2x2 sequence slots, so both sequences twice.
	if want := int64(3 * 2 * 10); res.TokensSeen != want {
		t.Errorf("TokensSeen: got %d, want %d", res.TokensSeen, want)
	}
	if got := res.Train[0].Tokens; got != 20 {
		t.Errorf("tokens after step 1: got %d, want 20", got)
	}
	if res.ValTokensPerPass != 10 {
		t.Errorf("ValTokensPerPass: got %d, want 10", res.ValTokensPerPass)
	}
}
