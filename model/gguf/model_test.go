package gguf

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
)

// A model written with WriteLlama reads back with the same weights (F32)
// or logits within half-precision rounding (F16).
func TestWriteLlamaRoundTrip(t *testing.T) {
	src := filepath.Join(sharedtest.Dir(t, "data", "models", "gguf-stories260K"), "stories260K.gguf")
	m, v, err := LoadLlama(src)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := v.Encode("Once upon a time", true)
	want := append([]float32{}, m.Forward(ids, 1, len(ids))...)

	for _, tc := range []struct {
		typ GGMLType
		tol float64 // maximum absolute logit difference
	}{
		{GGMLTypeF32, 0},
		{GGMLTypeF16, 0.05}, // stories260K logits are O(10); half rounding of each weight is 2^-11 relative
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model.gguf")
			if err := WriteLlama(path, m, v, "stories260K", tc.typ); err != nil {
				t.Fatal(err)
			}
			back, backVocab, err := LoadLlama(path)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(backVocab.Tokens, v.Tokens) || !slices.Equal(backVocab.Scores, v.Scores) {
				t.Errorf("vocabulary differs after the round trip")
			}
			got := back.Forward(ids, 1, len(ids))
			var maxDiff float64
			for i := range want {
				maxDiff = max(maxDiff, math.Abs(float64(got[i]-want[i])))
			}
			if maxDiff > tc.tol {
				t.Errorf("max |logit difference| = %g, want <= %g", maxDiff, tc.tol)
			}
		})
	}
}
