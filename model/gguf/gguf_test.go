package gguf

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
)

func readStories(t *testing.T) *File {
	t.Helper()
	dir := sharedtest.Dir(t, "data", "models", "gguf-stories260K")
	f, err := Read(filepath.Join(dir, "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestStoriesParams(t *testing.T) {
	f := readStories(t)
	p, err := f.LlamaParams()
	if err != nil {
		t.Fatal(err)
	}
	want := LlamaParams{Architecture: "llama", VocabSize: 512, HiddenSize: 64, IntermediateSize: 172, NumLayers: 5,
		NumHeads: 8, NumKVHeads: 4, MaxPositions: 2048, RopeTheta: 10000, RMSNormEps: 1e-5}
	if p != want {
		t.Errorf("params = %+v, want %+v", p, want)
	}
	tensors, err := f.LlamaTensors(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(tensors), 3+9*5; got != want {
		t.Errorf("%d tensors, want %d", got, want)
	}
}

func TestStoriesVocabEncode(t *testing.T) {
	f := readStories(t)
	v, err := f.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text string
		want []int32
	}{
		// Ids from llama2.c's run.c with tok512.bin, which holds the same
		// vocabulary.
		{"Once upon a time", []int32{1, 403, 407, 261, 378}},
	} {
		t.Run(tc.text, func(t *testing.T) {
			got, err := v.Encode(tc.text, true)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Encode = %v, want %v", got, tc.want)
			}
			if dec := v.Decode(got); dec != tc.text {
				t.Errorf("Decode = %q, want %q", dec, tc.text)
			}
		})
	}
}

// The Hugging Face tokenizer built from the scores encodes as the
// SentencePiece merge loop does.
func TestStoriesTokenizerJSONMatchesSPM(t *testing.T) {
	f := readStories(t)
	v, err := f.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := v.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		"Once upon a time",
		"Lily's mom said, \"Lily, let's go to the park.\"",
		"The patient was given 20 mg of atorvastatin daily.",
		"  two spaces\nand a newline, ünïcödé 字",
	} {
		want, _ := v.Encode(text, true)
		got := tok.Encode(text)
		if !slices.Equal(got, want) {
			t.Errorf("%q: tokenizer.json encode = %v, SentencePiece encode = %v", text, got, want)
		}
		if dec := tok.Decode(got, true); dec != text {
			t.Errorf("%q: tokenizer.json decode = %q", text, dec)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	f := readStories(t)
	p, err := f.LlamaParams()
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	hf, err := f.LlamaTensors(p)
	if err != nil {
		t.Fatal(err)
	}
	tensors, err := LlamaGGUFTensors(p, hf, GGMLTypeF32)
	if err != nil {
		t.Fatal(err)
	}
	// Permuting back to pairs must restore the original bytes.
	for _, tt := range tensors {
		orig, _ := f.Tensor(tt.Name)
		if !bytes.Equal(orig.Data, tt.Data) || !slices.Equal(orig.Dims, tt.Dims) {
			t.Errorf("tensor %s: written back differs from the file (dims %v, want %v)", tt.Name, tt.Dims, orig.Dims)
		}
	}

	path := filepath.Join(t.TempDir(), "out.gguf")
	md := LlamaMetadata(p, v, "stories260K")
	md = append(md, KV{"test.nested", []any{[]string{"a", "b"}, []int8{-1, 2}}}, KV{"test.f64", 1.5}, KV{"test.bools", []bool{true, false}})
	if err := Write(path, md, tensors); err != nil {
		t.Fatal(err)
	}
	g, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.Metadata, md) {
		t.Errorf("metadata differs after the round trip:\ngot  %v\nwant %v", g.Metadata[len(g.Metadata)-3:], md[len(md)-3:])
	}
	for i, tt := range g.Tensors {
		if tt.Name != tensors[i].Name || !bytes.Equal(tt.Data, tensors[i].Data) || tt.Offset%32 != 0 {
			t.Errorf("tensor %d %s differs after the round trip (offset %d)", i, tt.Name, tt.Offset)
		}
	}
	p2, err := g.LlamaParams()
	if err != nil || p2 != p {
		t.Errorf("params after the round trip = %+v, %v; want %+v", p2, err, p)
	}
}

func TestFromFloat32Types(t *testing.T) {
	data := make([]float32, 64)
	for i := range data {
		data[i] = float32(math.Sin(float64(i))) * 3
	}
	for _, tc := range []struct {
		typ GGMLType
		tol float64 // maximum absolute error of the encoding
	}{
		{GGMLTypeF32, 0},
		{GGMLTypeF16, 3 * 0x1p-11},    // half precision: 11-bit significand on values below 4
		{GGMLTypeBF16, 3 * 0x1p-8},    // bfloat16: 8-bit significand
		{GGMLTypeQ8_0, 3.0 / 127 / 2}, // half a quantization step of max|x|/127
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			tt := FromFloat32("w", []int{2, 32}, data, tc.typ)
			got, err := tt.Float32()
			if err != nil {
				t.Fatal(err)
			}
			for i := range data {
				if d := math.Abs(float64(got[i] - data[i])); d > tc.tol*1.01 {
					t.Fatalf("element %d: got %v, want %v within %g", i, got[i], data[i], tc.tol)
				}
			}
		})
	}
}

