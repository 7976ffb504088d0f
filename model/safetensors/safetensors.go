// Package safetensors reads and writes the safetensors tensor file format.
//
// Layout, as in Hugging Face's safetensors library (src/tensor.rs): an
// unsigned 64-bit little-endian header length N, then N bytes of UTF-8 JSON
// mapping each tensor name to {"dtype", "shape", "data_offsets": [begin,
// end)} with offsets relative to the end of the header, plus an optional
// "__metadata__" map of strings; then the data section, tensors stored
// row-major and little-endian.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/adapt-llm/adapt/internal/atomicfile"
)

// DType names an element type as the safetensors header spells it.
type DType string

// Element types this package reads. Write accepts the same set.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
)

// MaxHeaderBytes is the largest JSON header Parse accepts. It equals
// MAX_HEADER_SIZE in the safetensors library's src/tensor.rs.
const MaxHeaderBytes = 100_000_000

// headerAlignment pads the JSON header with spaces so that the data section
// starts on an 8-byte boundary, as the reference writer does.
const headerAlignment = 8

// Size returns the number of bytes of one element, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16:
		return 2
	}
	return 0
}

// Tensor is one named tensor: its dtype, shape and raw little-endian bytes.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	// Data is the row-major little-endian payload, len = product(Shape) *
	// DType.Size(). Tensors returned by Parse share the parsed buffer.
	Data []byte
}

// File is the content of one safetensors file.
type File struct {
	// Metadata is the "__metadata__" map. It is nil when the header has none.
	Metadata map[string]string
	// Tensors are sorted by name.
	Tensors []Tensor
}

// Tensor returns the tensor called name and whether it exists.
func (f *File) Tensor(name string) (Tensor, bool) {
	i := sort.Search(len(f.Tensors), func(i int) bool { return f.Tensors[i].Name >= name })
	if i < len(f.Tensors) && f.Tensors[i].Name == name {
		return f.Tensors[i], true
	}
	return Tensor{}, false
}

// NumElements returns the product of the shape; 1 for a scalar.
func (t Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Read reads and parses the safetensors file at path.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading safetensors: %w", err)
	}
	return Parse(data, path)
}

