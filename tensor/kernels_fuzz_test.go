package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// gemmConfig is one combination of micro-kernel and packing path that
// Gemm can take on this CPU.
type gemmConfig struct {
	name       string
	kernel     microKernel
	asm, trans bool // hasPackAVX512, hasPackTrans
}

// gemmConfigs lists every micro-kernel with every packing path: Go, AVX-512
// copies and gathers, and AVX-512 with the in-register transposes.
func gemmConfigs() []gemmConfig {
	var cfgs []gemmConfig
	for _, k := range availableKernels() {
		cfgs = append(cfgs, gemmConfig{k.name + "/pack_go", k, false, false})
		if hasPackAVX512 {
			cfgs = append(cfgs,
				gemmConfig{k.name + "/pack_gather", k, true, false},
				gemmConfig{k.name + "/pack_transpose", k, true, true})
		}
	}
	return cfgs
}

// useGemmConfig switches Gemm to cfg and to the Go backend, and returns a
// function that restores the previous settings.
func useGemmConfig(cfg gemmConfig) (restore func()) {
	savedKernel, savedPack, savedTrans, savedBLAS := kernel, hasPackAVX512, hasPackTrans, useOpenBLAS
	kernel, hasPackAVX512, hasPackTrans, useOpenBLAS = cfg.kernel, cfg.asm, cfg.trans, false
	return func() {
		kernel, hasPackAVX512, hasPackTrans, useOpenBLAS = savedKernel, savedPack, savedTrans, savedBLAS
	}
}

// gemmCase is one Gemm call: the shape, the flags, the extra stride beyond
// each operand's column count, and how the operands are filled.
type gemmCase struct {
	m, n, k                int
	transA, transB, accum  bool
	padA, padB, padC       int
	seed                   uint64
	integers               bool // small integers, whose products sum exactly
	aSlack, bSlack, cSlack int  // elements the slices hold beyond the last one used
}

func (c gemmCase) String() string {
	return fmt.Sprintf("m%d_n%d_k%d_ta%v_tb%v_acc%v_pad%d.%d.%d_int%v",
		c.m, c.n, c.k, c.transA, c.transB, c.accum, c.padA, c.padB, c.padC, c.integers)
}

// guard is the number of sentinel elements on each side of every operand's
// slice, inside the same allocation.
const guard = 40

// gemmOperand is a strided matrix inside a larger allocation whose padding
// columns and guard regions hold a sentinel.
type gemmOperand struct {
	buf        []float32 // guard + len(x) + slack + guard elements
	x          []float32 // the slice passed to Gemm, capacity limited to its length
	rows, cols int
	ld         int
}

// newOperand allocates a rows x cols matrix with row stride ld whose slice
// ends slack elements after its last element (0: exactly there). Every
// element outside the matrix is set to pad; fill sets the matrix.
func newOperand(rows, cols, ld, slack int, pad float32, fill func() float32) gemmOperand {
	need := 0
	if rows > 0 && cols > 0 {
		need = (rows-1)*ld + cols
	}
	n := need + slack
	buf := make([]float32, guard+n+guard)
	for i := range buf {
		buf[i] = pad
	}
	op := gemmOperand{buf: buf, x: buf[guard : guard+n : guard+n], rows: rows, cols: cols, ld: ld}
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			op.x[i*ld+j] = fill()
		}
	}
	return op
}

// inside reports whether buf[i] is an element of the matrix.
func (op gemmOperand) inside(i int) bool {
	i -= guard
	if i < 0 || op.ld == 0 {
		return false
	}
	row, col := i/op.ld, i%op.ld
	return row < op.rows && col < op.cols
}

// checkGemmCase runs c with every configuration in gemmConfigs and compares
// C with GemmRef. It also checks that Gemm writes no element of C outside
// the m x n window and changes nothing in A and B.
func checkGemmCase(t *testing.T, c gemmCase) {
	t.Helper()
	checkGemmCaseConfigs(t, c, gemmConfigs())
}

