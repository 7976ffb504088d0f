// Package gguf reads and writes GGUF, the model file format of ggml,
// llama.cpp and Ollama, and maps the "llama" and "qwen2" architectures to
// Hugging Face tensor names and configuration.
//
// Layout, as specified in ggml's docs/gguf.md (GGUF version 3; version 2
// reads the same): the magic "GGUF", a uint32 version, a uint64 tensor
// count and a uint64 metadata count; then the metadata key/value pairs (key
// string, uint32 value type, value); then one info record per tensor (name,
// uint32 dimension count, uint64 dimensions with the fastest-varying first,
// uint32 ggml type, uint64 offset into the data section); then padding to
// the alignment (metadata general.alignment, default 32) and the data
// section. Strings are a uint64 byte length followed by UTF-8 bytes; every
// number is little-endian.
package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the alignment of tensor data when general.alignment
// is absent (GGUF_DEFAULT_ALIGNMENT in ggml).
const DefaultAlignment = 32

// KeyAlignment is the metadata key that overrides DefaultAlignment.
const KeyAlignment = "general.alignment"

// ValueType is the type tag of a metadata value (gguf_metadata_value_type).
type ValueType uint32

// Metadata value types, numbered as in the specification.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

// size returns the encoded size of a fixed-size value type, 0 for string
// and array.
func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// KV is one metadata pair. Value holds the Go type that matches the GGUF
// type: uint8, int8, uint16, int16, uint32, int32, float32, bool, string,
// uint64, int64 or float64; an array is a slice of one of those ([]string,
// []float32, ...), and an array of arrays is []any holding such slices.
type KV struct {
	Key   string
	Value any
}

// TensorInfo describes one tensor and holds its raw bytes.
type TensorInfo struct {
	Name string
	// Dims are the GGUF dimensions, fastest-varying first (ggml's ne). A
	// row-major [rows, cols] matrix has Dims [cols, rows]; Shape reverses.
	Dims []uint64
	Type GGMLType
	// Offset is the byte offset of the data from the start of the data
	// section.
	Offset uint64
	// Data is the tensor's bytes; Parse's tensors share the parsed buffer.
	Data []byte
}

// Shape returns the dimensions in row-major order, slowest-varying first,
// as Hugging Face and PyTorch write them.
func (t TensorInfo) Shape() []int {
	shape := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		shape[len(t.Dims)-1-i] = int(d)
	}
	return shape
}

// NumElements returns the product of the dimensions.
func (t TensorInfo) NumElements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// File is the parsed content of one GGUF file.
type File struct {
	// Name identifies the file in error messages, usually its path.
	Name    string
	Version uint32
	// Metadata in file order.
	Metadata []KV
	// Tensors in file order.
	Tensors []TensorInfo
	// Alignment of the data section and of each tensor's offset, in bytes.
	Alignment int
	// DataOffset is the byte offset of the data section in the file.
	DataOffset int64

	index map[string]int
}

// Get returns the value stored under key and whether it exists.
func (f *File) Get(key string) (any, bool) {
	for _, kv := range f.Metadata {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// Tensor returns the tensor called name and whether it exists.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	if f.index == nil {
		f.index = make(map[string]int, len(f.Tensors))
		for i, t := range f.Tensors {
			f.index[t.Name] = i
		}
	}
	i, ok := f.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// Read reads and parses the GGUF file at path. The whole file is read into
// memory.
func Read(path string) (*File, error) {
	// NOTE: the file is read whole rather than memory-mapped, so a model
	// needs its file size in RAM plus its float32 copy once converted.
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading GGUF: %w", err)
	}
	return Parse(data, path)
}

// Limits on what Parse accepts, so that a lying count cannot make it
// allocate or loop far beyond the file size.
const (
	maxDims      = 8 // ggml's GGML_MAX_DIMS is 4; leave room for newer files
	maxArrayNest = 4
)

// decoder reads little-endian values from data and reports the byte offset
// of any field that runs past the end.
type decoder struct {
	name string
	data []byte
	off  int
}

