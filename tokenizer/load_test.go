package tokenizer

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// minimalJSON returns a small tokenizer.json with the given model and
// pre_tokenizer objects.
func minimalJSON(model, preTokenizer string) string {
	return `{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],"normalizer":null,` +
		`"pre_tokenizer":` + preTokenizer + `,"post_processor":null,"decoder":null,"model":` + model + `}`
}

const tinyBPE = `{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}`

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadUnsupported(t *testing.T) {
	cases := []struct {
		name, content, wantType string
	}{
		{"wordpiece model", minimalJSON(`{"type":"WordPiece","vocab":{"a":0}}`, "null"), "WordPiece"},
		{"unigram model", minimalJSON(`{"type":"Unigram","vocab":[["a",0.0]]}`, "null"), "Unigram"},
		{"whitespace pre-tokenizer", minimalJSON(tinyBPE, `{"type":"Whitespace"}`), "Whitespace"},
		{"bert pre-tokenizer in sequence", minimalJSON(tinyBPE, `{"type":"Sequence","pretokenizers":[{"type":"BertPreTokenizer"}]}`), "BertPreTokenizer"},
		{"unknown split regex", minimalJSON(tinyBPE, `{"type":"Split","pattern":{"Regex":"\\w+"},"behavior":"Isolated","invert":false}`), `\w+`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeTemp(t, c.content)
			_, err := Load(path)
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Load error = %v, want ErrUnsupported", err)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, c.wantType) {
				t.Errorf("Load error = %q, want it to name %s and %s", msg, path, c.wantType)
			}
		})
	}
}

func TestLoadCorruptJSONNamesOffset(t *testing.T) {
	content := minimalJSON(tinyBPE, "null")
	path := writeTemp(t, content[:40])
	_, err := Load(path)
	if err == nil {
		t.Fatal("Load of truncated JSON succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "byte offset 40") {
		t.Errorf("Load error = %q, want the path and byte offset 40", msg)
	}
}

func TestLoadInvalid(t *testing.T) {
	cases := []struct {
		name, content string
	}{
		{"merge of unknown token", minimalJSON(`{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a b"]}`, "null")},
		{"merge without space", minimalJSON(`{"type":"BPE","vocab":{"a":0},"merges":["ab"]}`, "null")},
		{"negative id", minimalJSON(`{"type":"BPE","vocab":{"a":-1},"merges":[]}`, "null")},
		{"missing model", `{"added_tokens":[]}`},
		{"wrong field type", `{"added_tokens":{},"model":` + tinyBPE + `}`},
		{"unk token not in vocab", minimalJSON(`{"type":"BPE","unk_token":"<unk>","vocab":{"a":0},"merges":[]}`, "null")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(writeTemp(t, c.content))
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Load error = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := LoadDir(t.TempDir())
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadDir of an empty folder: error = %v, want os.ErrNotExist", err)
	}
}

func TestMergeFormatsAgree(t *testing.T) {
	legacy := minimalJSON(`{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"c":3,"abc":4},"merges":["a b","ab c"]}`, "null")
	pairs := minimalJSON(`{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"c":3,"abc":4},"merges":[["a","b"],["ab","c"]]}`, "null")
	for _, c := range []struct{ name, content string }{{"strings", legacy}, {"pairs", pairs}} {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Load(writeTemp(t, c.content))
			if err != nil {
				t.Fatal(err)
			}
			want := []int32{4, 2, 1}
			if got := tok.Encode("abcabb"); !slices.Equal(got, want) {
				t.Errorf("Encode(abcabb) = %v, want %v", got, want)
			}
		})
	}
}

