package gguf

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/adapt-llm/adapt/model/safetensors"
)

// GGMLType is the element type of a tensor (enum ggml_type in ggml.h).
type GGMLType uint32

// Tensor types this package converts to float32. Other ggml types (the
// k-quants, Q4_0, ...) parse but Float32 rejects them.
const (
	GGMLTypeF32  GGMLType = 0
	GGMLTypeF16  GGMLType = 1
	GGMLTypeQ8_0 GGMLType = 8
	GGMLTypeBF16 GGMLType = 30
)

// q8BlockSize is QK8_0 in ggml: a Q8_0 block holds 32 values as one f16
// scale followed by 32 signed bytes (34 bytes in all); value = scale * q.
const (
	q8BlockSize  = 32
	q8BlockBytes = 2 + q8BlockSize
)

// String returns ggml's name of the type, such as "F32" or "Q8_0".
func (t GGMLType) String() string {
	switch t {
	case GGMLTypeF32:
		return "F32"
	case GGMLTypeF16:
		return "F16"
	case GGMLTypeQ8_0:
		return "Q8_0"
	case GGMLTypeBF16:
		return "BF16"
	}
	return fmt.Sprintf("ggml type %d", uint32(t))
}

// byteSize returns the number of data bytes of a tensor with dims, or an
// error for a type this package cannot size.
func (t GGMLType) byteSize(dims []uint64) (uint64, error) {
	n := uint64(1)
	for _, d := range dims {
		n *= d // Parse has checked that the product fits in int64.
	}
	switch t {
	case GGMLTypeF32:
		if n > math.MaxInt64/4 {
			return 0, fmt.Errorf("%w: %d elements overflow the byte size", ErrCorrupt, n)
		}
		return 4 * n, nil
	case GGMLTypeF16, GGMLTypeBF16:
		if n > math.MaxInt64/2 {
			return 0, fmt.Errorf("%w: %d elements overflow the byte size", ErrCorrupt, n)
		}
		return 2 * n, nil
	case GGMLTypeQ8_0:
		if len(dims) == 0 || dims[0]%q8BlockSize != 0 {
			return 0, fmt.Errorf("%w: Q8_0 rows of %v elements are not a multiple of the %d-value block", ErrCorrupt, dims, q8BlockSize)
		}
		return n / q8BlockSize * q8BlockBytes, nil
	}
	if b, ok := quantBlocks[t]; ok {
		if len(dims) == 0 || dims[0]%b[0] != 0 {
			return 0, fmt.Errorf("%w: %s rows of %v elements are not a multiple of the %d-value block", ErrCorrupt, t, dims, b[0])
		}
		return n / b[0] * b[1], nil
	}
	return 0, fmt.Errorf("%w: %s (only F32, F16, BF16 and Q8_0 are implemented)", ErrUnsupported, t)
}

// quantBlocks gives the values per block and bytes per block of the
// quantized types that Parse can locate but Float32 cannot convert
// (type_traits in ggml.c, 2024): Q4_0, Q4_1, Q5_0, Q5_1, Q8_1 and the
// k-quants Q2_K to Q8_K.
var quantBlocks = map[GGMLType][2]uint64{
	2: {32, 18}, 3: {32, 20}, 6: {32, 22}, 7: {32, 24}, 9: {32, 36},
	10: {256, 84}, 11: {256, 110}, 12: {256, 144}, 13: {256, 176}, 14: {256, 210}, 15: {256, 292},
}

// Float32 converts the tensor's data to float32 in row-major order.
// F32, F16, BF16 and Q8_0 are converted; other types return an error
// wrapping ErrUnsupported.
func (t TensorInfo) Float32() ([]float32, error) {
	want, err := t.Type.byteSize(t.Dims)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if uint64(len(t.Data)) != want {
		return nil, fmt.Errorf("tensor %q: %w: %d data bytes, %s %v needs %d", t.Name, ErrCorrupt, len(t.Data), t.Type, t.Dims, want)
	}
	switch t.Type {
	case GGMLTypeF32, GGMLTypeF16, GGMLTypeBF16, GGMLTypeQ8_0:
	default:
		return nil, fmt.Errorf("tensor %q: %w: %s (only F32, F16, BF16 and Q8_0 are converted)", t.Name, ErrUnsupported, t.Type)
	}
	n := t.NumElements()
	out := make([]float32, n)
	b := t.Data
	switch t.Type {
	case GGMLTypeF32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case GGMLTypeF16:
		for i := range out {
			out[i] = HalfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case GGMLTypeBF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	case GGMLTypeQ8_0:
		for blk := range int(n / q8BlockSize) {
			raw := b[blk*q8BlockBytes:]
			scale := HalfToFloat32(binary.LittleEndian.Uint16(raw))
			for j := range q8BlockSize {
				out[blk*q8BlockSize+j] = scale * float32(int8(raw[2+j]))
			}
		}
	}
	return out, nil
}

// HalfToFloat32 converts an IEEE 754 binary16 value to float32 exactly,
// as safetensors.HalfToFloat32 does.
func HalfToFloat32(h uint16) float32 { return safetensors.HalfToFloat32(h) }

// Float32ToHalf converts f to IEEE 754 binary16, rounding to nearest even.
// Values beyond the half range become infinity; NaN stays NaN.
func Float32ToHalf(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int32(bits>>23) & 0xff
	mant := bits & 0x7fffff

	switch {
	case exp == 0xff: // infinity or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15: // overflow
		return sign | 0x7c00
	}

	e := exp - 127 + 15
	if e <= 0 {
		// Subnormal half or zero: shift the mantissa with its implicit bit.
		if e < -10 {
			return sign
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		rounded := m >> shift
		rest := m & (1<<shift - 1)
		if rest > half || (rest == half && rounded&1 == 1) {
			rounded++
		}
		return sign | uint16(rounded)
	}
	rounded := uint32(e)<<10 | mant>>13
	rest := mant & 0x1fff
	if rest > 0x1000 || (rest == 0x1000 && rounded&1 == 1) {
		rounded++ // a carry into the exponent is the correct rounding, up to infinity
	}
	return sign | uint16(rounded)
}
