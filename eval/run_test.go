package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/model/safetensors"
)

// byteLevelTokenizerJSON returns a GPT-2 style tokenizer.json with one token
// per byte (ids 0-255, in GPT-2's byte-to-character mapping), no merges and
// "<|endoftext|>" as id 256.
func byteLevelTokenizerJSON() []byte {
	printable := map[int]bool{}
	for b := 0; b < 256; b++ {
		printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	vocab := map[string]int{}
	next := 256
	for b := range 256 {
		r := rune(b)
		if !printable[b] {
			r = rune(next)
			next++
		}
		vocab[string(r)] = b
	}
	byteLevel := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
	data, err := json.Marshal(map[string]any{
		"version":    "1.0",
		"truncation": nil,
		"padding":    nil,
		"added_tokens": []any{map[string]any{"id": 256, "content": "<|endoftext|>", "single_word": false,
			"lstrip": false, "rstrip": false, "normalized": true, "special": true}},
		"normalizer":     nil,
		"pre_tokenizer":  byteLevel,
		"post_processor": nil,
		"decoder":        byteLevel,
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "",
			"end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "vocab": vocab, "merges": []any{}},
	})
	if err != nil {
		panic(err)
	}
	return data
}

func writeTinyModel(t *testing.T, dir string, seed int64) {
	t.Helper()
	m := model.NewGPT2(model.GPT2Config{VocabSize: 257, NPositions: 16, NEmbd: 16, NLayer: 1, NHead: 2, BOSTokenID: 256, EOSTokenID: 256}, seed)
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), byteLevelTokenizerJSON(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRunWritesResults(t *testing.T) {
	root := t.TempDir()
	base, tuned := filepath.Join(root, "base"), filepath.Join(root, "tuned")
	writeTinyModel(t, base, 1)
	writeTinyModel(t, tuned, 2)

	// A clean folder with 60 documents, about 30% held out.
	clean := filepath.Join(root, "clean")
	if err := os.MkdirAll(clean, 0o755); err != nil {
		t.Fatal(err)
	}
	w := corpus.NewShardWriter(clean, corpus.ShardOptions{})
	heldOut := 0
	for i := range 60 {
		text := fmt.Sprintf("document %d says the lease ends in month %d.", i, i%12)
		id := corpus.HashText(text)
		if corpus.HeldOut(id, 0.3) {
			heldOut++
		}
		if err := w.Write(corpus.Document{ID: id, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	jsonl := filepath.Join(root, "general.jsonl")
	if err := os.WriteFile(jsonl, []byte("{\"id\":\"a\",\"text\":\"a general sentence that is longer than one window of sixteen bytes\"}\n{\"text\":\"hi there\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(root, "eval")
	results, err := Run(context.Background(), Options{
		Models:   []ModelRef{{Name: "base", Dir: base}, {Name: "tuned", Dir: tuned}},
		TaskSets: []TaskSet{{Name: "legal-heldout", Kind: KindCorpusHeldOut, Path: clean, ValFraction: 0.3}, {Name: "general", Kind: KindJSONL, Path: jsonl}},
		OutDir:   out,
		Config:   Config{Stride: 8, BootstrapSamples: 200, Seed: 1, PrependEOT: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 4 {
		t.Fatalf("results: got %d, want 4", len(results))
	}
	for _, res := range results {
		path := filepath.Join(out, ResultFileName(res.Model, res.TaskSet))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("result file: %v", err)
			continue
		}
		var onDisk Result
		if err := json.Unmarshal(data, &onDisk); err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		wantSHA, err := safetensors.HashFolder(onDisk.ModelPath)
		if err != nil {
			t.Fatal(err)
		}
		if onDisk.ModelSHA256 != wantSHA {
			t.Errorf("%s: model_sha256 %q, want %q", path, onDisk.ModelSHA256, wantSHA)
		}
		if onDisk.ElapsedSeconds <= 0 {
			t.Errorf("%s: elapsed_seconds %v, want > 0", path, onDisk.ElapsedSeconds)
		}

		wantDocs := heldOut
		if res.TaskSet == "general" {
			wantDocs = 2
		}
		if len(onDisk.Examples) != wantDocs {
			t.Errorf("%s: got %d examples, want %d", path, len(onDisk.Examples), wantDocs)
		}

		// With the end-of-text token prepended, every byte is scored.
		var nll float64
		var tokens int
		for _, ex := range onDisk.Examples {
			nll += ex.NLL
			tokens += ex.Tokens
		}
		if got := onDisk.Metrics["tokens"]; got != float64(tokens) {
			t.Errorf("%s: tokens metric %v, want %d", path, got, tokens)
		}
		if got, want := onDisk.Metrics["perplexity"], math.Exp(nll/float64(tokens)); math.Abs(got-want) > 1e-9*want {
			t.Errorf("%s: perplexity %v, want %v", path, got, want)
		}
		// An untrained model is close to uniform over 257 tokens.
		if ppl := onDisk.Metrics["perplexity"]; ppl < 150 || ppl > 450 {
			t.Errorf("%s: perplexity %v, want near 257 for an untrained model", path, ppl)
		}
		ci := onDisk.CI95["perplexity"]
		if !(ci[0] <= onDisk.Metrics["perplexity"] && onDisk.Metrics["perplexity"] <= ci[1]) {
			t.Errorf("%s: interval %v does not contain %v", path, ci, onDisk.Metrics["perplexity"])
		}
	}
	general := results[1]
	if general.Examples[0].ID != "a" || general.Examples[1].ID != "line-2" {
		t.Errorf("jsonl ids: got %q and %q, want \"a\" and \"line-2\"", general.Examples[0].ID, general.Examples[1].ID)
	}
	if got, want := general.Examples[1].Tokens, len("hi there"); got != want {
		t.Errorf("scored tokens of %q: got %d, want %d", "hi there", got, want)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	root := t.TempDir()
	base := filepath.Join(root, "base")
	writeTinyModel(t, base, 1)
	jsonl := filepath.Join(root, "t.jsonl")
	if err := os.WriteFile(jsonl, []byte("{\"text\":\"some text here\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(root, "empty.jsonl")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	good := []ModelRef{{Name: "base", Dir: base}}
	cases := []struct {
		name     string
		models   []ModelRef
		taskSets []TaskSet
		cfg      Config
		want     error
	}{
		{"name with separator", good, []TaskSet{{Name: "a__b", Kind: KindJSONL, Path: jsonl}}, Config{}, ErrInvalidConfig},
		{"context beyond model", good, []TaskSet{{Name: "t", Kind: KindJSONL, Path: jsonl}}, Config{ContextLength: 64}, ErrInvalidConfig},
		{"empty task set", good, []TaskSet{{Name: "t", Kind: KindJSONL, Path: empty}}, Config{}, ErrNoDocuments},
		{"only an optional empty task set", good, []TaskSet{{Name: "t", Kind: KindJSONL, Path: empty, Optional: true}}, Config{}, ErrNoDocuments},
		{"missing model", []ModelRef{{Name: "x", Dir: filepath.Join(root, "none")}}, []TaskSet{{Name: "t", Kind: KindJSONL, Path: jsonl}}, Config{}, ErrBadModel},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), Options{Models: tc.models, TaskSets: tc.taskSets, OutDir: filepath.Join(root, "out"), Config: tc.cfg})
			if !errors.Is(err, tc.want) {
				t.Errorf("got error %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "failed to") {
				t.Errorf("error %q uses \"failed to\"", err)
			}
		})
	}
}

func TestRunSkipsOptionalEmptyTaskSet(t *testing.T) {
	root := t.TempDir()
	base := filepath.Join(root, "base")
	writeTinyModel(t, base, 1)
	jsonl := filepath.Join(root, "general.jsonl")
	empty := filepath.Join(root, "empty.jsonl")
	if err := os.WriteFile(jsonl, []byte(`{"text": "The license grants every recipient the same rights."}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	results, err := Run(context.Background(), Options{
		Models: []ModelRef{{Name: "base", Dir: base}},
		TaskSets: []TaskSet{
			{Name: "heldout", Kind: KindJSONL, Path: empty, Optional: true},
			{Name: "general", Kind: KindJSONL, Path: jsonl},
		},
		OutDir: filepath.Join(root, "out"),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(results) != 1 || results[0].TaskSet != "general" {
		t.Errorf("results = %d, want one for the general set", len(results))
	}
}

func TestPerplexityMetricNamesMatchResult(t *testing.T) {
	got := perplexityMetrics([]Example{{ID: "a", Tokens: 2, NLL: 2}})
	if len(got) != len(PerplexityMetricNames) {
		t.Errorf("result has %d metrics, PerplexityMetricNames lists %d", len(got), len(PerplexityMetricNames))
	}
	for _, name := range PerplexityMetricNames {
		if _, ok := got[name]; !ok {
			t.Errorf("result has no metric %q", name)
		}
	}
}
