package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
)

// encodeGolden is one record of goldens.jsonl, produced by the Rust
// tokenizers library.
type encodeGolden struct {
	ID                 string   `json:"id"`
	Text               string   `json:"text"`
	AddSpecialTokens   bool     `json:"add_special_tokens"`
	SplitSpecialTokens bool     `json:"split_special_tokens"`
	IDs                []int32  `json:"ids"`
	Tokens             []string `json:"tokens"`
	Decoded            string   `json:"decoded"`
	DecodedSkipSpecial string   `json:"decoded_skip_special"`
}

// decodeGolden is one record of decode_goldens.jsonl.
type decodeGolden struct {
	Source             string  `json:"source"`
	IDs                []int32 `json:"ids"`
	Decoded            string  `json:"decoded"`
	DecodedSkipSpecial string  `json:"decoded_skip_special"`
}

func readJSONL[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var rec T
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	loadedMu sync.Mutex
	loaded   = map[string]*Tokenizer{}
)

// goldenTokenizer loads one of the reference tokenizers once per test run.
func goldenTokenizer(t testing.TB, name string) *Tokenizer {
	t.Helper()
	dir := sharedtest.Dir(t, "goldens", "tokenizers", name)
	loadedMu.Lock()
	defer loadedMu.Unlock()
	if tok, ok := loaded[name]; ok {
		return tok
	}
	tok, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir(%s): %v", dir, err)
	}
	loaded[name] = tok
	return tok
}

func testEncodeGoldens(t *testing.T, name string) {
	tok := goldenTokenizer(t, name)
	records := readJSONL[encodeGolden](t, sharedtest.Dir(t, "goldens", "tokenizers", name, "goldens.jsonl"))
	for _, rec := range records {
		t.Run(rec.ID, func(t *testing.T) {
			got := tok.EncodeWithOptions(rec.Text, EncodeOptions{
				AddSpecialTokens:   rec.AddSpecialTokens,
				SplitSpecialTokens: rec.SplitSpecialTokens,
			})
			if !slices.Equal(got, rec.IDs) {
				t.Errorf("Encode(%q) ids:\n got  %v\n want %v", rec.Text, got, rec.IDs)
			}
			tokens := make([]string, len(rec.IDs))
			for i, id := range rec.IDs {
				tokens[i], _ = tok.IDToToken(id)
			}
			if !slices.Equal(tokens, rec.Tokens) {
				t.Errorf("IDToToken of ids:\n got  %q\n want %q", tokens, rec.Tokens)
			}
			if got := tok.Decode(rec.IDs, false); got != rec.Decoded {
				t.Errorf("Decode(skipSpecial=false) = %q, want %q", got, rec.Decoded)
			}
			if got := tok.Decode(rec.IDs, true); got != rec.DecodedSkipSpecial {
				t.Errorf("Decode(skipSpecial=true) = %q, want %q", got, rec.DecodedSkipSpecial)
			}
		})
	}
}

func testDecodeGoldens(t *testing.T, name string) {
	tok := goldenTokenizer(t, name)
	records := readJSONL[decodeGolden](t, sharedtest.Dir(t, "goldens", "tokenizers", name, "decode_goldens.jsonl"))
	for i, rec := range records {
		if got := tok.Decode(rec.IDs, false); got != rec.Decoded {
			t.Errorf("record %d (%s): Decode(%v, false) = %q, want %q", i, rec.Source, rec.IDs, got, rec.Decoded)
		}
		if got := tok.Decode(rec.IDs, true); got != rec.DecodedSkipSpecial {
			t.Errorf("record %d (%s): Decode(%v, true) = %q, want %q", i, rec.Source, rec.IDs, got, rec.DecodedSkipSpecial)
		}
	}
}

