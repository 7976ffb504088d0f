package tokenizer

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
)

// licenseTexts returns the Debian license texts as a training corpus.
func licenseTexts(t testing.TB) []string {
	t.Helper()
	dir := sharedtest.Dir(t, "data", "legal", "debian", "common-licenses")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(data))
	}
	if len(texts) == 0 {
		t.Fatalf("no license texts in %s", dir)
	}
	return texts
}

var roundTripTexts = []string{
	"",
	"Hello world",
	"The licensee shall indemnify the licensor.",
	"  leading and trailing spaces  ",
	"tabs\tand\nnew lines\r\n\n",
	"中文分词测试：许可证条款。",
	"emoji 👨‍👩‍👧‍👦 and flags 🇩🇪 🙂",
	"mixed العربية русский हिन्दी 日本語",
	"special <|endoftext|> in the middle<|endoftext|>",
	"numbers 1234567890 and 3.14159",
	"\u0085next line\ufeffbom",
	"don't we'll they've I'm it's",
}

func TestTrainSaveLoadRoundTrip(t *testing.T) {
	texts := licenseTexts(t)
	const vocabSize = 1000
	special := "<|endoftext|>"
	tok, err := Train(slices.Values(texts), TrainOptions{VocabSize: vocabSize, MinFrequency: 2, SpecialTokens: []string{special}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.VocabSize(); got != vocabSize {
		t.Errorf("VocabSize() = %d, want %d", got, vocabSize)
	}
	if id, ok := tok.TokenToID(special); !ok || id != vocabSize-1 {
		t.Errorf("TokenToID(%q) = %d, %v, want %d, true", special, id, ok, vocabSize-1)
	}

	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := tok.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}

	for _, text := range append(slices.Clone(roundTripTexts), texts[0][:2000]) {
		ids := tok.Encode(text)
		if got := loaded.Encode(text); !slices.Equal(got, ids) {
			t.Errorf("loaded Encode(%q) = %v, want the trained tokenizer's %v", text, got, ids)
		}
		if got := loaded.Decode(ids, false); got != text {
			t.Errorf("Decode(Encode(%q)) = %q", text, got)
		}
		split := loaded.EncodeWithOptions(text, EncodeOptions{SplitSpecialTokens: true})
		if got := loaded.Decode(split, false); got != text {
			t.Errorf("Decode(Encode(%q) with SplitSpecialTokens) = %q", text, got)
		}
	}

	// A trained tokenizer compresses its own training text.
	ids := tok.Encode(texts[0])
	if ratio := float64(len(texts[0])) / float64(len(ids)); ratio < 2.5 {
		t.Errorf("bytes per token on training text = %.2f, want at least 2.5", ratio)
	}
}

func TestTrainSavedLayout(t *testing.T) {
	tok, err := Train(slices.Values([]string{"ab ab ab", "abc"}), TrainOptions{VocabSize: 256 + 3 + 1, SpecialTokens: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := tok.Save(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
			Special bool   `json:"special"`
		} `json:"added_tokens"`
		PreTokenizer  struct{ Type string } `json:"pre_tokenizer"`
		PostProcessor struct{ Type string } `json:"post_processor"`
		Decoder       struct{ Type string } `json:"decoder"`
		Model         struct {
			Type   string         `json:"type"`
			Vocab  map[string]int `json:"vocab"`
			Merges []string       `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatalf("saved file is not valid JSON: %v", err)
	}

	// Pair counts: (a,b) 4, (Ġ,a) 2, (b,c) 1; after "a b": (Ġ,ab) 2, (ab,c) 1.
	wantMerges := []string{"a b", "Ġ ab", "ab c"}
	if !slices.Equal(file.Model.Merges, wantMerges) {
		t.Errorf("merges = %q, want %q", file.Model.Merges, wantMerges)
	}
	for _, c := range []struct{ name, got, want string }{
		{"model.type", file.Model.Type, "BPE"},
		{"pre_tokenizer.type", file.PreTokenizer.Type, "ByteLevel"},
		{"post_processor.type", file.PostProcessor.Type, "ByteLevel"},
		{"decoder.type", file.Decoder.Type, "ByteLevel"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if len(file.Model.Vocab) != 259 {
		t.Errorf("len(vocab) = %d, want 259", len(file.Model.Vocab))
	}
	if id := file.Model.Vocab["!"]; id != 0 {
		t.Errorf(`vocab["!"] = %d, want 0 as in GPT-2`, id)
	}
	if len(file.AddedTokens) != 1 || file.AddedTokens[0].ID != 259 || !file.AddedTokens[0].Special {
		t.Errorf("added_tokens = %+v, want one special token with id 259", file.AddedTokens)
	}
}

func TestTrainByteTokensMatchGPT2(t *testing.T) {
	gpt2 := goldenTokenizer(t, "gpt2")
	tok, err := Train(slices.Values([]string{"x"}), TrainOptions{VocabSize: 256})
	if err != nil {
		t.Fatal(err)
	}
	for id := int32(0); id < 256; id++ {
		got, _ := tok.IDToToken(id)
		want, _ := gpt2.IDToToken(id)
		if got != want {
			t.Errorf("IDToToken(%d) = %q, GPT-2 has %q", id, got, want)
		}
	}
}

func TestTrainOptionsInvalid(t *testing.T) {
	cases := []struct {
		name string
		opts TrainOptions
	}{
		{"vocab below bytes", TrainOptions{VocabSize: 255}},
		{"vocab below bytes and specials", TrainOptions{VocabSize: 256, SpecialTokens: []string{"<s>"}}},
		{"negative min frequency", TrainOptions{VocabSize: 300, MinFrequency: -1}},
		{"empty special", TrainOptions{VocabSize: 300, SpecialTokens: []string{""}}},
		{"repeated special", TrainOptions{VocabSize: 300, SpecialTokens: []string{"<s>", "<s>"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Train(slices.Values([]string{"abc"}), c.opts)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Train error = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestTrainMinFrequencyStops(t *testing.T) {
	tok, err := Train(slices.Values([]string{"ab ab cd"}), TrainOptions{VocabSize: 1000, MinFrequency: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Only (a,b) occurs twice; every other pair occurs once.
	if got := tok.VocabSize(); got != 257 {
		t.Errorf("VocabSize() = %d, want 257", got)
	}
}

func BenchmarkTrain(b *testing.B) {
	texts := licenseTexts(b)
	size := 0
	for _, s := range texts {
		size += len(s)
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		if _, err := Train(slices.Values(texts), TrainOptions{VocabSize: 4096}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrain30MB trains a 4096-token vocabulary on the shared domain
// texts, repeated to about 30 MB.
func BenchmarkTrain30MB(b *testing.B) {
	root := sharedtest.Dir(b, "data")
	var texts []string
	size := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "models" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		texts = append(texts, string(data))
		size += len(data)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	const target = 30 << 20
	for n := len(texts); size < target && n > 0; {
		for i := 0; i < n && size < target; i++ {
			texts = append(texts, texts[i])
			size += len(texts[i])
		}
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		if _, err := Train(slices.Values(texts), TrainOptions{VocabSize: 4096}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSaveLoadGoldenIdentical(t *testing.T) {
	for _, name := range []string{"gpt2", "cl100k", "mistral-7b"} {
		t.Run(name, func(t *testing.T) {
			tok := goldenTokenizer(t, name)
			path := filepath.Join(t.TempDir(), "tokenizer.json")
			if err := tok.Save(path); err != nil {
				t.Fatal(err)
			}
			loaded, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := loaded.VocabSize(), tok.VocabSize(); got != want {
				t.Errorf("VocabSize() after save = %d, want %d", got, want)
			}
			for _, text := range roundTripTexts {
				want := tok.Encode(text)
				if got := loaded.Encode(text); !slices.Equal(got, want) {
					t.Errorf("Encode(%q) after save = %v, want %v", text, got, want)
				}
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".tmp") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
}
