package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
)

func TestRoundTrip(t *testing.T) {
	in := []Tensor{
		FromFloat32("b", []int{2, 3}, []float32{1, 2, 3, 4, 5, -6.5}),
		FromFloat32("a", []int{1}, []float32{42}),
		{Name: "ids", DType: I64, Shape: []int{2}, Data: binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 7), math.MaxUint64)},
	}
	path := filepath.Join(t.TempDir(), "x.safetensors")
	if err := Write(path, in, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.Metadata["format"], "pt"; got != want {
		t.Errorf("metadata format = %q, want %q", got, want)
	}
	var names []string
	for _, tt := range f.Tensors {
		names = append(names, tt.Name)
	}
	if want := []string{"a", "b", "ids"}; !slices.Equal(names, want) {
		t.Errorf("names = %v, want %v", names, want)
	}
	b, _ := f.Tensor("b")
	got, err := b.Float32()
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, 2, 3, 4, 5, -6.5}; !slices.Equal(got, want) || !slices.Equal(b.Shape, []int{2, 3}) {
		t.Errorf("b = %v %v, want %v [2 3]", got, b.Shape, want)
	}
	ids, _ := f.Tensor("ids")
	gotIDs, err := ids.Int64()
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{7, -1}; !slices.Equal(gotIDs, want) {
		t.Errorf("ids = %v, want %v", gotIDs, want)
	}
}

func TestEncodeLayout(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, []Tensor{FromFloat32("w", []int{1}, []float32{1})}, nil); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	n := binary.LittleEndian.Uint64(data[:8])
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	header := string(data[8 : 8+n])
	want := `{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	if trimmed := string(bytes.TrimRight([]byte(header), " ")); trimmed != want {
		t.Errorf("header = %s, want %s", trimmed, want)
	}
}

func TestHalfConversions(t *testing.T) {
	cases := []struct {
		name  string
		dtype DType
		bits  uint16
		want  float32
	}{
		{"f16 one", F16, 0x3c00, 1},
		{"f16 minus two", F16, 0xc000, -2},
		{"f16 smallest subnormal", F16, 0x0001, float32(math.Ldexp(1, -24))},
		{"f16 max", F16, 0x7bff, 65504},
		{"f16 inf", F16, 0x7c00, float32(math.Inf(1))},
		{"bf16 one", BF16, 0x3f80, 1},
		{"bf16 minus 0.5", BF16, 0xbf00, -0.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tt := Tensor{Name: c.name, DType: c.dtype, Shape: []int{1}, Data: binary.LittleEndian.AppendUint16(nil, c.bits)}
			got, err := tt.Float32()
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != c.want {
				t.Errorf("got %v, want %v", got[0], c.want)
			}
		})
	}
}

func encodeRaw(header string, body []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, body...)
}

func TestParseRejectsCorrupt(t *testing.T) {
	cases := []struct {
		name string
		data []byte
	}{
		{"short file", []byte{1, 2, 3}},
		{"header length beyond file", encodeRaw("{}", nil)[:9]},
		{"invalid json", encodeRaw("{not json", nil)},
		{"offsets beyond data", encodeRaw(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 4))},
		{"size disagrees with shape", encodeRaw(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8))},
		{"negative dimension", encodeRaw(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, nil)},
		{"reversed offsets", encodeRaw(`{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, make([]byte, 4))},
		{"huge shape", encodeRaw(`{"w":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,0]}}`, nil)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.data, "bad.safetensors")
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got error %v, want ErrCorrupt", err)
			}
			t.Logf("error: %v", err)
		})
	}
}

func TestParseUnknownDType(t *testing.T) {
	_, err := Parse(encodeRaw(`{"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)), "x")
	if !errors.Is(err, ErrDType) {
		t.Fatalf("got error %v, want ErrDType", err)
	}
}

func TestReadGoldenModel(t *testing.T) {
	dir := sharedtest.Dir(t, "goldens", "models", "gpt2-tiny")
	f, err := Read(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	wte, ok := f.Tensor("wte.weight")
	if !ok {
		t.Fatal("wte.weight not found")
	}
	if want := []int{512, 64}; !slices.Equal(wte.Shape, want) || wte.DType != F32 {
		t.Errorf("wte.weight = %s %v, want F32 %v", wte.DType, wte.Shape, want)
	}
}

func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	Encode(&buf, []Tensor{FromFloat32("w", []int{2}, []float32{1, 2})}, nil)
	f.Add(buf.Bytes())
	f.Add(encodeRaw(`{"w":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}`, make([]byte, 2)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data, "fuzz")
		if err != nil {
			return
		}
		// Every accepted tensor must convert without panicking and survive a
		// re-encode.
		for _, tt := range file.Tensors {
			tt.Float64()
		}
		var out bytes.Buffer
		if err := Encode(&out, file.Tensors, file.Metadata); err != nil {
			t.Fatalf("re-encoding an accepted file: %v", err)
		}
		again, err := Parse(out.Bytes(), "fuzz-reencoded")
		if err != nil {
			t.Fatalf("parsing a re-encoded file: %v", err)
		}
		if len(again.Tensors) != len(file.Tensors) {
			t.Fatalf("re-encoded file has %d tensors, want %d", len(again.Tensors), len(file.Tensors))
		}
	})
}
