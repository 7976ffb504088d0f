package tensor

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/adapt-llm/adapt/tensor/internal/openblas"
)

// The blocked product uses the GotoBLAS/BLIS layering, with the operands in
// BLIS's roles for row-major C. A kc x nc block of op(B) is packed into
// panels nr columns wide and stays in L2. An mc x kc block of op(A) is
// packed into panels mr rows tall and stays in L3. A register-blocked
// micro-kernel computes one mr x nr tile of C from one A panel, which stays
// in L1 while the kernel sweeps the B panels, and one B panel.
const (
	// gemmKC is the depth of a packed block: a kc x mr A panel is 12 KiB
	// for mr = 12.
	gemmKC = 256
	// gemmNC is the width of a packed B block (512 KiB at kc = 256).
	gemmNC = 512
	// gemmMCPanels is the number of A panels in a packed A block, about 2
	// MiB at kc = 256.
	gemmMCPanels = 170
)

// microKernel computes C[0:mr', 0:nr'] += Ap @ Bp for one tile, or
// C[0:mr', 0:nr'] = Ap @ Bp when overwrite is true, where Ap is a packed
// kc x mr panel (element (i,p) at p*mr+i), Bp a packed kc x nr panel
// (element (p,j) at p*nr+j), C has row stride ldc, and mr' <= mr, nr' <= nr
// are the valid rows and columns of an edge tile.
type microKernel struct {
	name   string
	mr, nr int
	fn     func(kc int, a, b, c []float32, ldc, mr, nr int, overwrite bool)
}

// goKernel is the portable micro-kernel; gemm_amd64.go adds an AVX2 one.
var goKernel = microKernel{name: "go-4x4", mr: 4, nr: 4, fn: kernelGo4x4}

// kernel is the micro-kernel Gemm uses: the fastest one the CPU supports,
// the last of availableKernels. Tests swap it to check every
// implementation.
var kernel = fastestKernel()

func fastestKernel() microKernel {
	ks := availableKernels()
	return ks[len(ks)-1]
}

var gemmBufPool = sync.Pool{New: func() any { return new(gemmBuffers) }}

// GemmKernel returns the name of the micro-kernel Gemm uses, such as
// "avx2-6x16" or "go-4x4".
func GemmKernel() string {
	return kernel.name
}

type gemmBuffers struct {
	a, b []float32
}

// Gemm computes C = op(A) @ op(B), or C += op(A) @ op(B) when accumulate is
// true, splitting the work across GOMAXPROCS goroutines. Each goroutine's
// share goes to OpenBLAS when it is loaded and to the Go kernel otherwise
// (see BLAS).
//
//	op(A) [m,k]: A is stored [m,k] with row stride lda, or [k,m] when transA
//	op(B) [k,n]: B is stored [k,n] with row stride ldb, or [n,k] when transB
//	C     [m,n] with row stride ldc
//
// C must not overlap A or B. It panics when a slice is too short for its
// shape and stride.
func Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	checkGemm("Gemm", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		// Nothing to split, and the zero-width operands may be empty.
		gemmSerial(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
		return
	}
	start := time.Now()
	defer func() {
		gemmCalls.Add(1)
		gemmFLOPs.Add(2 * int64(m) * int64(n) * int64(k))
		gemmNanos.Add(int64(time.Since(start)))
	}()

	if useOpenBLAS && openblasThreaded && k > 0 {
		openblas.Sgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
		return
	}

	// Split the larger of m and n into slabs. Each worker packs its own
	// blocks, which repeats the packing of the shared operand once per worker
	// but needs no synchronization.
	if m >= n {
		parallelFor(m, 4*kernel.mr, func(lo, hi int) {
			var aSub []float32
			if transA {
				aSub = a[lo:]
			} else {
				aSub = a[lo*lda:]
			}
			gemmSerial(transA, transB, hi-lo, n, k, aSub, lda, b, ldb, c[lo*ldc:], ldc, accumulate)
		})
		return
	}
	parallelFor(n, 4*kernel.nr, func(lo, hi int) {
		var bSub []float32
		if transB {
			bSub = b[lo*ldb:]
		} else {
			bSub = b[lo:]
		}
		gemmSerial(transA, transB, m, hi-lo, k, a, lda, bSub, ldb, c[lo:], ldc, accumulate)
	})
}

