package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/adapt-llm/adapt/internal/atomicfile"
)

// FromFloat32 returns a tensor of type typ (F32, F16, BF16 or Q8_0) holding
// data, whose row-major shape is shape; the GGUF dimensions are shape
// reversed. F16 and BF16 round to nearest even; Q8_0 quantizes each block
// of 32 values of a row with scale max|x|/127, as ggml's
// quantize_row_q8_0_ref does. It panics when len(data) is not the product
// of shape, for another type, or for a Q8_0 row length that is not a
// multiple of 32.
func FromFloat32(name string, shape []int, data []float32, typ GGMLType) TensorInfo {
	t := TensorInfo{Name: name, Type: typ, Dims: make([]uint64, len(shape))}
	n := 1
	for i, d := range shape {
		t.Dims[len(shape)-1-i] = uint64(d)
		n *= d
	}
	if n != len(data) {
		panic(fmt.Sprintf("gguf: tensor %q has shape %v (%d elements) but %d values", name, shape, n, len(data)))
	}
	switch typ {
	case GGMLTypeF32:
		t.Data = make([]byte, 4*n)
		for i, v := range data {
			binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(v))
		}
	case GGMLTypeF16:
		t.Data = make([]byte, 2*n)
		for i, v := range data {
			binary.LittleEndian.PutUint16(t.Data[2*i:], Float32ToHalf(v))
		}
	case GGMLTypeBF16:
		t.Data = make([]byte, 2*n)
		for i, v := range data {
			binary.LittleEndian.PutUint16(t.Data[2*i:], float32ToBF16(v))
		}
	case GGMLTypeQ8_0:
		if len(shape) == 0 || shape[len(shape)-1]%q8BlockSize != 0 {
			panic(fmt.Sprintf("gguf: tensor %q: Q8_0 needs rows of a multiple of %d values, shape is %v", name, q8BlockSize, shape))
		}
		t.Data = make([]byte, n/q8BlockSize*q8BlockBytes)
		for blk := range n / q8BlockSize {
			x := data[blk*q8BlockSize : (blk+1)*q8BlockSize]
			var amax float32
			for _, v := range x {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			scale := amax / 127
			inv := float32(0)
			if scale != 0 {
				inv = 1 / scale
			}
			out := t.Data[blk*q8BlockBytes:]
			binary.LittleEndian.PutUint16(out, Float32ToHalf(scale))
			for j, v := range x {
				out[2+j] = byte(int8(math.Round(float64(v * inv))))
			}
		}
	default:
		panic(fmt.Sprintf("gguf: FromFloat32 cannot encode %s", typ))
	}
	return t
}

func float32ToBF16(f float32) uint16 {
	bits := math.Float32bits(f)
	if f != f {
		return uint16(bits>>16) | 0x40 // keep NaN a quiet NaN
	}
	return uint16((bits + 0x7fff + (bits>>16)&1) >> 16)
}

// Encode writes a GGUF version 3 file to w: metadata in the given order,
// then the tensor infos, then the tensors' data, each padded to the
// alignment (the general.alignment value in metadata, or 32). Tensor
// offsets are computed here; the Offset fields of tensors are ignored. It
// returns an error for a metadata value of a type GGUF has no tag for, a
// duplicate key or tensor name, or a Data length that disagrees with the
// type and dimensions.
func Encode(w io.Writer, metadata []KV, tensors []TensorInfo) error {
	alignment := uint64(DefaultAlignment)
	keys := map[string]bool{}
	for _, kv := range metadata {
		if keys[kv.Key] {
			return fmt.Errorf("encoding GGUF: duplicate metadata key %q", kv.Key)
		}
		keys[kv.Key] = true
		if kv.Key == KeyAlignment {
			a, ok := asUint(kv.Value)
			if !ok || a == 0 || a&(a-1) != 0 {
				return fmt.Errorf("encoding GGUF: %s %v is not a power of two", KeyAlignment, kv.Value)
			}
			alignment = a
		}
	}
	names := map[string]bool{}
	offsets := make([]uint64, len(tensors))
	var offset uint64
	for i, t := range tensors {
		if names[t.Name] {
			return fmt.Errorf("encoding GGUF: duplicate tensor name %q", t.Name)
		}
		names[t.Name] = true
		size, err := t.Type.byteSize(t.Dims)
		if err != nil {
			return fmt.Errorf("encoding GGUF tensor %q: %w", t.Name, err)
		}
		if size != uint64(len(t.Data)) {
			return fmt.Errorf("encoding GGUF tensor %q: %s %v needs %d bytes, got %d", t.Name, t.Type, t.Dims, size, len(t.Data))
		}
		offsets[i] = offset
		offset = alignUp(offset+size, alignment)
	}

	e := &encoder{w: bufio.NewWriterSize(w, 1<<20)}
	e.raw([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(metadata)))
	for _, kv := range metadata {
		e.str(kv.Key)
		if err := e.value(kv.Key, kv.Value, true); err != nil {
			return err
		}
	}
	for i, t := range tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(offsets[i])
	}
	e.pad(alignment)
	for _, t := range tensors {
		e.raw(t.Data)
		e.pad(alignment)
	}
	if e.err != nil {
		return fmt.Errorf("writing GGUF: %w", e.err)
	}
	if err := e.w.Flush(); err != nil {
		return fmt.Errorf("writing GGUF: %w", err)
	}
	return nil
}

