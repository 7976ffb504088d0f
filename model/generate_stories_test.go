package model_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/model/gguf"
)

// stories260K is a real pretrained Llama; its greedy continuation of
// "Once upon a time" is known from llama2.c's run.c.
func TestGenerateStories260K(t *testing.T) {
	path := filepath.Join(sharedtest.Dir(t, "data", "models", "gguf-stories260K"), "stories260K.gguf")
	m, vocab, err := gguf.LoadLlama(path)
	if err != nil {
		t.Fatal(err)
	}
	prompt, err := vocab.Encode("Once upon a time", true)
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	decode := func(ids []int32) string { return vocab.Decode(append(slices.Clone(prompt), ids...)) }

	got, err := model.Complete(m, prompt, model.GenerateOptions{MaxNewTokens: n, StopStrings: []string{"."}, Decode: decode})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Once upon a time, there was a little girl named Lily"; got.Text != want {
		t.Errorf("text up to the stop string: got %q, want %q", got.Text, want)
	}

	cached, err := model.Generate(m, prompt, model.GenerateOptions{MaxNewTokens: n})
	if err != nil {
		t.Fatal(err)
	}
	full := m.Greedy(prompt, n)
	if !slices.Equal(cached, full) {
		t.Errorf("cached Generate = %v, full-recompute Greedy = %v", cached, full)
	}
	const want = "Once upon a time, there was a little girl named Lily."
	if text := decode(cached); len(text) < len(want) || text[:len(want)] != want {
		t.Errorf("greedy text = %q, want prefix %q", text, want)
	}
}
