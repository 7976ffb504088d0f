package gguf

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/tokenizer"
)

// baseModel is the project's shipped GPT-2, relative to this package.
const baseModel = "../../basemodel/gpt2-debian-small"

var probeTexts = []string{
	"The package manager installs dependencies.",
	"  apt-get install -y libc6 <|endoftext|> done\n\ttabs, ünïcödé and 1234567",
	"",
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// Exporting the base GPT-2 and reading it back gives the same weights
// (F32), close logits (F16, BF16, Q8_0) and identical tokenization.
func TestExportGPT2RoundTrip(t *testing.T) {
	orig, err := model.LoadGPT2(baseModel)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.LoadDir(baseModel)
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.EncodeWithOptions(probeTexts[0]+" "+probeTexts[1], tokenizer.EncodeOptions{})
	want := slices.Clone(orig.Forward(ids, 1, len(ids)))

	for _, tc := range []struct {
		typ GGMLType
		tol float64 // maximum absolute logit difference
	}{
		{GGMLTypeF32, 0},
		// Logits of this model are O(10); each weight is rounded to 2^-11
		// relative (F16), 2^-8 (BF16) or amax/254 per 32 values (Q8_0),
		// and the errors add up over 4 blocks.
		{GGMLTypeF16, 0.02},
		{GGMLTypeBF16, 0.3},
		{GGMLTypeQ8_0, 0.3},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gpt2.gguf")
			if err := Export(baseModel, path, tc.typ); err != nil {
				t.Fatal(err)
			}
			back, v, err := LoadGPT2(path)
			if err != nil {
				t.Fatal(err)
			}
			if back.Config.VocabSize != orig.Config.VocabSize || back.Config.NPositions != orig.Config.NPositions ||
				back.Config.LayerNormEpsilon != orig.Config.LayerNormEpsilon {
				t.Errorf("config = %+v, want %+v", back.Config, orig.Config)
			}
			if tc.typ == GGMLTypeF32 {
				for i, p := range back.Parameters() {
					if !slices.Equal(p.Data, orig.Parameters()[i].Data) {
						t.Errorf("parameter %s differs after the F32 round trip", p.Name)
					}
				}
			}
			got := back.Forward(ids, 1, len(ids))
			d := maxAbsDiff(got, want)
			t.Logf("max |logit difference| %g", d)
			if d > tc.tol {
				t.Errorf("max |logit difference| = %g, want <= %g", d, tc.tol)
			}
			for _, text := range probeTexts {
				g, err := v.Encode(text, false)
				if err != nil {
					t.Fatal(err)
				}
				w := tok.EncodeWithOptions(text, tokenizer.EncodeOptions{})
				if !slices.Equal(g, w) {
					t.Errorf("Encode(%q) = %v, want %v", text, g, w)
				}
				if gd, wd := v.Decode(g), tok.Decode(w, true); gd != wd {
					t.Errorf("Decode = %q, want %q", gd, wd)
				}
			}
		})
	}
}

// The GPT-2 file carries llama.cpp's names, GGUF dims (fastest first) and
// metadata.
func TestExportGPT2Layout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gpt2.gguf")
	if err := Export(baseModel, path, GGMLTypeF16); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	const C, V, P = 128, 4096, 256
	for _, tc := range []struct {
		name string
		dims []uint64
		typ  GGMLType
	}{
		{"token_embd.weight", []uint64{C, V}, GGMLTypeF16},
		{"position_embd.weight", []uint64{C, P}, GGMLTypeF32},
		{"blk.0.attn_norm.bias", []uint64{C}, GGMLTypeF32},
		{"blk.0.attn_qkv.weight", []uint64{C, 3 * C}, GGMLTypeF16},
		{"blk.3.attn_output.weight", []uint64{C, C}, GGMLTypeF16},
		{"blk.1.ffn_up.weight", []uint64{C, 4 * C}, GGMLTypeF16},
		{"blk.1.ffn_down.weight", []uint64{4 * C, C}, GGMLTypeF16},
		{"output_norm.weight", []uint64{C}, GGMLTypeF32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, ok := f.Tensor(tc.name)
			if !ok {
				t.Fatalf("tensor %s missing", tc.name)
			}
			if !slices.Equal(info.Dims, tc.dims) || info.Type != tc.typ {
				t.Errorf("got %s %v, want %s %v", info.Type, info.Dims, tc.typ, tc.dims)
			}
		})
	}
	if _, ok := f.Tensor("output.weight"); ok {
		t.Errorf("output.weight written for a tied model")
	}
	if got := len(f.Tensors); got != 4+12*4 {
		t.Errorf("%d tensors, want %d", got, 4+12*4)
	}
	for _, tc := range []struct {
		key  string
		want any
	}{
		{"general.architecture", "gpt2"},
		{"general.name", "gpt2-debian-small"},
		{"general.file_type", uint32(1)},
		{"gpt2.context_length", uint32(P)},
		{"gpt2.embedding_length", uint32(C)},
		{"gpt2.feed_forward_length", uint32(4 * C)},
		{"gpt2.block_count", uint32(4)},
		{"gpt2.attention.head_count", uint32(4)},
		{"gpt2.attention.layer_norm_epsilon", float32(1e-5)},
		{"tokenizer.ggml.model", "gpt2"},
		{"tokenizer.ggml.pre", "gpt-2"},
		{"tokenizer.ggml.bos_token_id", uint32(4095)},
		{"tokenizer.ggml.eos_token_id", uint32(4095)},
		{"tokenizer.ggml.add_bos_token", false},
	} {
		got, _ := f.Get(tc.key)
		if got != tc.want {
			t.Errorf("%s = %v (%T), want %v (%T)", tc.key, got, got, tc.want, tc.want)
		}
	}
	v, err := f.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Tokens) != V || v.Types[4095] != TokenControl || v.Types[0] != TokenNormal || len(v.Merges) != 3839 {
		t.Errorf("vocab: %d tokens, type[4095] %d, type[0] %d, %d merges; want %d, %d, %d, 3839",
			len(v.Tokens), v.Types[4095], v.Types[0], len(v.Merges), V, TokenControl, TokenNormal)
	}
}

