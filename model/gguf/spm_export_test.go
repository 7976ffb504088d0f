package gguf

import (
	"slices"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
	"github.com/adapt-llm/adapt/tokenizer"
)

// A SentencePiece-style HF tokenizer converted to a "llama" vocabulary
// encodes probe texts as the original does.
func TestVocabFromMistralTokenizer(t *testing.T) {
	dir := sharedtest.Dir(t, "goldens", "tokenizers", "mistral-7b")
	tok, err := tokenizer.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := VocabFromTokenizer(tok, tok.VocabSize(), []int{1}, []int{2})
	if err != nil {
		t.Fatal(err)
	}
	if v.Model != "llama" || !v.AddSpacePrefix || !v.AddBOS {
		t.Errorf("model %q, add_space_prefix %v, add_bos %v; want llama, true, true", v.Model, v.AddSpacePrefix, v.AddBOS)
	}
	for _, text := range []string{"Hello world", "The patient's blood pressure was 120/80 mmHg.", "naïve café  tabs\tand\nnewlines", "unbelievably antidisestablishmentarianism"} {
		got, _ := v.Encode(text, true)
		want := tok.Encode(text)
		if !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v", text, got, want)
		}
	}
}