func (d *decoder) corrupt(field string, at int, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s at byte offset %d: %s; the file is truncated or not GGUF, download or convert it again",
		d.name, ErrCorrupt, field, at, fmt.Sprintf(format, args...))
}

func (d *decoder) need(field string, n uint64) error {
	if n > uint64(len(d.data)-d.off) {
		return d.corrupt(field, d.off, "needs %d bytes, %d remain", n, len(d.data)-d.off)
	}
	return nil
}

func (d *decoder) bytes(field string, n uint64) ([]byte, error) {
	if err := d.need(field, n); err != nil {
		return nil, err
	}
	b := d.data[d.off : d.off+int(n)]
	d.off += int(n)
	return b, nil
}

func (d *decoder) u32(field string) (uint32, error) {
	b, err := d.bytes(field, 4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) u64(field string) (uint64, error) {
	b, err := d.bytes(field, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (d *decoder) str(field string) (string, error) {
	at := d.off
	n, err := d.u64(field + " length")
	if err != nil {
		return "", err
	}
	if remain := len(d.data) - d.off; n > uint64(remain) {
		d.off = at
		return "", d.corrupt(field, at, "string length %d exceeds the %d bytes that remain", n, remain)
	}
	b, _ := d.bytes(field, n)
	return string(b), nil
}

// count reads a uint64 count of items that each take at least minSize
// bytes and rejects one that cannot fit in the rest of the file.
func (d *decoder) count(field string, minSize uint64) (int, error) {
	at := d.off
	n, err := d.u64(field)
	if err != nil {
		return 0, err
	}
	if remain := uint64(len(d.data) - d.off); n > remain/minSize {
		return 0, d.corrupt(field, at, "count %d cannot fit in the %d bytes that remain", n, remain)
	}
	return int(n), nil
}

// Parse parses a whole GGUF file held in data. name identifies the file in
// error messages. Tensor data shares data.
func Parse(data []byte, name string) (*File, error) {
	d := &decoder{name: name, data: data}
	f := &File{Name: name, Alignment: DefaultAlignment}

	// Header.
	magic, err := d.bytes("magic", 4)
	if err != nil {
		return nil, err
	}
	if string(magic) != Magic {
		return nil, d.corrupt("magic", 0, "found %q, want %q", magic, Magic)
	}
	if f.Version, err = d.u32("version"); err != nil {
		return nil, err
	}
	if f.Version != 2 && f.Version != 3 {
		return nil, fmt.Errorf("%s: %w: GGUF version %d at byte offset 4 (versions 2 and 3 are read)", name, ErrUnsupported, f.Version)
	}
	// A tensor info takes at least 24 bytes (empty name, 0 dims, type,
	// offset), a metadata pair at least 13 (empty key, type, one byte).
	nTensors, err := d.count("tensor count", 24)
	if err != nil {
		return nil, err
	}
	nKV, err := d.count("metadata count", 13)
	if err != nil {
		return nil, err
	}

	// Metadata.
	f.Metadata = make([]KV, 0, nKV)
	for i := range nKV {
		at := d.off
		key, err := d.str(fmt.Sprintf("metadata[%d] key", i))
		if err != nil {
			return nil, err
		}
		typ, err := d.u32(fmt.Sprintf("metadata %q type", key))
		if err != nil {
			return nil, err
		}
		v, err := d.value(key, ValueType(typ), 0)
		if err != nil {
			return nil, err
		}
		if key == KeyAlignment {
			a, ok := asUint(v)
			if !ok || a == 0 || a&(a-1) != 0 || a > 1<<20 {
				return nil, d.corrupt(KeyAlignment, at, "value %v is not a power of two up to 1 MiB", v)
			}
			f.Alignment = int(a)
		}
		f.Metadata = append(f.Metadata, KV{Key: key, Value: v})
	}

	// Tensor infos.
	f.Tensors = make([]TensorInfo, 0, nTensors)
	for i := range nTensors {
		t, err := d.tensorInfo(i)
		if err != nil {
			return nil, err
		}
		f.Tensors = append(f.Tensors, t)
	}

	// Data section, starting at the next multiple of the alignment.
	start := alignUp(uint64(d.off), uint64(f.Alignment))
	if start > uint64(len(data)) {
		if nTensors > 0 {
			return nil, d.corrupt("data section", d.off, "padding to %d-byte alignment runs past the end of the file", f.Alignment)
		}
		start = uint64(len(data))
	}
	f.DataOffset = int64(start)
	body := data[start:]
	for i := range f.Tensors {
		t := &f.Tensors[i]
		size, err := t.Type.byteSize(t.Dims)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", name, t.Name, err)
		}
		if t.Offset%uint64(f.Alignment) != 0 {
			return nil, fmt.Errorf("%s: %w: tensor %q offset %d (file byte offset %d) is not a multiple of the %d-byte alignment",
				name, ErrCorrupt, t.Name, t.Offset, start+t.Offset, f.Alignment)
		}
		if t.Offset > uint64(len(body)) || size > uint64(len(body))-t.Offset {
			return nil, fmt.Errorf("%s: %w: tensor %q needs %d bytes at file byte offset %d, past the end of the %d-byte file; the file is truncated",
				name, ErrCorrupt, t.Name, size, start+t.Offset, len(data))
		}
		t.Data = body[t.Offset : t.Offset+size : t.Offset+size]
	}
	return f, nil
}

func (d *decoder) tensorInfo(i int) (TensorInfo, error) {
	at := d.off
	tname, err := d.str(fmt.Sprintf("tensor[%d] name", i))
	if err != nil {
		return TensorInfo{}, err
	}
	field := fmt.Sprintf("tensor %q", tname)
	nDims, err := d.u32(field + " dimension count")
	if err != nil {
		return TensorInfo{}, err
	}
	if nDims > maxDims {
		return TensorInfo{}, d.corrupt(field, at, "%d dimensions, at most %d are allowed", nDims, maxDims)
	}
	t := TensorInfo{Name: tname, Dims: make([]uint64, nDims)}
	n := uint64(1)
	for j := range t.Dims {
		dimAt := d.off
		if t.Dims[j], err = d.u64(field + " dimension"); err != nil {
			return TensorInfo{}, err
		}
		if t.Dims[j] != 0 && n > math.MaxInt64/t.Dims[j] {
			return TensorInfo{}, d.corrupt(field+" dimensions", dimAt, "%v overflow a 64-bit element count", t.Dims)
		}
		n *= t.Dims[j]
	}
	typ, err := d.u32(field + " type")
	if err != nil {
		return TensorInfo{}, err
	}
	t.Type = GGMLType(typ)
	if t.Offset, err = d.u64(field + " offset"); err != nil {
		return TensorInfo{}, err
	}
	return t, nil
}

// value reads one metadata value of type typ; depth counts array nesting.
func (d *decoder) value(key string, typ ValueType, depth int) (any, error) {
	field := fmt.Sprintf("metadata %q", key)
	if typ == TypeArray {
		return d.array(key, depth)
	}
	if typ == TypeString {
		return d.str(field)
	}
	size := typ.size()
	if size == 0 {
		return nil, d.corrupt(field, d.off-4, "unknown value type %d", uint32(typ))
	}
	b, err := d.bytes(field, uint64(size))
	if err != nil {
		return nil, err
	}
	return decodeScalar(typ, b), nil
}

func decodeScalar(typ ValueType, b []byte) any {
	switch typ {
	case TypeUint8:
		return b[0]
	case TypeInt8:
		return int8(b[0])
	case TypeBool:
		return b[0] != 0
	case TypeUint16:
		return binary.LittleEndian.Uint16(b)
	case TypeInt16:
		return int16(binary.LittleEndian.Uint16(b))
	case TypeUint32:
		return binary.LittleEndian.Uint32(b)
	case TypeInt32:
		return int32(binary.LittleEndian.Uint32(b))
	case TypeFloat32:
		return math.Float32frombits(binary.LittleEndian.Uint32(b))
	case TypeUint64:
		return binary.LittleEndian.Uint64(b)
	case TypeInt64:
		return int64(binary.LittleEndian.Uint64(b))
	case TypeFloat64:
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	panic(fmt.Sprintf("gguf: decodeScalar called with non-scalar type %d", typ))
}

func (d *decoder) array(key string, depth int) (any, error) {
	field := fmt.Sprintf("metadata %q", key)
	at := d.off
	if depth >= maxArrayNest {
		return nil, d.corrupt(field, at, "arrays nested deeper than %d", maxArrayNest)
	}
	elem, err := d.u32(field + " array element type")
	if err != nil {
		return nil, err
	}
	typ := ValueType(elem)
	minSize := uint64(typ.size())
	switch typ {
	case TypeString, TypeArray:
		minSize = 8
	case TypeUint8, TypeInt8, TypeBool, TypeUint16, TypeInt16, TypeUint32, TypeInt32, TypeFloat32, TypeUint64, TypeInt64, TypeFloat64:
	default:
		return nil, d.corrupt(field, at, "unknown array element type %d", elem)
	}
	n, err := d.count(field+" array length", minSize)
	if err != nil {
		return nil, err
	}

	switch typ {
	case TypeString:
		out := make([]string, n)
		for i := range out {
			if out[i], err = d.str(fmt.Sprintf("%s[%d]", field, i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	case TypeArray:
		out := make([]any, n)
		for i := range out {
			if out[i], err = d.array(fmt.Sprintf("%s[%d]", key, i), depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	b, _ := d.bytes(field, uint64(n)*minSize)
	return decodeScalarArray(typ, b, n), nil
}

func decodeScalarArray(typ ValueType, b []byte, n int) any {
	switch typ {
	case TypeUint8:
		return append([]uint8{}, b...)
	case TypeInt8:
		return fill(make([]int8, n), func(i int) int8 { return int8(b[i]) })
	case TypeBool:
		return fill(make([]bool, n), func(i int) bool { return b[i] != 0 })
	case TypeUint16:
		return fill(make([]uint16, n), func(i int) uint16 { return binary.LittleEndian.Uint16(b[2*i:]) })
	case TypeInt16:
		return fill(make([]int16, n), func(i int) int16 { return int16(binary.LittleEndian.Uint16(b[2*i:])) })
	case TypeUint32:
		return fill(make([]uint32, n), func(i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) })
	case TypeInt32:
		return fill(make([]int32, n), func(i int) int32 { return int32(binary.LittleEndian.Uint32(b[4*i:])) })
	case TypeFloat32:
		return fill(make([]float32, n), func(i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])) })
	case TypeUint64:
		return fill(make([]uint64, n), func(i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) })
	case TypeInt64:
		return fill(make([]int64, n), func(i int) int64 { return int64(binary.LittleEndian.Uint64(b[8*i:])) })
	case TypeFloat64:
		return fill(make([]float64, n), func(i int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])) })
	}
	panic(fmt.Sprintf("gguf: decodeScalarArray called with type %d", typ))
}

func fill[T any](out []T, at func(i int) T) []T {
	for i := range out {
		out[i] = at(i)
	}
	return out
}

func alignUp(n, a uint64) uint64 {
	return (n + a - 1) / a * a
}

// asUint converts any unsigned or non-negative signed integer value.
func asUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}

// asFloat converts any numeric value to float64.
func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if u, ok := asUint(v); ok {
		return float64(u), true
	}
	switch x := v.(type) {
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// Uint returns the metadata value under key as an unsigned integer, whatever
// integer type the file used. ok is false when the key is missing or holds
// no non-negative integer.
func (f *File) Uint(key string) (v uint64, ok bool) {
	x, found := f.Get(key)
	if !found {
		return 0, false
	}
	return asUint(x)
}

// Float returns the metadata value under key as float64, converting any
// numeric type.
func (f *File) Float(key string) (v float64, ok bool) {
	x, found := f.Get(key)
	if !found {
		return 0, false
	}
	return asFloat(x)
}

// String returns the string metadata value under key.
func (f *File) String(key string) (v string, ok bool) {
	x, found := f.Get(key)
	if !found {
		return "", false
	}
	v, ok = x.(string)
	return v, ok
}