// writeTinyLlama saves a small random Llama with a byte-level tokenizer
// trained on a few sentences into a new folder and returns it. Biases, if
// any, are set to small nonzero values; attentionBias adds q/k/v/o
// biases to a "llama" model.
func writeTinyLlama(t *testing.T, modelType string, attentionBias bool) string {
	t.Helper()
	texts := []string{"the quick brown fox jumps over the lazy dog", "packages depend on libraries", "the dog sleeps"}
	tok, err := tokenizer.Train(slices.Values(texts), tokenizer.TrainOptions{VocabSize: 300, SpecialTokens: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	eos, _ := tok.TokenToID("<|endoftext|>")
	cfg := model.LlamaConfig{
		ModelType: modelType, VocabSize: 320, HiddenSize: 64, IntermediateSize: 96, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, MaxPositionEmbeddings: 64, RMSNormEps: 1e-5, AttentionBias: attentionBias,
		Extra: map[string]json.RawMessage{"eos_token_id": json.RawMessage(strings.TrimSpace(string(mustJSON(t, eos))))},
	}
	m := model.NewLlama(cfg, 7)
	for _, p := range m.Parameters() {
		if strings.HasSuffix(p.Name, ".bias") {
			for i := range p.Data {
				p.Data[i] = 0.01 * float32(i%7)
			}
		}
	}
	dir := filepath.Join(t.TempDir(), "tiny-"+modelType)
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A Llama-family folder exports through WriteLlama and reads back with the
// same logits and tokenization.
func TestExportLlamaRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, modelType, arch string
		attentionBias         bool
		typ                   GGMLType
		tol                   float64 // maximum absolute logit difference
	}{
		{"llama/F32", "llama", "llama", false, GGMLTypeF32, 0},
		{"mistral/F32", "mistral", "llama", false, GGMLTypeF32, 0},
		{"qwen2/F32", "qwen2", "qwen2", false, GGMLTypeF32, 0},
		{"llama/F16", "llama", "llama", false, GGMLTypeF16, 1e-3}, // random weights N(0,0.02) give logits O(0.1)
		// llama.cpp's "llama" architecture reads attn_output.bias as an
		// optional tensor beside attn_q/k/v.bias (checked with the llama.cpp
		// in node-llama-cpp 3.22.1 by benchmarks/llamacpp).
		{"llama attention bias/F32", "llama", "llama", true, GGMLTypeF32, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTinyLlama(t, tc.modelType, tc.attentionBias)
			orig, err := model.LoadLlama(dir)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := tokenizer.LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			ids := tok.EncodeWithOptions("the lazy fox depends on packages", tokenizer.EncodeOptions{})
			want := slices.Clone(orig.Forward(ids, 1, len(ids)))

			path := filepath.Join(t.TempDir(), "tiny.gguf")
			if err := Export(dir, path, tc.typ); err != nil {
				t.Fatal(err)
			}
			f, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if arch, _ := f.String("general.architecture"); arch != tc.arch {
				t.Errorf("general.architecture = %q, want %q", arch, tc.arch)
			}
			if tc.attentionBias {
				// C is 64, and k and v have 2 KV heads of 16 values each.
				for name, n := range map[string]uint64{"blk.1.attn_q.bias": 64, "blk.1.attn_k.bias": 32, "blk.1.attn_v.bias": 32, "blk.1.attn_output.bias": 64} {
					info, ok := f.Tensor(name)
					if !ok {
						t.Errorf("tensor %s not found", name)
						continue
					}
					if info.Type != GGMLTypeF32 || !slices.Equal(info.Dims, []uint64{n}) {
						t.Errorf("tensor %s is %s %v, want F32 [%d]", name, info.Type, info.Dims, n)
					}
				}
			}
			back, v, err := LoadLlama(path)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(back.Forward(ids, 1, len(ids)), want); d > tc.tol {
				t.Errorf("max |logit difference| = %g, want <= %g", d, tc.tol)
			}
			if v.Model != "gpt2" || v.Pre != "gpt-2" || len(v.Tokens) != 320 || v.Tokens[310] != "[PAD310]" || v.Types[310] != TokenUnused {
				t.Errorf("vocab model %q pre %q, %d tokens, token 310 %q type %d", v.Model, v.Pre, len(v.Tokens), v.Tokens[310], v.Types[310])
			}
			if eos, _ := tok.TokenToID("<|endoftext|>"); v.EOS != eos {
				t.Errorf("EOS = %d, want %d", v.EOS, eos)
			}
			text := "the dog jumps <|endoftext|>"
			g, _ := v.Encode(text, false)
			if w := tok.EncodeWithOptions(text, tokenizer.EncodeOptions{}); !slices.Equal(g, w) {
				t.Errorf("Encode(%q) = %v, want %v", text, g, w)
			}
		})
	}
}