type headerEntry struct {
	DType       DType    `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Parse parses a whole safetensors file held in data. name identifies the
// file in error messages. The returned tensors share data.
func Parse(data []byte, name string) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("%s: %w: %d bytes, shorter than the 8-byte header length", name, ErrCorrupt, len(data))
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if n > MaxHeaderBytes || n > uint64(len(data)-8) {
		return nil, fmt.Errorf("%s: %w: header length %d at byte offset 0 exceeds the file size %d or the %d-byte limit", name, ErrCorrupt, n, len(data), MaxHeaderBytes)
	}
	header := data[8 : 8+n]
	body := data[8+n:]

	// Decode the header in two passes so that "__metadata__" (a string map)
	// and the tensor entries can have different shapes.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w: invalid JSON header (bytes 8 to %d): %v", name, ErrCorrupt, 8+n, err)
	}
	f := &File{}
	for key, msg := range raw {
		if key == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("%s: %w: __metadata__ is not a map of strings: %v", name, ErrCorrupt, err)
			}
			continue
		}
		t, err := parseEntry(key, msg, body, 8+int64(n))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		f.Tensors = append(f.Tensors, t)
	}
	sort.Slice(f.Tensors, func(i, j int) bool { return f.Tensors[i].Name < f.Tensors[j].Name })
	return f, nil
}

// parseEntry checks one header entry against the data section body, which
// starts at byte offset base of the file.
func parseEntry(key string, msg json.RawMessage, body []byte, base int64) (Tensor, error) {
	var e headerEntry
	dec := json.NewDecoder(bytes.NewReader(msg))
	if err := dec.Decode(&e); err != nil {
		return Tensor{}, fmt.Errorf("%w: tensor %q: invalid header entry: %v", ErrCorrupt, key, err)
	}
	size := e.DType.Size()
	if size == 0 {
		return Tensor{}, fmt.Errorf("tensor %q: %w %q", key, ErrDType, e.DType)
	}

	// Compute the expected byte count, rejecting negative dimensions and
	// products that overflow.
	count := int64(1)
	for _, d := range e.Shape {
		if d < 0 {
			return Tensor{}, fmt.Errorf("%w: tensor %q: negative dimension in shape %v", ErrCorrupt, key, e.Shape)
		}
		if d != 0 && count > math.MaxInt64/int64(d)/int64(size) {
			return Tensor{}, fmt.Errorf("%w: tensor %q: shape %v is too large", ErrCorrupt, key, e.Shape)
		}
		count *= int64(d)
	}
	begin, end := e.DataOffsets[0], e.DataOffsets[1]
	if begin < 0 || end < begin || end > int64(len(body)) {
		return Tensor{}, fmt.Errorf("%w: tensor %q: data offsets [%d, %d) (file byte offset %d) fall outside the %d-byte data section", ErrCorrupt, key, begin, end, base+begin, len(body))
	}
	if end-begin != count*int64(size) {
		return Tensor{}, fmt.Errorf("%w: tensor %q at file byte offset %d: %d bytes, but %s %v needs %d", ErrCorrupt, key, base+begin, end-begin, e.DType, e.Shape, count*int64(size))
	}
	shape := e.Shape
	if shape == nil {
		shape = []int{}
	}
	return Tensor{Name: key, DType: e.DType, Shape: shape, Data: body[begin:end:end]}, nil
}

// Float32 converts the tensor to float32. F64, F32, F16, BF16, I64 and I32
// are accepted; F64 and integer values are rounded to the nearest float32.
func (t Tensor) Float32() ([]float32, error) {
	n := t.NumElements()
	out := make([]float32, n)
	b := t.Data
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = HalfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	default:
		f64, err := t.Float64()
		if err != nil {
			return nil, err
		}
		for i, v := range f64 {
			out[i] = float32(v)
		}
	}
	return out, nil
}

// Float64 converts the tensor to float64. Every dtype Float32 accepts is
// accepted; I64 values beyond 2^53 lose precision.
func (t Tensor) Float64() ([]float64, error) {
	n := t.NumElements()
	out := make([]float64, n)
	b := t.Data
	switch t.DType {
	case F64:
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case I64:
		for i := range out {
			out[i] = float64(int64(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case I32:
		for i := range out {
			out[i] = float64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case F32, F16, BF16:
		f32, err := t.Float32()
		if err != nil {
			return nil, err
		}
		for i, v := range f32 {
			out[i] = float64(v)
		}
	default:
		return nil, fmt.Errorf("tensor %q: %w %q", t.Name, ErrDType, t.DType)
	}
	return out, nil
}

// Int64 converts an I64 or I32 tensor, or a float tensor holding whole
// numbers (some exporters store token ids as floats), to int64.
func (t Tensor) Int64() ([]int64, error) {
	n := t.NumElements()
	out := make([]int64, n)
	b := t.Data
	switch t.DType {
	case I64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	default:
		f64, err := t.Float64()
		if err != nil {
			return nil, err
		}
		for i, v := range f64 {
			if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
				return nil, fmt.Errorf("tensor %q: element %d is %v, not a whole number", t.Name, i, v)
			}
			out[i] = int64(v)
		}
	}
	return out, nil
}

// HalfToFloat32 converts an IEEE 754 binary16 value to float32 exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal half: value = mant * 2^-24, exact in float32.
	v := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

// FromFloat32 returns an F32 tensor holding a copy of data. It panics when
// len(data) differs from the product of shape.
func FromFloat32(name string, shape []int, data []float32) Tensor {
	t := Tensor{Name: name, DType: F32, Shape: append([]int{}, shape...)}
	if n := t.NumElements(); n != len(data) {
		panic(fmt.Sprintf("safetensors: tensor %q has shape %v (%d elements) but %d values", name, shape, n, len(data)))
	}
	t.Data = make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(v))
	}
	return t
}

// Encode writes tensors in safetensors layout to w, sorted by name, with
// metadata as "__metadata__" (nil writes {"format": "pt"}, the value
// PyTorch exporters use). It returns an error for duplicate names, unknown
// dtypes or a Data length that disagrees with the shape.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	sorted := append([]Tensor{}, tensors...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	if metadata == nil {
		metadata = map[string]string{"format": "pt"}
	}

	// Build the header with offsets in sorted order.
	header := map[string]any{"__metadata__": metadata}
	var offset int64
	for i, t := range sorted {
		if i > 0 && sorted[i-1].Name == t.Name {
			return fmt.Errorf("encoding safetensors: duplicate tensor name %q", t.Name)
		}
		if t.Name == "__metadata__" {
			return fmt.Errorf("encoding safetensors: tensor name %q is reserved", t.Name)
		}
		size := t.DType.Size()
		if size == 0 {
			return fmt.Errorf("encoding safetensors: tensor %q: %w %q", t.Name, ErrDType, t.DType)
		}
		if want := t.NumElements() * size; want != len(t.Data) {
			return fmt.Errorf("encoding safetensors: tensor %q: %s %v needs %d bytes, got %d", t.Name, t.DType, t.Shape, want, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		end := offset + int64(len(t.Data))
		header[t.Name] = headerEntry{DType: t.DType, Shape: shape, DataOffsets: [2]int64{offset, end}}
		offset = end
	}
	js, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("encoding safetensors header: %w", err)
	}
	if pad := (headerAlignment - len(js)%headerAlignment) % headerAlignment; pad > 0 {
		js = append(js, bytes.Repeat([]byte{' '}, pad)...)
	}

	// Write the length, the header and the payloads.
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(js)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return fmt.Errorf("writing safetensors header length: %w", err)
	}
	if _, err := w.Write(js); err != nil {
		return fmt.Errorf("writing safetensors header: %w", err)
	}
	for _, t := range sorted {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("writing tensor %q: %w", t.Name, err)
		}
	}
	return nil
}

// Write encodes tensors to path through a temporary file in the same folder
// that is renamed over path once complete, so a failed write never leaves a
// truncated file at path.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return fmt.Errorf("writing safetensors %s: %w", path, err)
	}
	defer f.Abort()

	if err := Encode(f, tensors, metadata); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("writing safetensors %s: %w", path, err)
	}
	return nil
}