func TestFloat32ToHalfExact(t *testing.T) {
	for h := range 1 << 16 {
		f := HalfToFloat32(uint16(h))
		if f != f {
			continue
		}
		if got := Float32ToHalf(f); got != uint16(h) {
			t.Fatalf("Float32ToHalf(%v) = %#04x, want %#04x", f, got, h)
		}
	}
}

func TestPermuteInverse(t *testing.T) {
	w := make([]float32, 4*8*3)
	for i := range w {
		w[i] = float32(i)
	}
	got := PermuteToPairs(PermuteToRotateHalf(w, 4, 8, 3), 4, 8, 3)
	if !slices.Equal(got, w) {
		t.Errorf("PermuteToPairs(PermuteToRotateHalf(w)) != w")
	}
	// Head 0 row 1 of the rotate-half layout is pair row 2 (i=1, s=0).
	if r := PermuteToRotateHalf(w, 4, 8, 3); r[3] != w[2*3] {
		t.Errorf("rotate-half row 1 starts with %v, want pair row 2 (%v)", r[3], w[6])
	}
}

func TestParseCorrupt(t *testing.T) {
	var good bytes.Buffer
	md := []KV{{"general.architecture", "llama"}, {"a.list", []string{"x", "yy"}}}
	tensors := []TensorInfo{FromFloat32("w", []int{2, 4}, make([]float32, 8), GGMLTypeF32)}
	if err := Encode(&good, md, tensors); err != nil {
		t.Fatal(err)
	}
	b := good.Bytes()
	if _, err := Parse(b, "good.gguf"); err != nil {
		t.Fatalf("good file: %v", err)
	}
	patch := func(off int, v ...byte) []byte {
		c := slices.Clone(b)
		copy(c[off:], v)
		return c
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"bad magic", patch(0, 'G', 'G', 'U', 'X'), "magic at byte offset 0"},
		{"truncated data", b[:len(b)-1], "truncated"},
		{"huge tensor count", patch(8, 0xff, 0xff, 0xff, 0xff), "tensor count at byte offset 8"},
		{"huge key length", patch(24, 0xff, 0xff, 0xff), "metadata[0] key at byte offset 24"},
		{"unknown value type", patch(24+8+20, 99), "unknown value type 99"},
		{"huge array length", patch(24+8+20+4+8+5+8+6+4+4, 0xff, 0xff, 0xff, 0xff, 0xff), "array length"},
		{"header only", b[:20], "tensor count at byte offset 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.data, "bad.gguf")
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "bad.gguf") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want ErrCorrupt naming bad.gguf and %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	md := []KV{{"general.architecture", "llama"}, {"n", []any{[]uint32{1, 2}}}, {KeyAlignment, uint32(64)}}
	if err := Encode(&buf, md, []TensorInfo{FromFloat32("w", []int{1, 32}, make([]float32, 32), GGMLTypeQ8_0)}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data, "fuzz.gguf")
		if err != nil {
			return
		}
		for _, tt := range file.Tensors {
			tt.Float32()
		}
		if p, err := file.LlamaParams(); err == nil {
			file.LlamaTensors(p)
		}
		if v, err := file.Vocab(); err == nil && v.Model == "llama" {
			v.Encode("Hello world", true)
		}
	})
}