// Export fails with a clear error, naming the folder, and leaves no file.
func TestExportErrors(t *testing.T) {
	bert := t.TempDir()
	os.WriteFile(filepath.Join(bert, "config.json"), []byte(`{"model_type":"bert"}`), 0o644)
	noTok := t.TempDir()
	if err := model.NewGPT2(model.GPT2Config{VocabSize: 300, NPositions: 8, NEmbd: 32, NLayer: 1, NHead: 2}, 1).Save(noTok); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir string
		typ       GGMLType
		want      error
	}{
		{"unsupported architecture", bert, GGMLTypeF32, model.ErrUnsupported},
		{"missing tokenizer", noTok, GGMLTypeF32, ErrMissing},
		{"unsupported type", baseModel, GGMLType(12), ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.gguf")
			err := Export(tc.dir, out, tc.typ)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.dir) {
				t.Errorf("got %v, want an error wrapping %v that names %s", err, tc.want, tc.dir)
			}
			if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
				t.Errorf("left %d files behind", len(entries))
			}
		})
	}
}

func TestParseFileType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want GGMLType
		ok   bool
	}{
		{"f32", GGMLTypeF32, true}, {"F16", GGMLTypeF16, true}, {"bf16", GGMLTypeBF16, true},
		{"Q8_0", GGMLTypeQ8_0, true}, {"q4_0", 0, false}, {"", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFileType(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("got %v, %v; want %v, ok %v", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestPreTokenizerKind(t *testing.T) {
	cl100k, _ := json.Marshal(cl100kRegex)
	for _, tc := range []struct {
		name, raw    string
		byteFallback bool
		want         string
	}{
		{"gpt2", `{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}`, false, "gpt-2"},
		{"llama3", `{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":` + string(cl100k) + `}},{"type":"ByteLevel","use_regex":false}]}`, false, "llama-bpe"},
		{"mistral", `{"type":"Metaspace","replacement":"▁"}`, true, "llama"},
		{"llama2", `null`, true, "llama"},
		{"whitespace", `{"type":"Whitespace"}`, false, ""},
		{"bytelevel without regex", `{"type":"ByteLevel","use_regex":false}`, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := preTokenizerKind(json.RawMessage(tc.raw), tc.byteFallback)
			if got != tc.want || (err != nil) != (tc.want == "") {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// FuzzGPT2 reads arbitrary bytes as a GPT-2 GGUF file without panicking
// or allocating beyond what the file's tensors hold.
func FuzzGPT2(f *testing.F) {
	m := model.NewGPT2(model.GPT2Config{VocabSize: 8, NPositions: 4, NEmbd: 32, NLayer: 1, NHead: 2}, 1)
	var buf bytes.Buffer
	if err := Encode(&buf, GPT2Metadata(m.Config, nil, "fuzz", GGMLTypeF16), GPT2GGUFTensors(m, GGMLTypeF16)); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data, "fuzz.gguf")
		if err != nil {
			return
		}
		file.GPT2()
	})
}
