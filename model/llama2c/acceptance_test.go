package llama2c

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
	"github.com/adapt-llm/adapt/model/gguf"
)

// Both files of stories260K load into model.Llama, decode the known greedy
// continuation, and give the same logits.
func TestStoriesGreedyBothFormats(t *testing.T) {
	dir := sharedtest.Dir(t, "data", "models", "llama2c-stories260K")
	fromBin, err := LoadLlama(filepath.Join(dir, "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	vocab, err := ReadTokenizer(filepath.Join(dir, "tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	fromGGUF, ggufVocab, err := gguf.LoadLlama(filepath.Join(sharedtest.Dir(t, "data", "models", "gguf-stories260K"), "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}

	ids, _ := vocab.Encode(prompt, true)
	ggufIDs, _ := ggufVocab.Encode(prompt, true)
	if len(ids) != len(ggufIDs) {
		t.Fatalf("prompt ids: llama2.c %v, GGUF %v", ids, ggufIDs)
	}

	// Greedy returns only the continuation.
	outBin := append(append([]int32{}, ids...), fromBin.Greedy(ids, 40)...)
	outGGUF := append(append([]int32{}, ggufIDs...), fromGGUF.Greedy(ggufIDs, 40)...)
	textBin, textGGUF := vocab.Decode(outBin), ggufVocab.Decode(outGGUF)
	for name, text := range map[string]string{"llama2.c": textBin, "GGUF": textGGUF} {
		if !strings.HasPrefix(text, wantLonger) {
			t.Errorf("%s greedy decode = %q, want prefix %q", name, text, wantLonger)
		}
	}
	t.Logf("greedy: %q", textBin)

	// Same weights, same forward: the logits agree to float32 rounding.
	T := len(outBin)
	a := append([]float32{}, fromBin.Forward(outBin, 1, T)...)
	b := fromGGUF.Forward(outBin, 1, T)
	var maxDiff float64
	for i := range a {
		maxDiff = max(maxDiff, math.Abs(float64(a[i]-b[i])))
	}
	// The tensors are bitwise equal (the GGUF output.weight is a copy of the
	// tied embedding), so the bound only allows for summation order.
	t.Logf("max |logit difference| %g", maxDiff)
	if maxDiff > 1e-4 {
		t.Errorf("max |logit difference| over %d positions = %g, want <= 1e-4", T, maxDiff)
	}
}