func TestAddedTokenOptions(t *testing.T) {
	content := `{"version":"1.0","truncation":null,"padding":null,"added_tokens":[` +
		`{"id":3,"content":"<x>","single_word":false,"lstrip":true,"rstrip":true,"normalized":false,"special":true},` +
		`{"id":4,"content":"yy","single_word":true,"lstrip":false,"rstrip":false,"normalized":false,"special":false}],` +
		`"normalizer":null,"pre_tokenizer":null,"post_processor":null,"decoder":null,` +
		`"model":{"type":"BPE","vocab":{"a":0," ":1,"y":2},"merges":[]}}`
	tok, err := Load(writeTemp(t, content))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		text string
		want []int32
	}{
		{"a <x> a", []int32{0, 3, 0}},      // lstrip and rstrip absorb the spaces
		{"a yy a", []int32{0, 1, 4, 1, 0}}, // a single word
		{"ayy", []int32{0, 2, 2}},          // inside a word: not matched
		{"<x><x>", []int32{3, 3}},          // adjacent matches
		{"a<x", []int32{0}},                // "<" and "x" are not in the vocabulary and are dropped
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			if got := tok.Encode(c.text); !slices.Equal(got, c.want) {
				t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.want)
			}
		})
	}
}

// FuzzLoad checks that parsing arbitrary bytes returns an error or a
// working tokenizer, and never panics.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(minimalJSON(tinyBPE, "null")))
	f.Add([]byte(minimalJSON(tinyBPE, `{"type":"ByteLevel","add_prefix_space":true}`)))
	f.Add([]byte(minimalJSON(`{"type":"BPE","unk_token":"a","fuse_unk":true,"byte_fallback":true,"vocab":{"a":0,"<0x41>":1},"merges":[]}`,
		`{"type":"Split","pattern":{"Regex":"`+strings.ReplaceAll(strings.ReplaceAll(cl100kPattern, `\`, `\\`), `"`, `\"`)+`"},"behavior":"Isolated","invert":false}`)))
	f.Add([]byte(`{"model":{"type":"WordPiece"}}`))
	f.Add([]byte(`{"added_tokens":[{"id":99999999999,"content":"x"}],"model":` + tinyBPE + `}`))
	f.Add([]byte(`{"decoder":{"type":"Sequence","decoders":[{"type":"Strip","content":" ","start":1,"stop":0},{"type":"ByteFallback"},{"type":"Fuse"}]},"model":` + tinyBPE + `}`))
	f.Add([]byte(`{"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"a","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"special_tokens":{"a":{"id":"a","ids":[0],"tokens":["a"]}}},"model":` + tinyBPE + `}`))
	f.Add([]byte("\x00{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := parse(data, "fuzz.json")
		if err != nil {
			return
		}
		ids := tok.Encode("ab <0x41> a\u00e9 ")
		tok.Decode(ids, false)
		tok.Decode([]int32{-1, 0, 1, 2, 1 << 30}, true)
		if _, err := tok.marshal(); err != nil {
			t.Fatalf("marshal of a loaded tokenizer: %v", err)
		}
	})
}

func TestSplitSpecialTokensSkipsWholeMatch(t *testing.T) {
	content := `{"added_tokens":[` +
		`{"id":0,"content":"<xx>","normalized":false,"special":true},` +
		`{"id":0,"content":"xx","normalized":false,"special":false}],` +
		`"model":{"type":"BPE","vocab":{"<":0,">":1,"x":2,"a":3},"merges":[]}}`
	tok, err := Load(writeTemp(t, content))
	if err != nil {
		t.Fatal(err)
	}
	// Ids in the file are ignored for tokens outside the vocabulary: "<xx>"
	// gets 4 and "xx" gets 5.
	cases := []struct {
		text  string
		split bool
		want  []int32
	}{
		{"<xx>", false, []int32{4}},
		{"<xx>", true, []int32{0, 2, 2, 1}}, // "xx" inside the skipped special token is not matched
		{"axx", true, []int32{3, 5}},
	}
	for _, c := range cases {
		got := tok.EncodeWithOptions(c.text, EncodeOptions{SplitSpecialTokens: c.split})
		if !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q, split=%v) = %v, want %v", c.text, c.split, got, c.want)
		}
	}
}
