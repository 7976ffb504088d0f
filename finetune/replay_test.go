package finetune

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// markedPacked returns a split of n sequences of length T whose every input
// token is base+i for sequence i, so each batch row identifies its source sequence.
func markedPacked(n, T int, base int32) *Packed {
	p := &Packed{SeqLen: T}
	for i := range n {
		for range T {
			p.Inputs = append(p.Inputs, base+int32(i))
			p.Targets = append(p.Targets, base+int32(i))
		}
	}
	return p
}

func TestMixBatcherFraction(t *testing.T) {
	const B, T, batches = 4, 2, 50
	domain, replay := markedPacked(30, T, 0), markedPacked(7, T, 1000)
	for _, fraction := range []float64{0, 0.1, 0.25, 0.5} {
		t.Run(fmt.Sprint(fraction), func(t *testing.T) {
			mb := newMixBatcher(domain, replay, B, 3, fraction)
			var fromReplay int
			domainSeen := map[int32]int{}
			for k := range int64(batches) {
				ids, _ := mb.at(k)
				for i := range B {
					if id := ids[i*T]; id >= 1000 {
						fromReplay++
					} else {
						domainSeen[id]++
					}
				}
			}
			want := int(fraction * B * batches)
			if fromReplay != want {
				t.Errorf("replay sequences: got %d of %d, want %d", fromReplay, B*batches, want)
			}
			// Domain sequences are visited epoch by epoch: no sequence is
			// seen twice more often than another.
			lo, hi := batches*B, 0
			for i := range int32(30) {
				lo, hi = min(lo, domainSeen[i]), max(hi, domainSeen[i])
			}
			if hi-lo > 1 {
				t.Errorf("domain visits range from %d to %d, want a spread of at most 1", lo, hi)
			}
		})
	}
}

func TestMixBatcherIsDeterministic(t *testing.T) {
	domain, replay := markedPacked(30, 2, 0), markedPacked(7, 2, 1000)
	a := newMixBatcher(domain, replay, 4, 9, 0.3)
	b := newMixBatcher(domain, replay, 4, 9, 0.3)
	// b receives the batches in another order, as a resumed run would.
	for _, k := range []int64{7, 3, 12, 0} {
		b.at(k + 1)
		want := slices.Clone(func() []int32 { ids, _ := a.at(k); return ids }())
		if got, _ := b.at(k); !slices.Equal(got, want) {
			t.Errorf("batch %d: got %v, want %v", k, got, want)
		}
	}
}

// Without replay the mixing batcher visits the order the trainer has always
// used: micro-batch k holds positions k·B … k·B+B−1 of the per-epoch orders.
func TestMixBatcherWithoutReplayKeepsOrder(t *testing.T) {
	const B = 4
	domain := markedPacked(10, 2, 0)
	mb := newMixBatcher(domain, nil, B, 5, 0.5)
	for k := range int64(6) {
		ids, _ := mb.at(k)
		for i := range int64(B) {
			pos := k*B + i
			want := int32(epochOrder(10, 5, int(pos/10))[pos%10])
			if got := ids[i*2]; got != want {
				t.Fatalf("batch %d row %d: got sequence %d, want %d", k, i, got, want)
			}
		}
	}
}

// When the padding token is the end-of-text token, a real end-of-text
// token stays a target and only the padding after the stream is ignored.
func TestPackerMasksOnlyPadding(t *testing.T) {
	const eot = 9
	p := NewPacker(4, eot)
	p.Add([]int32{1, 2})
	p.Add([]int32{3, 4, 5})
	got := p.Finish()
	// Stream: 1 2 9 3 4 5 9. The second sequence ends with the last
	// end-of-text token, which has no successor, and one padding token.
	wantInputs := []int32{1, 2, eot, 3, 4, 5, eot, eot}
	wantTargets := []int32{2, eot, 3, 4, 5, eot, ignoreIndex, ignoreIndex}
	if !slices.Equal(got.Inputs, wantInputs) {
		t.Errorf("inputs: got %v, want %v", got.Inputs, wantInputs)
	}
	if !slices.Equal(got.Targets, wantTargets) {
		t.Errorf("targets: got %v, want %v", got.Targets, wantTargets)
	}
	eotTargets := 0
	for _, tgt := range got.Targets {
		if tgt == eot {
			eotTargets++
		}
	}
	if eotTargets != 2 {
		t.Errorf("end-of-text targets: got %d, want 2 (one per document)", eotTargets)
	}
}

func TestReadTextJSONL(t *testing.T) {
	cases := []struct {
		name    string
		input   string
		want    []string
		wantErr string
	}{
		{"two lines", "{\"text\":\"a\"}\n{\"text\":\"b c\",\"id\":1}\n", []string{"a", "b c"}, ""},
		{"blank lines and CRLF", "\n{\"text\":\"a\"}\r\n  \n{\"text\":\"\"}", []string{"a", ""}, ""},
		{"not JSON", "{\"text\":\"a\"}\nnope\n", nil, "x.jsonl line 2"},
		{"no text", "{\"body\":\"a\"}\n", nil, "line 1: the object has no \"text\""},
		{"text not a string", "{\"text\":3}\n", nil, "line 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := ReadTextJSONL(strings.NewReader(tc.input), "x.jsonl", func(s string) { got = append(got, s) })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzReadTextJSONL(f *testing.F) {
	f.Add("{\"text\":\"a\"}\n{\"text\":\"b\"}")
	f.Add("\n\n{\"text\":null}")
	f.Add("{\"text\":\"\\u00e9\"}\r\n")
	f.Fuzz(func(t *testing.T, input string) {
		n := 0
		err := ReadTextJSONL(strings.NewReader(input), "fuzz.jsonl", func(string) { n++ })
		if err != nil && !strings.HasPrefix(err.Error(), "fuzz.jsonl line ") {
			t.Errorf("error %q does not name the file and line", err)
		}
		if n > strings.Count(input, "\n")+1 {
			t.Errorf("%d texts from %d lines", n, strings.Count(input, "\n")+1)
		}
	})
}

func TestRunMixesReplay(t *testing.T) {
	root := t.TempDir()
	base, data, out := filepath.Join(root, "base"), filepath.Join(root, "clean"), filepath.Join(root, "finetune")
	writeTinyBaseModel(t, base)
	writeTinyCorpus(t, data, 40)
	replayPath := filepath.Join(root, "general.jsonl")
	var lines strings.Builder
	for i := range 30 {
		fmt.Fprintf(&lines, "{\"text\":\"general text number %d about the weather and the sea\"}\n", i)
	}
	if err := os.WriteFile(replayPath, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	cfg := tinyRunConfig()
	cfg.Replay = ReplayConfig{Path: replayPath, Fraction: 0.25}
	metrics, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: out, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if metrics.ReplayTokens == 0 {
		t.Errorf("metrics record no replay tokens")
	}
	if metrics.StopReason != StopCompleted {
		t.Errorf("stop reason: got %q, want %q", metrics.StopReason, StopCompleted)
	}

	cfg.Replay.Path = filepath.Join(root, "missing.jsonl")
	if _, err := Run(context.Background(), Options{DataDir: data, BaseModel: base, OutDir: filepath.Join(root, "other"), Config: cfg}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing replay file: got error %v, want one wrapping os.ErrNotExist", err)
	}
}
