//go:build amd64 && !purego

package tensor

import "golang.org/x/sys/cpu"

// hasAVX512 reports whether AdamWUpdate may use its AVX-512 loop,
// hasPackAVX512 whether packA and packB may use theirs, and hasPackTrans
// whether the transposing packs may use the in-register transposes. Tests
// turn them off to check the other paths.
var (
	hasAVX512     = cpu.X86.HasAVX512F
	hasPackAVX512 = hasAVX512
	hasPackTrans  = true
)

// packCopyAVX512 copies kc rows of up to 32 floats, row p from src[p*ld:]
// to dst[p*width:]. load1 and load2 select the lanes read (0-15 and 16-31),
// and the other lanes are stored as 0. store1 and store2 select the lanes
// written.
//
//go:noescape
func packCopyAVX512(dst, src *float32, ld, kc, width int, load1, load2, store1, store2 uint16)

// packGatherAVX512 transposes while it copies: for p < kc it sets
// dst[p*width+i] = src[i*ld+p] for the lanes i that load1 and load2 select
// and 0 for the others, writing the lanes that store1 and store2 select.
//
//go:noescape
func packGatherAVX512(dst, src *float32, ld, kc, width int, load1, load2, store1, store2 uint16)

// laneMasks returns the AVX-512 masks that select lanes 0..n-1 of a row of
// 32 floats, split into lanes 0-15 and 16-31.
func laneMasks(n int) (lo, hi uint16) {
	lo = uint16(1<<min(n, 16) - 1)
	if n > 16 {
		hi = uint16(1<<min(n-16, 16) - 1)
	}
	return lo, hi
}

// packPanel fills one packed panel of width (<= 32) floats per step for kc
// steps from the strided matrix x starting at x[0]: when gather is false,
// step p copies x[p*ld : p*ld+valid]; when it is true, lane i of step p is
// x[i*ld+p] for i < valid. Lanes from valid to width are zero. It reports
// false when it cannot run on this CPU or these sizes, and the caller
// packs with Go code instead.
func packPanel(dst, x []float32, ld, kc, valid, width int, gather bool) bool {
	if !hasPackAVX512 || width > 32 || kc == 0 || valid == 0 {
		return false
	}
	if gather && 32*ld > 1<<30 {
		return false // the gather offsets are int32 byte counts / 4
	}
	_ = dst[kc*width-1]
	if gather {
		_ = x[(valid-1)*ld+kc-1]
	} else {
		_ = x[(kc-1)*ld+valid-1]
	}
	l1, l2 := laneMasks(valid)
	s1, s2 := laneMasks(width)
	if gather {
		// Full panels of the micro-kernel's sizes transpose 16 steps at a
		// time in registers; the rest of kc and the edge panels gather.
		done := 0
		if valid == width && (width == 12 || width == 32) && hasPackTrans {
			blocks := kc / 16
			if blocks > 0 {
				if width == 12 {
					packTrans12AVX512(&dst[0], &x[0], ld, blocks)
				} else {
					packTrans32AVX512(&dst[0], &x[0], ld, blocks)
				}
			}
			done = 16 * blocks
		}
		if done < kc {
			packGatherAVX512(&dst[done*width], &x[done], ld, kc-done, width, l1, l2, s1, s2)
		}
	} else {
		packCopyAVX512(&dst[0], &x[0], ld, kc, width, l1, l2, s1, s2)
	}
	return true
}

// packTrans12AVX512 sets dst[p*12+i] = src[i*ld+p] for i < 12 and
// p < 16*blocks.
//
//go:noescape
func packTrans12AVX512(dst, src *float32, ld, blocks int)

// packTrans32AVX512 sets dst[p*32+i] = src[i*ld+p] for i < 32 and
// p < 16*blocks.
//
//go:noescape
func packTrans32AVX512(dst, src *float32, ld, blocks int)

// adamwAVX512 runs AdamWUpdate's loop over n elements, n a multiple of 16,
// with bit-identical results.
//
//go:noescape
func adamwAVX512(d, grad, m, v *float32, n int, k *adamwConsts)

// adamwSIMD updates the longest prefix of d, m and v whose length is a
// multiple of 16 and returns that length; 0 means nothing was done.
func adamwSIMD(d, g, m, v []float32, k *adamwConsts) int {
	head := len(d) &^ 15
	if !hasAVX512 || head == 0 {
		return 0
	}
	_, _, _ = g[head-1], m[head-1], v[head-1]
	adamwAVX512(&d[0], &g[0], &m[0], &v[0], head, k)
	return head
}

// packCopy12x4AVX512 packs four 12-wide panels of a transposed A at once:
// dst[q*panel+p*12+i] = src[p*ld+12*q+i] for q < 4, i < 12, p < kc.
//
//go:noescape
func packCopy12x4AVX512(dst, src *float32, ld, kc, panel int)

// packPanels12x4 packs four full 12-wide panels from rows of x (row p at
// x[p*ld:], 48 floats used) into dst, panel q at dst[q*kc*12:]. It reports
// false when the assembly loop is not available.
func packPanels12x4(dst, x []float32, ld, kc int) bool {
	if !hasPackAVX512 || kc == 0 {
		return false
	}
	_ = dst[4*kc*12-1]
	_ = x[(kc-1)*ld+47]
	packCopy12x4AVX512(&dst[0], &x[0], ld, kc, kc*12)
	return true
}