// Totals over every Gemm call, for GemmTotals.
var gemmCalls, gemmFLOPs, gemmNanos atomic.Int64

// GemmStats are totals over Gemm calls.
type GemmStats struct {
	// Calls is the number of calls with a non-empty C.
	Calls int64
	// FLOPs counts 2*m*n*k per call.
	FLOPs int64
	// Elapsed is the wall time spent inside those calls.
	Elapsed time.Duration
}

// GemmTotals returns the totals over all Gemm calls since the process
// started. GemmSerial calls (the per-head products of attention) are not
// counted, because they run inside other kernels' goroutines.
func GemmTotals() GemmStats {
	return GemmStats{Calls: gemmCalls.Load(), FLOPs: gemmFLOPs.Load(), Elapsed: time.Duration(gemmNanos.Load())}
}

// GemmSerial is Gemm on the calling goroutine only, for callers that
// parallelize over independent products themselves.
func GemmSerial(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	checkGemm("GemmSerial", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	gemmSerial(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

func gemmSerial(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	if m == 0 || n == 0 {
		return
	}
	if useOpenBLAS && k > 0 {
		openblas.Sgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
		return
	}
	if k == 0 {
		if !accumulate {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}

	kern := kernel
	mr, nr := kern.mr, kern.nr
	mc := gemmMCPanels * mr
	buf := gemmBufPool.Get().(*gemmBuffers)
	defer gemmBufPool.Put(buf)
	if need := mc * gemmKC; len(buf.a) < need {
		buf.a = make([]float32, need)
	}
	if need := (gemmNC + nr) * gemmKC; len(buf.b) < need {
		buf.b = make([]float32, need)
	}

	for ic := 0; ic < m; ic += mc {
		mcCur := min(mc, m-ic)
		for pc := 0; pc < k; pc += gemmKC {
			kc := min(gemmKC, k-pc)
			// The first pass over k stores into C, so C needs no clearing.
			overwrite := pc == 0 && !accumulate
			packA(buf.a, a, lda, transA, ic, pc, mcCur, kc, mr)
			for jc := 0; jc < n; jc += gemmNC {
				nc := min(gemmNC, n-jc)
				packB(buf.b, b, ldb, transB, pc, jc, kc, nc, nr)
				for ir := 0; ir < mcCur; ir += mr {
					ap := buf.a[ir*kc : ir*kc+kc*mr]
					crow := c[(ic+ir)*ldc+jc:]
					for jr := 0; jr < nc; jr += nr {
						bp := buf.b[jr*kc : jr*kc+kc*nr]
						kern.fn(kc, ap, bp, crow[jr:], ldc, min(mr, mcCur-ir), min(nr, nc-jr), overwrite)
					}
				}
			}
		}
	}
}

// packA copies op(A)[ic:ic+mc, pc:pc+kc] into dst as panels of mr rows,
// each stored column by column (element (i,p) of panel r at
// r*kc*mr + p*mr + i), padding the last panel with zeros.
func packA(dst, a []float32, lda int, trans bool, ic, pc, mc, kc, mr int) {
	r := 0
	if trans && mr == 12 {
		// Four panels per pass over the rows of A.
		for r+48 <= mc && packPanels12x4(dst[r*kc:], a[pc*lda+ic+r:], lda, kc) {
			r += 48
		}
	}
	for ; r < mc; r += mr {
		panel := dst[r*kc : r*kc+kc*mr]
		rows := min(mr, mc-r)
		if trans {
			// op(A)(row, pc+p) = A[pc+p, row]: the mr rows of a panel are
			// contiguous in each row of A.
			packPanelAny(panel, a[pc*lda+ic+r:], lda, kc, rows, mr, false)
		} else {
			packPanelAny(panel, a[(ic+r)*lda+pc:], lda, kc, rows, mr, true)
		}
	}
}

// packB copies op(B)[pc:pc+kc, jc:jc+nc] into dst as panels of nr columns,
// each stored row by row (element (p,j) of panel s at s*kc*nr + p*nr + j),
// padding the last panel with zeros.
func packB(dst, b []float32, ldb int, trans bool, pc, jc, kc, nc, nr int) {
	for s := 0; s < nc; s += nr {
		panel := dst[s*kc : s*kc+kc*nr]
		cols := min(nr, nc-s)
		if trans {
			// op(B)(pc+p, col) = B[col, pc+p]
			packPanelAny(panel, b[(jc+s)*ldb+pc:], ldb, kc, cols, nr, true)
		} else {
			packPanelAny(panel, b[pc*ldb+jc+s:], ldb, kc, cols, nr, false)
		}
	}
}

// packPanelAny fills one packed panel as packPanel defines it, in assembly
// where packPanel can and in Go otherwise.
func packPanelAny(dst, x []float32, ld, kc, valid, width int, gather bool) {
	if packPanel(dst, x, ld, kc, valid, width, gather) {
		return
	}
	if !gather {
		for p := 0; p < kc; p++ {
			row := dst[p*width : (p+1)*width]
			copy(row, x[p*ld:p*ld+valid])
			clear(row[valid:])
		}
		return
	}

	// Lane i of step p is x[i*ld+p]. Eight steps at a time, so that both
	// the reads (8 floats of each row of x) and the writes (8 rows of the
	// panel) stay in a few cache lines.
	if valid < width {
		clear(dst[:kc*width])
	}
	p := 0
	for ; p+8 <= kc; p += 8 {
		for i := 0; i < valid; i++ {
			src := x[i*ld+p:]
			src = src[:8]
			d := dst[p*width+i:]
			_ = d[7*width]
			d[0] = src[0]
			d[width] = src[1]
			d[2*width] = src[2]
			d[3*width] = src[3]
			d[4*width] = src[4]
			d[5*width] = src[5]
			d[6*width] = src[6]
			d[7*width] = src[7]
		}
	}
	for ; p < kc; p++ {
		for i := 0; i < valid; i++ {
			dst[p*width+i] = x[i*ld+p]
		}
	}
}

// kernelGo4x4 is the portable micro-kernel: a 4x4 tile held in 16 scalar
// accumulators.
func kernelGo4x4(kc int, a, b, c []float32, ldc, mr, nr int, overwrite bool) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	a = a[:4*kc]
	b = b[:4*kc]
	for len(a) >= 4 && len(b) >= 4 {
		a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a = a[4:]
		b = b[4:]
	}
	tile := [16]float32{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33}
	storeTile(tile[:], 4, c, ldc, mr, nr, overwrite)
}

// storeTile adds the top-left mr x nr corner of tile (row stride width) to
// C, or copies it there when overwrite is true.
func storeTile(tile []float32, width int, c []float32, ldc, mr, nr int, overwrite bool) {
	for i := 0; i < mr; i++ {
		row := c[i*ldc : i*ldc+nr]
		src := tile[i*width : i*width+nr]
		if overwrite {
			copy(row, src)
			continue
		}
		for j := range row {
			row[j] += src[j]
		}
	}
}

func checkGemm(kernel string, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("tensor.%s: negative size m=%d n=%d k=%d", kernel, m, n, k))
	}
	aRows, aCols := m, k
	if transA {
		aRows, aCols = k, m
	}
	bRows, bCols := k, n
	if transB {
		bRows, bCols = n, k
	}
	checkMatrix(kernel, "A", a, aRows, aCols, lda)
	checkMatrix(kernel, "B", b, bRows, bCols, ldb)
	checkMatrix(kernel, "C", c, m, n, ldc)
}

func checkMatrix(kernel, name string, x []float32, rows, cols, ld int) {
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols {
		panic(fmt.Sprintf("tensor.%s: %s is [%d,%d] but its row stride is %d", kernel, name, rows, cols, ld))
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("tensor.%s: %s is [%d,%d] with row stride %d and needs %d elements, has %d", kernel, name, rows, cols, ld, need, len(x)))
	}
}

// GemmRef is the reference for Gemm: the textbook triple loop with a
// float32 accumulator per element of C.
func GemmRef(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	checkGemm("GemmRef", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var sum float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				sum += av * bv
			}
			if accumulate {
				c[i*ldc+j] += sum
			} else {
				c[i*ldc+j] = sum
			}
		}
	}
}