func TestGPT2EncodeGoldens(t *testing.T)    { testEncodeGoldens(t, "gpt2") }
func TestGPT2DecodeGoldens(t *testing.T)    { testDecodeGoldens(t, "gpt2") }
func TestCL100KEncodeGoldens(t *testing.T)  { testEncodeGoldens(t, "cl100k") }
func TestCL100KDecodeGoldens(t *testing.T)  { testDecodeGoldens(t, "cl100k") }
func TestMistralEncodeGoldens(t *testing.T) { testEncodeGoldens(t, "mistral-7b") }
func TestMistralDecodeGoldens(t *testing.T) { testDecodeGoldens(t, "mistral-7b") }

// TestGPT2SweepExamples runs the texts that sweep.json keeps with their Rust
// ids (the cases where the pure-JS library disagrees with Rust).
func TestGPT2SweepExamples(t *testing.T) {
	tok := goldenTokenizer(t, "gpt2")
	data, err := os.ReadFile(sharedtest.Dir(t, "goldens", "tokenizers", "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sweep map[string]struct {
		Examples map[string][]struct {
			Text string  `json:"text"`
			Rust []int32 `json:"rust"`
		} `json:"examples"`
	}
	if err := json.Unmarshal(data, &sweep); err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, entry := range sweep {
		if name != "gpt2" {
			continue
		}
		for kind, list := range entry.Examples {
			for i, ex := range list {
				if ex.Rust == nil {
					continue
				}
				n++
				if got := tok.Encode(ex.Text); !slices.Equal(got, ex.Rust) {
					t.Errorf("%s[%d] Encode(%q):\n got  %v\n want %v", kind, i, ex.Text, got, ex.Rust)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("sweep.json has no gpt2 examples with Rust ids")
	}
}

// TestGoldenTokenizersRoundTrip checks Decode(Encode(text)) == text for the
// three reference tokenizers on texts without special-token text.
func TestGoldenTokenizersRoundTrip(t *testing.T) {
	for _, name := range []string{"gpt2", "cl100k", "mistral-7b"} {
		t.Run(name, func(t *testing.T) {
			tok := goldenTokenizer(t, name)
			for _, text := range roundTripTexts {
				if strings.Contains(text, "<|endoftext|>") {
					continue
				}
				ids := tok.Encode(text)
				if got := tok.Decode(ids, true); got != text {
					t.Errorf("Decode(Encode(%q)) = %q", text, got)
				}
			}
		})
	}
}

// TestMetaspaceMatchesLegacyLayout loads the Mistral file with its
// Prepend+Replace normalizer swapped for the equivalent Metaspace
// pre-tokenizer (prepend_scheme "first", no split), the layout of newer
// Llama and Mistral files. Both must encode texts identically unless the
// text contains special-token text or starts with a space, where Metaspace
// prepends no second "▁".
func TestMetaspaceMatchesLegacyLayout(t *testing.T) {
	dir := sharedtest.Dir(t, "goldens", "tokenizers", "mistral-7b")
	data, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]json.RawMessage
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	file["normalizer"] = json.RawMessage("null")
	file["pre_tokenizer"] = json.RawMessage(`{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}`)
	modified, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := parse(modified, "mistral-metaspace.json")
	if err != nil {
		t.Fatal(err)
	}

	records := readJSONL[encodeGolden](t, filepath.Join(dir, "goldens.jsonl"))
	checked := 0
	for _, rec := range records {
		if strings.Contains(rec.Text, "<s>") || strings.Contains(rec.Text, "</s>") || strings.Contains(rec.Text, "<unk>") ||
			strings.HasPrefix(rec.Text, " ") || strings.HasPrefix(rec.Text, "▁") {
			continue
		}
		checked++
		got := tok.EncodeWithOptions(rec.Text, EncodeOptions{AddSpecialTokens: rec.AddSpecialTokens})
		if !slices.Equal(got, rec.IDs) {
			t.Errorf("%s: Encode(%q):\n got  %v\n want %v", rec.ID, rec.Text, got, rec.IDs)
		}
	}
	if checked < 50 {
		t.Errorf("only %d records checked, want at least 50", checked)
	}
}
