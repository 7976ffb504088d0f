package llama2c

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
	"github.com/adapt-llm/adapt/model/gguf"
)

const (
	prompt       = "Once upon a time"
	wantSentence = "Once upon a time, there was a little girl named Lily."
	wantLonger   = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
)

func loadStories(t *testing.T) (*Checkpoint, *gguf.Vocab) {
	t.Helper()
	dir := sharedtest.Dir(t, "data", "models", "llama2c-stories260K")
	ck, err := ReadCheckpoint(filepath.Join(dir, "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	vocab, err := ReadTokenizer(filepath.Join(dir, "tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return ck, vocab
}

func TestStoriesCheckpointHeader(t *testing.T) {
	ck, vocab := loadStories(t)
	want := Config{Dim: 64, HiddenDim: 172, NLayers: 5, NHeads: 8, NKVHeads: 4, VocabSize: 512, SeqLen: 512, SharedClassifier: true}
	if ck.Config != want {
		t.Errorf("config = %+v, want %+v", ck.Config, want)
	}
	if got := len(vocab.Tokens); got != 512 {
		t.Errorf("tokenizer has %d tokens, want 512", got)
	}
}

func TestStoriesTokenizerEncode(t *testing.T) {
	_, vocab := loadStories(t)
	ids, err := vocab.Encode(prompt, true)
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != 1 {
		t.Errorf("first id = %d, want BOS 1", ids[0])
	}
	if got := vocab.Decode(ids); got != prompt {
		t.Errorf("Decode(Encode(%q)) = %q", prompt, got)
	}
	t.Logf("ids %v", ids)
}

func TestStoriesGreedyReference(t *testing.T) {
	ck, vocab := loadStories(t)
	ids, _ := vocab.Encode(prompt, true)
	out := referenceGreedy(ck.Config.Params(), ck.Tensors, ids, 16)
	if got := vocab.Decode(out); !slices.Contains([]string{wantSentence}, got[:min(len(got), len(wantSentence))]) {
		t.Errorf("greedy decode = %q, want prefix %q", got, wantSentence)
	}
}

// The GGUF conversion of stories260K holds the same weights and vocabulary:
// after undoing each format's RoPE layout the tensors are identical.
func TestStoriesMatchesGGUF(t *testing.T) {
	ck, vocab := loadStories(t)
	f, err := gguf.Read(filepath.Join(sharedtest.Dir(t, "data", "models", "gguf-stories260K"), "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.LlamaParams()
	if err != nil {
		t.Fatal(err)
	}
	tensors, err := f.LlamaTensors(p)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string][]float32{}
	for _, tt := range tensors {
		byName[tt.Name] = tt.Data
	}
	for _, tt := range ck.Tensors {
		if !slices.Equal(byName[tt.Name], tt.Data) {
			t.Errorf("tensor %s differs between the llama2.c and GGUF files", tt.Name)
		}
	}
	if !slices.Equal(byName["lm_head.weight"], byName["model.embed_tokens.weight"]) {
		t.Errorf("GGUF output.weight differs from token_embd.weight, but the llama2.c classifier is shared")
	}
	gv, err := f.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gv.Tokens, vocab.Tokens) {
		t.Errorf("GGUF and llama2.c vocabularies differ")
	}
}

func TestParseCheckpointCorrupt(t *testing.T) {
	header := func(v ...int32) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, uint32(x))
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "shorter than the 28-byte header"},
		{"zero dim", header(0, 4, 1, 1, 1, 4, 4), "dim at byte offset 0"},
		{"negative seq_len", header(8, 4, 1, 2, 1, 4, -1), "seq_len at byte offset 24"},
		{"lying sizes", header(1<<30, 1<<30, 1<<30, 2, 1, 1<<30, 1<<30), "implies"},
		{"truncated weights", append(header(4, 4, 1, 2, 1, 4, 2), make([]byte, 12)...), "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCheckpoint(tc.data, "bad.bin")
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "bad.bin") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want ErrCorrupt naming bad.bin and %q", err, tc.want)
			}
		})
	}
}

func TestParseTokenizerCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"short", []byte{1}, "shorter than the 4-byte"},
		{"zero max length", []byte{0, 0, 0, 0}, "max_token_length 0"},
		{"cut record", []byte{4, 0, 0, 0, 0, 0, 0, 0, 1}, "byte offset 4"},
		{"long token", []byte{4, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 'a'}, "token 0 at byte offset 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTokenizer(tc.data, "bad.bin")
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "bad.bin") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want ErrCorrupt naming bad.bin and %q", err, tc.want)
			}
		})
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	// dim 4, hidden 4, 1 layer, 2 heads, 1 kv head, vocab -4, seq_len 2.
	var seed []byte
	for _, x := range []int32{4, 4, 1, 2, 1, -4, 2} {
		seed = binary.LittleEndian.AppendUint32(seed, uint32(x))
	}
	n := 4*4 + (2*4 + 16 + 2*2*4 + 16 + 3*16) + 4 + 2*2 + 16
	f.Add(append(seed, make([]byte, 4*n)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		ck, err := ParseCheckpoint(data, "fuzz.bin")
		if err == nil && len(ck.Tensors) == 0 {
			t.Errorf("parsed checkpoint without tensors")
		}
	})
}

func FuzzParseTokenizer(f *testing.F) {
	f.Add([]byte{4, 0, 0, 0, 0, 0, 0x80, 0x3f, 1, 0, 0, 0, 'a', 0, 0, 0, 0, 2, 0, 0, 0, 0xe2, 0x96})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseTokenizer(data, "fuzz.bin")
		if err != nil {
			return
		}
		ids, _ := v.Encode("Once upon a time é", true)
		v.Decode(ids)
	})
}