// Write encodes a GGUF file to path through a temporary file in the same
// folder that is renamed over path once complete.
func Write(path string, metadata []KV, tensors []TensorInfo) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return fmt.Errorf("writing GGUF %s: %w", path, err)
	}
	defer f.Abort()

	if err := Encode(f, metadata, tensors); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("writing GGUF %s: %w", path, err)
	}
	return nil
}

// encoder writes little-endian values and keeps the first error and the
// byte count, for padding.
type encoder struct {
	w   *bufio.Writer
	n   uint64
	err error
}

func (e *encoder) raw(b []byte) {
	if e.err != nil {
		return
	}
	_, e.err = e.w.Write(b)
	e.n += uint64(len(b))
}

func (e *encoder) u32(v uint32) { e.raw(binary.LittleEndian.AppendUint32(nil, v)) }
func (e *encoder) u64(v uint64) { e.raw(binary.LittleEndian.AppendUint64(nil, v)) }
func (e *encoder) str(s string) { e.u64(uint64(len(s))); e.raw([]byte(s)) }
func (e *encoder) pad(a uint64) { e.raw(make([]byte, alignUp(e.n, a)-e.n)) }

// value writes the type tag (when tagged) and the value of v.
func (e *encoder) value(key string, v any, tagged bool) error {
	typ, ok := valueType(v)
	if !ok {
		return fmt.Errorf("encoding GGUF metadata %q: Go type %T has no GGUF value type", key, v)
	}
	if tagged {
		e.u32(uint32(typ))
	}
	var b []byte
	switch x := v.(type) {
	case uint8:
		b = []byte{x}
	case int8:
		b = []byte{byte(x)}
	case bool:
		b = []byte{0}
		if x {
			b[0] = 1
		}
	case uint16:
		b = binary.LittleEndian.AppendUint16(nil, x)
	case int16:
		b = binary.LittleEndian.AppendUint16(nil, uint16(x))
	case uint32:
		b = binary.LittleEndian.AppendUint32(nil, x)
	case int32:
		b = binary.LittleEndian.AppendUint32(nil, uint32(x))
	case float32:
		b = binary.LittleEndian.AppendUint32(nil, math.Float32bits(x))
	case uint64:
		b = binary.LittleEndian.AppendUint64(nil, x)
	case int64:
		b = binary.LittleEndian.AppendUint64(nil, uint64(x))
	case float64:
		b = binary.LittleEndian.AppendUint64(nil, math.Float64bits(x))
	case string:
		e.str(x)
		return nil
	default:
		return e.array(key, v)
	}
	e.raw(b)
	return nil
}

func (e *encoder) array(key string, v any) error {
	elems := arrayElems(v)
	elemType := elemTypeOf(v)
	if elemType == TypeArray {
		for i, sub := range elems {
			if t, _ := valueType(sub); t != TypeArray {
				return fmt.Errorf("encoding GGUF metadata %q: element %d of an array of arrays is %T", key, i, sub)
			}
		}
	}
	e.u32(uint32(elemType))
	e.u64(uint64(len(elems)))
	for i, x := range elems {
		if err := e.value(key+"["+strconv.Itoa(i)+"]", x, false); err != nil {
			return err
		}
	}
	return nil
}

// valueType returns the GGUF tag of a Go value, as KV documents.
func valueType(v any) (ValueType, bool) {
	switch v.(type) {
	case uint8:
		return TypeUint8, true
	case int8:
		return TypeInt8, true
	case uint16:
		return TypeUint16, true
	case int16:
		return TypeInt16, true
	case uint32:
		return TypeUint32, true
	case int32:
		return TypeInt32, true
	case float32:
		return TypeFloat32, true
	case bool:
		return TypeBool, true
	case string:
		return TypeString, true
	case uint64:
		return TypeUint64, true
	case int64:
		return TypeInt64, true
	case float64:
		return TypeFloat64, true
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []float32, []bool, []string, []uint64, []int64, []float64, []any:
		return TypeArray, true
	}
	return 0, false
}

func elemTypeOf(v any) ValueType {
	switch v.(type) {
	case []uint8:
		return TypeUint8
	case []int8:
		return TypeInt8
	case []uint16:
		return TypeUint16
	case []int16:
		return TypeInt16
	case []uint32:
		return TypeUint32
	case []int32:
		return TypeInt32
	case []float32:
		return TypeFloat32
	case []bool:
		return TypeBool
	case []string:
		return TypeString
	case []uint64:
		return TypeUint64
	case []int64:
		return TypeInt64
	case []float64:
		return TypeFloat64
	}
	return TypeArray
}