// checkGemmCaseConfigs is checkGemmCase with the configurations given.
func checkGemmCaseConfigs(t *testing.T, c gemmCase, cfgs []gemmConfig) {
	t.Helper()
	r := rand.New(rand.NewPCG(c.seed, 0x9e3779b9))
	fill := func() float32 { return float32(r.NormFloat64()) }
	if c.integers {
		fill = func() float32 { return float32(r.IntN(9) - 4) }
	}
	nan := float32(math.NaN())

	aRows, aCols := c.m, c.k
	if c.transA {
		aRows, aCols = c.k, c.m
	}
	bRows, bCols := c.k, c.n
	if c.transB {
		bRows, bCols = c.n, c.k
	}
	// NaN in the padding of A and B, and past their ends, shows up in C if
	// a kernel reads an element it should not and multiplies it, even by 0.
	a := newOperand(aRows, aCols, aCols+c.padA, c.aSlack, nan, fill)
	b := newOperand(bRows, bCols, bCols+c.padB, c.bSlack, nan, fill)
	// Without accumulate C starts as NaN, so every element must be
	// overwritten rather than scaled or added to.
	cFill := fill
	if !c.accum {
		cFill = func() float32 { return nan }
	}
	const cPad = -7.25
	c0 := newOperand(c.m, c.n, c.n+c.padC, c.cSlack, cPad, cFill)

	want := slices.Clone(c0.buf)
	wantC := want[guard : guard+len(c0.x)]
	GemmRef(c.transA, c.transB, c.m, c.n, c.k, a.x, a.ld, b.x, b.ld, wantC, c0.ld, c.accum)
	bound := gemmErrorBound(c, a, b, c0)
	aBefore, bBefore := slices.Clone(a.buf), slices.Clone(b.buf)

	for _, cfg := range cfgs {
		t.Run(cfg.name, func(t *testing.T) {
			defer useGemmConfig(cfg)()
			got := slices.Clone(c0.buf)
			Gemm(c.transA, c.transB, c.m, c.n, c.k, a.x, a.ld, b.x, b.ld, got[guard:guard+len(c0.x):guard+len(c0.x)], c0.ld, c.accum)

			bad := 0
			for i := range got {
				g, w := got[i], want[i]
				if !c0.inside(i) {
					if math.Float32bits(g) != math.Float32bits(w) {
						if bad < 5 {
							t.Errorf("C buffer element %d outside the %dx%d window (ldc %d, guard %d) = %g, want it unchanged at %g", i, c.m, c.n, c0.ld, guard, g, w)
						}
						bad++
					}
					continue
				}
				tol := bound[i-guard]
				if d := math.Abs(float64(g) - float64(w)); !(d <= tol) {
					if bad < 5 {
						row, col := (i-guard)/c0.ld, (i-guard)%c0.ld
						t.Errorf("C[%d,%d] = %g, want %g (tolerance %g)", row, col, g, w, tol)
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d elements of the C buffer are wrong", bad, len(got))
			}
			if !slices.Equal(bitsOf(a.buf), bitsOf(aBefore)) {
				t.Errorf("Gemm changed A")
			}
			if !slices.Equal(bitsOf(b.buf), bitsOf(bBefore)) {
				t.Errorf("Gemm changed B")
			}
		})
	}
}

func bitsOf(x []float32) []uint32 {
	out := make([]uint32, len(x))
	for i, v := range x {
		out[i] = math.Float32bits(v)
	}
	return out
}

// gemmErrorBound returns, for each element of C, how far Gemm and GemmRef
// may differ. Both sum the same k products (plus C when accumulating) in
// different orders, with or without fused multiply-adds. Each sum of n
// terms is within gamma_n * (|C0| + sum_p |a_ip*b_pj|) of the exact value,
// the usual forward error bound of recursive summation, with
// gamma_n = n*u/(1-n*u) and u = 2^-24. Here n = k+2 counts the k products,
// the add into C and one add into C per extra 256-deep block. Two such
// results differ by at most twice the bound, so the tolerance grows
// linearly with k. It is 0 for integer data, whose sums are exact in any
// order.
func gemmErrorBound(c gemmCase, a, b, c0 gemmOperand) []float64 {
	bound := make([]float64, len(c0.x))
	if c.integers {
		return bound
	}
	const u = 1.0 / (1 << 24)
	n := float64(c.k + 2 + c.k/gemmKC)
	gamma := n * u / (1 - n*u)
	for i := 0; i < c.m; i++ {
		for j := 0; j < c.n; j++ {
			var s float64
			for p := 0; p < c.k; p++ {
				var av, bv float32
				if c.transA {
					av = a.x[p*a.ld+i]
				} else {
					av = a.x[i*a.ld+p]
				}
				if c.transB {
					bv = b.x[j*b.ld+p]
				} else {
					bv = b.x[p*b.ld+j]
				}
				s += math.Abs(float64(av) * float64(bv))
			}
			if c.accum {
				s += math.Abs(float64(c0.x[i*c0.ld+j]))
			}
			bound[i*c0.ld+j] = 2 * gamma * s
		}
	}
	return bound
}

// decodeGemmCase turns fuzz input into a Gemm call. Bits 0-2 of flags are
// transA, transB and accumulate, and bit 6 selects integer data. m, n and
// k range over 0..80, but when bit 5 is set the dimension that bits 3-4
// name (1 m, 2 n, 3 k) ranges over 0..300. Each pad ranges over 0..40.
func decodeGemmCase(m, n, k uint16, flags, padA, padB, padC uint8, seed uint64) gemmCase {
	c := gemmCase{
		m: int(m % 81), n: int(n % 81), k: int(k % 81),
		transA: flags&1 != 0, transB: flags&2 != 0, accum: flags&4 != 0,
		padA: int(padA % 41), padB: int(padB % 41), padC: int(padC % 41),
		seed: seed, integers: flags&64 != 0,
	}
	if flags&32 != 0 {
		switch (flags >> 3) & 3 {
		case 1:
			c.m = int(m % 301)
		case 2:
			c.n = int(n % 301)
		case 3:
			c.k = int(k % 301)
		}
	}
	return c
}

func FuzzGemm(f *testing.F) {
	// Shapes on both sides of the 12x32 tile edges, of a 4-panel (48-row)
	// A pack, of the 16-step transposes and of the 256-deep blocks, with
	// each combination of transposes, accumulate and data kind in turn.
	i := 0
	for _, m := range []uint16{11, 12, 13, 47, 48, 49} {
		for _, n := range []uint16{31, 32, 33} {
			for _, k := range []uint16{15, 16, 17, 255, 256, 257} {
				flags := uint8(i%8) | uint8(i/8%2)<<6
				if k > 80 {
					flags |= 32 | 3<<3
				}
				f.Add(m, n, k, flags, uint8(i%3), uint8(i%5), uint8(i%7), uint64(i))
				i++
			}
		}
	}
	// Empty products, single rows and columns, and a split across workers.
	f.Add(uint16(0), uint16(5), uint16(3), uint8(0), uint8(0), uint8(0), uint8(0), uint64(1))
	f.Add(uint16(5), uint16(0), uint16(3), uint8(1), uint8(0), uint8(0), uint8(0), uint64(2))
	f.Add(uint16(5), uint16(7), uint16(0), uint8(4), uint8(1), uint8(1), uint8(1), uint64(3))
	f.Add(uint16(1), uint16(1), uint16(1), uint8(7), uint8(0), uint8(0), uint8(0), uint64(4))
	f.Add(uint16(200), uint16(33), uint16(40), uint8(32|1<<3|3), uint8(9), uint8(2), uint8(1), uint64(5))
	f.Add(uint16(13), uint16(250), uint16(40), uint8(32|2<<3|4), uint8(0), uint8(3), uint8(6), uint64(6))

	f.Fuzz(func(t *testing.T, m, n, k uint16, flags, padA, padB, padC uint8, seed uint64) {
		checkGemmCase(t, decodeGemmCase(m, n, k, flags, padA, padB, padC, seed))
	})
}

func TestGemmEdgeShapes(t *testing.T) {
	type shape struct{ m, n, k int }
	shapes := []shape{
		// k = 0 with k > 0 in the other dimensions, single rows and columns.
		{5, 7, 0}, {1, 1, 0}, {1, 1, 1}, {1, 70, 33}, {70, 1, 33}, {1, 300, 17}, {300, 1, 17},
		// Full 12x32 tiles, the 48-row transposed pack, and depths around
		// the 16-step transposes and the 256-deep blocks.
		{12, 32, 16}, {48, 32, 16}, {96, 64, 32}, {49, 33, 257}, {12, 32, 513}, {48, 64, 1},
	}
	i := 0
	for _, s := range shapes {
		for flags := 0; flags < 8; flags++ {
			c := gemmCase{
				m: s.m, n: s.n, k: s.k,
				transA: flags&1 != 0, transB: flags&2 != 0, accum: flags&4 != 0,
				padA: i % 3, padB: i % 4, padC: i % 2, seed: uint64(i), integers: i%2 == 0,
			}
			i++
			t.Run(c.String(), func(t *testing.T) { checkGemmCase(t, c) })
		}
	}
}

func TestGemmZeroDepth(t *testing.T) {
	for _, accum := range []bool{false, true} {
		t.Run(fmt.Sprintf("accumulate_%v", accum), func(t *testing.T) {
			const m, n, ldc = 3, 4, 6
			a, b := make([]float32, m), make([]float32, n)
			for _, cfg := range gemmConfigs() {
				t.Run(cfg.name, func(t *testing.T) {
					defer useGemmConfig(cfg)()
					c := make([]float32, (m-1)*ldc+n)
					for i := range c {
						c[i] = float32(i + 1)
					}
					Gemm(false, false, m, n, 0, a, 1, b, n, c, ldc, accum)
					for i, got := range c {
						row, col := i/ldc, i%ldc
						want := float32(i + 1)
						if col < n && !accum {
							want = 0
						}
						if got != want {
							t.Errorf("C[%d,%d] = %g, want %g", row, col, got, want)
						}
					}
				})
			}
		})
	}
}

// TestPackPanelMatchesGo compares packPanel's assembly paths with the
// definition in its doc comment for every valid count and panel width the
// micro-kernels use, reading from a matrix whose other elements are NaN.
func TestPackPanelMatchesGo(t *testing.T) {
	if !hasPackAVX512 {
		t.Skip("the CPU has no AVX-512")
	}
	defer func(p, tr bool) { hasPackAVX512, hasPackTrans = p, tr }(hasPackAVX512, hasPackTrans)
	nan := float32(math.NaN())
	for _, trans := range []bool{false, true} {
		hasPackTrans = trans
		for _, gather := range []bool{false, true} {
			for _, width := range []int{4, 6, 12, 16, 32} {
				for valid := 1; valid <= width; valid++ {
					for _, kc := range []int{1, 2, 15, 16, 17, 31, 32, 33, 48} {
						for _, pad := range []int{0, 3} {
							// x holds exactly the elements packPanel reads.
							rows, cols := kc, valid
							if gather {
								rows, cols = valid, kc
							}
							ld := cols + pad
							x := make([]float32, (rows-1)*ld+cols)
							for i := range x {
								x[i] = nan
								if i%ld < cols {
									x[i] = float32(i + 1)
								}
							}
							dst := make([]float32, kc*width)
							for i := range dst {
								dst[i] = nan
							}
							if !packPanel(dst, x, ld, kc, valid, width, gather) {
								t.Fatalf("packPanel(valid %d, width %d, kc %d, gather %v) = false, want true", valid, width, kc, gather)
							}
							for p := 0; p < kc; p++ {
								for i := 0; i < width; i++ {
									var want float32
									if i < valid && gather {
										want = x[i*ld+p]
									} else if i < valid {
										want = x[p*ld+i]
									}
									if got := dst[p*width+i]; got != want {
										t.Fatalf("transposes %v gather %v width %d valid %d kc %d ld %d: dst[%d*%d+%d] = %g, want %g",
											trans, gather, width, valid, kc, ld, p, width, i, got, want)
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

func TestPackPanels12x4MatchesGo(t *testing.T) {
	if !hasPackAVX512 {
		t.Skip("the CPU has no AVX-512")
	}
	for _, kc := range []int{1, 2, 17, 256} {
		for _, pad := range []int{0, 5} {
			ld := 48 + pad
			x := make([]float32, (kc-1)*ld+48)
			for i := range x {
				x[i] = float32(math.NaN())
				if i%ld < 48 {
					x[i] = float32(i + 1)
				}
			}
			dst := make([]float32, 4*kc*12)
			if !packPanels12x4(dst, x, ld, kc) {
				t.Fatal("packPanels12x4 = false, want true")
			}
			for q := 0; q < 4; q++ {
				for p := 0; p < kc; p++ {
					for i := 0; i < 12; i++ {
						want := x[p*ld+12*q+i]
						if got := dst[q*kc*12+p*12+i]; got != want {
							t.Fatalf("kc %d ld %d: panel %d element (%d,%d) = %g, want %g", kc, ld, q, p, i, got, want)
						}
					}
				}
			}
		}
	}
}

// TestPackPanelGatherStrideLimit checks the stride limit of the gathers,
// whose per-lane offsets i*ld are int32: packPanel must decline strides
// above 2^25, where 31*ld could pass 2^31 - 1, and accept 2^25 itself.
// A gather with more than one lane at that stride would need a 128 MiB
// matrix, so the accepted case packs one valid lane.
func TestPackPanelGatherStrideLimit(t *testing.T) {
	if !hasPackAVX512 {
		t.Skip("the CPU has no AVX-512")
	}
	const limit = 1 << 25
	dst := make([]float32, 3*32)
	x := []float32{1, 2, 3}
	if packPanel(dst, x, limit+1, 3, 1, 32, true) {
		t.Errorf("packPanel with stride %d = true, want false", limit+1)
	}
	if !packPanel(dst, x, limit, 3, 1, 32, true) {
		t.Fatalf("packPanel with stride %d = false, want true", limit)
	}
	for p := 0; p < 3; p++ {
		for i := 0; i < 32; i++ {
			var want float32
			if i == 0 {
				want = x[p]
			}
			if got := dst[p*32+i]; got != want {
				t.Errorf("dst[%d*32+%d] = %g, want %g", p, i, got, want)
			}
		}
	}
}

func TestAttentionBlocksMatchReference(t *testing.T) {
	cases := []struct{ B, T, C, NH int }{
		{1, 1, 8, 1}, {2, 63, 12, 3}, {1, 64, 16, 2}, {1, 65, 24, 4}, {2, 128, 8, 2}, {1, 130, 36, 3},
	}
	saved := hasExpfAVX2
	defer setExpfAVX2(saved)
	for _, c := range cases {
		for _, simd := range []bool{false, saved} {
			t.Run(fmt.Sprintf("B%d_T%d_C%d_NH%d_avx2%v", c.B, c.T, c.C, c.NH, simd), func(t *testing.T) {
				setExpfAVX2(simd)
				testAttentionBlocks(t, c.B, c.T, c.C, c.NH)
			})
		}
	}
}

func testAttentionBlocks(t *testing.T, B, T, C, NH int) {
	r := rand.New(rand.NewPCG(uint64(T), uint64(C)))
	nan := float32(math.NaN())
	qkv := randSlice(r, B*T*3*C, 1)
	out, att := make([]float32, B*T*C), make([]float32, B*NH*T*T)
	for i := range att {
		att[i] = nan // every element must be written, the masked ones as 0
	}
	for i := range out {
		out[i] = nan
	}
	outRef, attRef := make([]float32, B*T*C), make([]float32, B*NH*T*T)
	AttentionForward(out, att, qkv, B, T, C, NH)
	AttentionForwardRef(outRef, attRef, qkv, B, T, C, NH)
	// The tolerances of TestAttentionForwardBackward: expf is within 2 ulps
	// of math.Exp and the products sum in a different order.
	assertClose(t, "out", out, outRef, 1e-5, 1e-6)
	assertClose(t, "att", att, attRef, 1e-5, 1e-6)
	for bh := 0; bh < B*NH; bh++ {
		for row := 0; row < T; row++ {
			for col := row + 1; col < T; col++ {
				if v := att[(bh*T+row)*T+col]; v != 0 || math.Signbit(float64(v)) {
					t.Fatalf("att[%d][%d,%d] = %g above the diagonal, want 0", bh, row, col, v)
				}
			}
		}
	}

	dout := randSlice(r, B*T*C, 1)
	dqkv := randSlice(r, B*T*3*C, 1) // accumulated into
	dqkvRef := slices.Clone(dqkv)
	datt, dattRef := make([]float32, B*NH*T*T), make([]float32, B*NH*T*T)
	for i := range datt {
		datt[i] = nan // scratch: its old contents must not leak into dqkv
	}
	AttentionBackward(dqkv, datt, dout, qkv, att, B, T, C, NH)
	AttentionBackwardRef(dqkvRef, dattRef, dout, qkv, attRef, B, T, C, NH)
	assertClose(t, "dqkv", dqkv, dqkvRef, 1e-4, 1e-5)
}

// TestAdamWSIMDBitsAllLengths checks that the AVX-512 AdamW loop gives the
// Go loop's bits for every length up to three vectors plus a tail, and for
// a length that parallelFor splits into two chunks with their own tails.
func TestAdamWSIMDBitsAllLengths(t *testing.T) {
	if !hasAVX512 {
		t.Skip("the CPU has no AVX-512")
	}
	defer func(saved bool) { hasAVX512 = saved }(hasAVX512)
	lengths := []int{}
	for n := 0; n <= 50; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 2<<14+13)
	for _, n := range lengths {
		r := rand.New(rand.NewPCG(uint64(n), 17))
		// Gradients of very different sizes, with zeros, so that v spans
		// many binades and eps matters for some elements.
		grad := randSlice(r, n, 0.01)
		for i := range grad {
			switch i % 5 {
			case 1:
				grad[i] = 0
			case 2:
				grad[i] *= 1e4
			case 3:
				grad[i] *= 1e-4
			}
		}
		data := randSlice(r, n, 0.1)
		m, v := randSlice(r, n, 0.001), make([]float32, n)
		for i := range v {
			v[i] = float32(r.Float64() * 1e-6)
		}
		dataGo, mGo, vGo := slices.Clone(data), slices.Clone(m), slices.Clone(v)
		s := AdamWStep{LR: 3e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Decay: 1 - 3e-4*0.1, Step: 7}

		hasAVX512 = true
		AdamWUpdate(data, grad, m, v, s)
		hasAVX512 = false
		AdamWUpdate(dataGo, grad, mGo, vGo, s)

		for name, pair := range map[string][2][]float32{"data": {data, dataGo}, "m": {m, mGo}, "v": {v, vGo}} {
			if !slices.Equal(bitsOf(pair[0]), bitsOf(pair[1])) {
				for i := range pair[0] {
					if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
						t.Errorf("n=%d: %s[%d] = %g with AVX-512, want the Go loop's %g", n, name, i, pair[0][i], pair[1][i])
						break
					}
				}
			}
		}
	}
}

// TestGeluFastExtremeInputs runs GeluForwardFast and GeluBackwardFast on
// every length up to 40 (all tails of the eight-lane loop) with inputs
// where exp(-2u) underflows to 0 or passes the float32 range.
func TestGeluFastExtremeInputs(t *testing.T) {
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 3, -3, 9, -9, 30, -30, 1000, -1000}
	saved := hasExpfAVX2
	defer setExpfAVX2(saved)
	for _, asm := range []bool{false, saved} {
		setExpfAVX2(asm)
		for n := 0; n <= 40; n++ {
			inp := make([]float32, n)
			for i := range inp {
				inp[i] = special[(i*7+n)%len(special)]
			}
			dout := make([]float32, n)
			for i := range dout {
				dout[i] = float32(i%3) - 1
			}
			out, outRef := make([]float32, n), make([]float32, n)
			GeluForwardFast(out, inp, n)
			GeluForwardRef(outRef, inp, n)
			// The tolerances of TestGeluFastMatchesReference: tanhf is within
			// 3e-7 of tanh, and the derivative scales that by up to x^3.
			assertClose(t, fmt.Sprintf("asm %v n %d out", asm, n), out, outRef, 1e-6, 1e-6)

			dinp, dinpRef := make([]float32, n), make([]float32, n)
			GeluBackwardFast(dinp, inp, dout, n)
			GeluBackwardRef(dinpRef, inp, dout, n)
			assertClose(t, fmt.Sprintf("asm %v n %d dinp", asm, n), dinp, dinpRef, 1e-5, 1e-5)
		}
	}
}

// TestGemmZeroDepthEmptyOperands checks that a product with k = 0 and
// empty A and B, shaped so that Gemm would split it, zeroes C.
func TestGemmZeroDepthEmptyOperands(t *testing.T) {
	cases := []struct {
		name           string
		transA, transB bool
		m, n, lda, ldb int
	}{
		{"split_m_A_stored_mk", false, false, 200, 3, 4, 3},
		{"split_m_A_stored_km", true, false, 200, 3, 200, 3},
		{"split_n_B_stored_kn", false, false, 3, 300, 1, 300},
		{"split_n_B_stored_nk", false, true, 3, 300, 1, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cm := make([]float32, c.m*c.n)
			for i := range cm {
				cm[i] = 1
			}
			Gemm(c.transA, c.transB, c.m, c.n, 0, nil, c.lda, nil, c.ldb, cm, c.n, false)
			for i, v := range cm {
				if v != 0 {
					t.Fatalf("C[%d] = %g, want 0", i, v)
				}
			}
		})
	}
}