func arrayElems(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case []uint8:
		return toAny(x)
	case []int8:
		return toAny(x)
	case []uint16:
		return toAny(x)
	case []int16:
		return toAny(x)
	case []uint32:
		return toAny(x)
	case []int32:
		return toAny(x)
	case []float32:
		return toAny(x)
	case []bool:
		return toAny(x)
	case []string:
		return toAny(x)
	case []uint64:
		return toAny(x)
	case []int64:
		return toAny(x)
	case []float64:
		return toAny(x)
	}
	return nil
}

func toAny[T any](x []T) []any {
	out := make([]any, len(x))
	for i, v := range x {
		out[i] = v
	}
	return out
}

// LlamaMetadata returns the metadata llama.cpp needs to run a "llama" or
// "qwen2" model with parameters p and tokenizer v (nil writes no tokenizer
// keys), with general.name set to name.
func LlamaMetadata(p LlamaParams, v *Vocab, name string) []KV {
	arch := p.Architecture
	md := []KV{
		{"general.architecture", arch},
		{"general.name", name},
		{"general.file_type", uint32(0)}, // ALL_F32; llama.cpp only reports it
		{KeyAlignment, uint32(DefaultAlignment)},
		{arch + ".context_length", uint32(p.MaxPositions)},
		{arch + ".embedding_length", uint32(p.HiddenSize)},
		{arch + ".feed_forward_length", uint32(p.IntermediateSize)},
		{arch + ".block_count", uint32(p.NumLayers)},
		{arch + ".attention.head_count", uint32(p.NumHeads)},
		{arch + ".attention.head_count_kv", uint32(p.NumKVHeads)},
		{arch + ".rope.dimension_count", uint32(p.HeadSize())},
		{arch + ".rope.freq_base", float32(p.RopeTheta)},
		{arch + ".attention.layer_norm_rms_epsilon", float32(p.RMSNormEps)},
	}
	if arch == "llama" {
		md = append(md, KV{"llama.vocab_size", uint32(p.VocabSize)})
	}
	return append(md, vocabMetadata(v)...)
}

// LlamaGGUFTensors converts Hugging Face Llama tensors to GGUF tensors of
// type typ under llama.cpp's names, in the given order, permuting q and k
// (weights and biases) to the consecutive-pair layout for the "llama"
// architecture. It returns an error for a name outside the mapping.
func LlamaGGUFTensors(p LlamaParams, tensors []Tensor, typ GGMLType) ([]TensorInfo, error) {
	out := make([]TensorInfo, 0, len(tensors))
	for _, t := range tensors {
		name, ok := GGUFName(t.Name)
		if !ok {
			return nil, fmt.Errorf("%w: tensor %q has no llama.cpp name", ErrUnsupported, t.Name)
		}
		data := t.Data
		if p.Architecture == "llama" {
			switch {
			case strings.HasSuffix(t.Name, "q_proj.weight"), strings.HasSuffix(t.Name, "q_proj.bias"):
				data = PermuteToPairs(data, p.NumHeads, p.HeadSize(), len(data)/(p.NumHeads*p.HeadSize()))
			case strings.HasSuffix(t.Name, "k_proj.weight"), strings.HasSuffix(t.Name, "k_proj.bias"):
				data = PermuteToPairs(data, p.NumKVHeads, p.HeadSize(), len(data)/(p.NumKVHeads*p.HeadSize()))
			}
		}
		// Norm weights and biases stay F32, as llama.cpp's converter
		// keeps one-dimensional tensors.
		tt := typ
		if len(t.Shape) < 2 || (typ == GGMLTypeQ8_0 && t.Shape[len(t.Shape)-1]%q8BlockSize != 0) {
			tt = GGMLTypeF32
		}
		out = append(out, FromFloat32(name, t.Shape, data, tt))
	}
	return out, nil
}

// vocabMetadata returns the tokenizer.ggml.* keys of v, none for nil.
func vocabMetadata(v *Vocab) []KV {
	if v == nil {
		return nil
	}
	md := []KV{{"tokenizer.ggml.model", v.Model}}
	if v.Pre != "" {
		md = append(md, KV{"tokenizer.ggml.pre", v.Pre})
	}
	md = append(md, KV{"tokenizer.ggml.tokens", v.Tokens})
	if v.Scores != nil {
		md = append(md, KV{"tokenizer.ggml.scores", v.Scores})
	}
	if v.Types != nil {
		md = append(md, KV{"tokenizer.ggml.token_type", v.Types})
	}
	if v.Merges != nil {
		md = append(md, KV{"tokenizer.ggml.merges", v.Merges})
	}
	for _, id := range []struct {
		key string
		v   int32
	}{{"bos_token_id", v.BOS}, {"eos_token_id", v.EOS}, {"unknown_token_id", v.UNK}, {"padding_token_id", v.PAD}} {
		if id.v >= 0 {
			md = append(md, KV{"tokenizer.ggml." + id.key, uint32(id.v)})
		}
	}
	md = append(md, KV{"tokenizer.ggml.add_bos_token", v.AddBOS})
	if v.Model == "llama" {
		md = append(md, KV{"tokenizer.ggml.add_space_prefix", v.AddSpacePrefix})
	}
	return md
}
