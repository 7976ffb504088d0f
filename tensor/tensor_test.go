package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(r *rand.Rand, n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = scale * float32(r.NormFloat64())
	}
	return x
}

// assertClose fails when |got-want| > atol + rtol*|want| for any element.
func assertClose(t *testing.T, name string, got, want []float32, rtol, atol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", name, len(got), len(want))
	}
	bad := 0
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.Abs(g-w) > atol+rtol*math.Abs(w) || math.IsNaN(g) {
			if bad < 5 {
				t.Errorf("%s[%d] = %g, want %g", name, i, g, w)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ beyond rtol %g atol %g", name, bad, len(got), rtol, atol)
	}
}

func weightedSum(out, w []float32) float64 {
	var s float64
	for i := range w {
		s += float64(out[i]) * float64(w[i])
	}
	return s
}

// checkFiniteDiff compares the analytic gradient of f with respect to x at
// a few sampled indices against central differences with step h. f
// evaluates the forward in float32, so the difference carries rounding
// error of about 1e-7*|f|/h; with h = 1e-2 and |f| near 10 that is 1e-4,
// and the O(h^2) truncation error is of the same order, so rtol 2e-2 with
// atol 2e-3 separates a correct gradient from a wrong one.
func checkFiniteDiff(t *testing.T, name string, x, grad []float32, f func() float64) {
	t.Helper()
	const h = 1e-2
	r := rand.New(rand.NewPCG(7, 7))
	for s := 0; s < 20; s++ {
		i := r.IntN(len(x))
		orig := x[i]
		x[i] = orig + h
		plus := f()
		x[i] = orig - h
		minus := f()
		x[i] = orig
		num := (plus - minus) / (2 * h)
		if math.Abs(num-float64(grad[i])) > 2e-3+2e-2*math.Abs(num) {
			t.Errorf("%s[%d]: analytic %g, finite difference %g", name, i, grad[i], num)
		}
	}
}

func TestGemmMatchesReference(t *testing.T) {
	// Packing in Go, in assembly with gathers only, and in assembly with
	// the in-register transposes.
	type packMode struct {
		name       string
		asm, trans bool
	}
	packModes := []packMode{{"go", false, false}}
	if hasPackAVX512 {
		packModes = append(packModes, packMode{"gather", true, false}, packMode{"transpose", true, true})
	}
	for _, k := range availableKernels() {
		for _, pm := range packModes {
			t.Run(fmt.Sprintf("%s/pack_%s", k.name, pm.name), func(t *testing.T) {
				savedKernel, savedPack, savedTrans := kernel, hasPackAVX512, hasPackTrans
				kernel, hasPackAVX512, hasPackTrans = k, pm.asm, pm.trans
				defer func() { kernel, hasPackAVX512, hasPackTrans = savedKernel, savedPack, savedTrans }()
				testGemmMatchesReference(t)
			})
		}
	}
}

func testGemmMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct{ m, n, k int }{
		{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {64, 64, 64}, {130, 70, 300}, {7, 1100, 20}, {600, 40, 33},
		// Whole 12x32 tiles with an odd and an even depth, and an m that
		// crosses a packed A block.
		{24, 64, 257}, {24, 64, 6}, {2050, 33, 3},
	}
	for _, c := range cases {
		for _, tr := range []struct{ a, b, acc bool }{{false, false, false}, {true, false, true}, {false, true, false}, {true, true, true}} {
			name := fmt.Sprintf("m%d_n%d_k%d_ta%v_tb%v_acc%v", c.m, c.n, c.k, tr.a, tr.b, tr.acc)
			t.Run(name, func(t *testing.T) {
				lda, ldb, ldc := c.k+1, c.n+2, c.n+3
				if tr.a {
					lda = c.m + 1
				}
				if tr.b {
					ldb = c.k + 2
				}
				a := randSlice(r, (c.m+1)*(c.k+1), 1)
				b := randSlice(r, (c.n+2)*(c.k+2), 1)
				got := randSlice(r, c.m*ldc, 1)
				want := append([]float32{}, got...)
				Gemm(tr.a, tr.b, c.m, c.n, c.k, a, lda, b, ldb, got, ldc, tr.acc)
				GemmRef(tr.a, tr.b, c.m, c.n, c.k, a, lda, b, ldb, want, ldc, tr.acc)
				// Summation order differs, so allow float32 rounding growing
				// with sqrt(k) on sums of magnitude about sqrt(k).
				assertClose(t, "C", got, want, 1e-4, 1e-5*float64(c.k))
			})
		}
	}
}

func TestGemmShapePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Gemm with a short A did not panic")
		}
	}()
	Gemm(false, false, 4, 4, 4, make([]float32, 15), 4, make([]float32, 16), 4, make([]float32, 16), 4, false)
}

func TestMatmulForwardBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const N, C, OC = 37, 24, 43 // OC leaves a tail after the eight-lane loops
	inp, weight, bias := randSlice(r, N*C, 1), randSlice(r, C*OC, 0.3), randSlice(r, OC, 1)
	out, outRef := make([]float32, N*OC), make([]float32, N*OC)
	MatmulForward(out, inp, weight, bias, N, C, OC)
	MatmulForwardRef(outRef, inp, weight, bias, N, C, OC)
	assertClose(t, "out", out, outRef, 1e-5, 1e-5)

	w := randSlice(r, N*OC, 1)
	dinp, dweight, dbias := make([]float32, N*C), make([]float32, C*OC), make([]float32, OC)
	MatmulBackward(dinp, dweight, dbias, w, inp, weight, N, C, OC)
	dinpRef, dweightRef, dbiasRef := make([]float32, N*C), make([]float32, C*OC), make([]float32, OC)
	MatmulBackwardRef(dinpRef, dweightRef, dbiasRef, w, inp, weight, N, C, OC)
	assertClose(t, "dinp", dinp, dinpRef, 1e-4, 1e-5)
	assertClose(t, "dweight", dweight, dweightRef, 1e-4, 1e-5)
	assertClose(t, "dbias", dbias, dbiasRef, 1e-4, 1e-5)

	f := func() float64 { MatmulForwardRef(out, inp, weight, bias, N, C, OC); return weightedSum(out, w) }
	checkFiniteDiff(t, "dinp", inp, dinp, f)
	checkFiniteDiff(t, "dweight", weight, dweight, f)
	checkFiniteDiff(t, "dbias", bias, dbias, f)
}

func TestLayerNormForwardBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const N, C = 150, 50 // C splits into two chunks of 25: eight-lane loops and a tail
	const eps = 1e-5
	inp, weight, bias := randSlice(r, N*C, 2), randSlice(r, C, 1), randSlice(r, C, 1)
	out, mean, rstd := make([]float32, N*C), make([]float32, N), make([]float32, N)
	outRef, meanRef, rstdRef := make([]float32, N*C), make([]float32, N), make([]float32, N)
	LayerNormForward(out, mean, rstd, inp, weight, bias, N, C, eps)
	LayerNormForwardRef(outRef, meanRef, rstdRef, inp, weight, bias, N, C, eps)
	assertClose(t, "out", out, outRef, 0, 0)
	assertClose(t, "rstd", rstd, rstdRef, 0, 0)

	w := randSlice(r, N*C, 1)
	dinp, dweight, dbias := make([]float32, N*C), make([]float32, C), make([]float32, C)
	LayerNormBackward(dinp, dweight, dbias, w, inp, weight, mean, rstd, N, C)
	dinpRef, dweightRef, dbiasRef := make([]float32, N*C), make([]float32, C), make([]float32, C)
	LayerNormBackwardRef(dinpRef, dweightRef, dbiasRef, w, inp, weight, mean, rstd, N, C)
	assertClose(t, "dinp", dinp, dinpRef, 1e-4, 1e-5)
	assertClose(t, "dweight", dweight, dweightRef, 1e-4, 1e-5)
	assertClose(t, "dbias", dbias, dbiasRef, 1e-4, 1e-5)

	f := func() float64 {
		LayerNormForwardRef(out, mean, rstd, inp, weight, bias, N, C, eps)
		return weightedSum(out, w)
	}
	checkFiniteDiff(t, "dinp", inp, dinp, f)
	checkFiniteDiff(t, "dweight", weight, dweight, f)
	checkFiniteDiff(t, "dbias", bias, dbias, f)
}

func TestGeluForwardBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n = 10000
	inp := randSlice(r, n, 3)
	out, outRef := make([]float32, n), make([]float32, n)
	GeluForward(out, inp, n)
	GeluForwardRef(outRef, inp, n)
	assertClose(t, "out", out, outRef, 0, 0)

	// Known values of x*Phi(x) under the tanh approximation.
	cases := []struct{ x, want float32 }{{0, 0}, {1, 0.8411920}, {-1, -0.1588080}, {3, 2.9963627}}
	for _, c := range cases {
		t.Run(fmt.Sprint("x=", c.x), func(t *testing.T) {
			got := make([]float32, 1)
			GeluForwardRef(got, []float32{c.x}, 1)
			if math.Abs(float64(got[0]-c.want)) > 1e-6 {
				t.Errorf("gelu(%g) = %g, want %g", c.x, got[0], c.want)
			}
		})
	}

	w := randSlice(r, n, 1)
	dinp, dinpRef := make([]float32, n), make([]float32, n)
	GeluBackward(dinp, inp, w, n)
	GeluBackwardRef(dinpRef, inp, w, n)
	assertClose(t, "dinp", dinp, dinpRef, 0, 0)
	checkFiniteDiff(t, "dinp", inp, dinp, func() float64 { GeluForwardRef(out, inp, n); return weightedSum(out, w) })
}

func TestAttentionForwardBackward(t *testing.T) {
	// The second shape has more rows than one attention block, with a
	// partial last block.
	cases := []struct{ B, T, C, NH int }{{2, 13, 24, 3}, {1, 150, 16, 2}}
	for _, c := range cases {
		t.Run(fmt.Sprintf("B%d_T%d_C%d_NH%d", c.B, c.T, c.C, c.NH), func(t *testing.T) {
			testAttentionForwardBackward(t, c.B, c.T, c.C, c.NH)
		})
	}
}

func testAttentionForwardBackward(t *testing.T, B, T, C, NH int) {
	r := rand.New(rand.NewPCG(9, 10))
	qkv := randSlice(r, B*T*3*C, 1)
	out, att := make([]float32, B*T*C), make([]float32, B*NH*T*T)
	outRef, attRef := make([]float32, B*T*C), make([]float32, B*NH*T*T)
	AttentionForward(out, att, qkv, B, T, C, NH)
	AttentionForwardRef(outRef, attRef, qkv, B, T, C, NH)
	assertClose(t, "out", out, outRef, 1e-5, 1e-6)
	assertClose(t, "att", att, attRef, 1e-5, 1e-6)

	w := randSlice(r, B*T*C, 1)
	dqkv, datt := make([]float32, B*T*3*C), make([]float32, B*NH*T*T)
	AttentionBackward(dqkv, datt, w, qkv, att, B, T, C, NH)
	dqkvRef, dattRef := make([]float32, B*T*3*C), make([]float32, B*NH*T*T)
	AttentionBackwardRef(dqkvRef, dattRef, w, qkv, att, B, T, C, NH)
	assertClose(t, "dqkv", dqkv, dqkvRef, 1e-4, 1e-5)

	if T > 20 {
		return // the finite differences of the small shape cover the math
	}
	checkFiniteDiff(t, "dqkv", qkv, dqkv, func() float64 {
		AttentionForwardRef(outRef, attRef, qkv, B, T, C, NH)
		return weightedSum(outRef, w)
	})
}

func TestCrossEntropyForwardBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const N, V = 9, 50
	logits := randSlice(r, N*V, 3)
	targets := make([]int32, N)
	for i := range targets {
		targets[i] = int32(r.IntN(V))
	}
	targets[4] = -100
	losses, probs := make([]float32, N), make([]float32, N*V)
	lossesRef, probsRef := make([]float32, N), make([]float32, N*V)
	CrossEntropyForward(losses, probs, logits, targets, N, V)
	CrossEntropyForwardRef(lossesRef, probsRef, logits, targets, N, V)
	// expf differs from math.Exp by about 2e-7 relative, which reaches the
	// losses and the probabilities unamplified.
	assertClose(t, "losses", losses, lossesRef, 1e-5, 1e-6)
	if losses[4] != 0 {
		t.Errorf("loss of an ignored row = %g, want 0", losses[4])
	}

	const dloss = 1.0 / 8
	dlogits, dlogitsRef := make([]float32, N*V), make([]float32, N*V)
	CrossEntropyBackward(dlogits, probs, targets, dloss, N, V)
	CrossEntropyBackwardRef(dlogitsRef, probsRef, targets, dloss, N, V)
	assertClose(t, "dlogits", dlogits, dlogitsRef, 1e-5, 1e-9)
	checkFiniteDiff(t, "dlogits", logits, dlogits, func() float64 {
		CrossEntropyForwardRef(lossesRef, probsRef, logits, targets, N, V)
		var s float64
		for _, l := range lossesRef {
			s += dloss * float64(l)
		}
		return s
	})
}

func TestEncoderAndResidualBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const B, T, C, V = 2, 5, 8, 11
	ids := []int32{1, 3, 3, 0, 10, 2, 1, 1, 9, 4}
	wte, wpe := randSlice(r, V*C, 1), randSlice(r, T*C, 1)
	out := make([]float32, B*T*C)
	EncoderForward(out, ids, wte, wpe, B, T, C)
	w := randSlice(r, B*T*C, 1)
	dwte, dwpe := make([]float32, V*C), make([]float32, T*C)
	EncoderBackward(dwte, dwpe, w, ids, B, T, C)
	f := func() float64 { EncoderForward(out, ids, wte, wpe, B, T, C); return weightedSum(out, w) }
	checkFiniteDiff(t, "dwte", wte, dwte, f)
	checkFiniteDiff(t, "dwpe", wpe, dwpe, f)

	a, b := randSlice(r, 10, 1), randSlice(r, 10, 1)
	res := make([]float32, 10)
	ResidualForward(res, a, b, 10)
	da, db := make([]float32, 10), make([]float32, 10)
	ResidualBackward(da, db, w[:10], 10)
	g := func() float64 { ResidualForward(res, a, b, 10); return weightedSum(res, w[:10]) }
	checkFiniteDiff(t, "da", a, da, g)
	checkFiniteDiff(t, "db", b, db, g)
}

func BenchmarkGemm(b *testing.B) {
	cases := []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"square512", false, false, 512, 512, 512},
		{"fc_fwd_1024x512x128", false, false, 1024, 512, 128},
		{"lmhead_fwd_1024x4096x128_NT", false, true, 1024, 4096, 128},
		{"lmhead_dw_4096x128x1024_TN", true, false, 4096, 128, 1024},
	}
	b.Logf("micro-kernel %s", GemmKernel())
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			lda, ldb := c.k, c.n
			if c.transA {
				lda = c.m
			}
			if c.transB {
				ldb = c.k
			}
			a := randSlice(r, c.m*c.k, 1)
			bm := randSlice(r, c.k*c.n, 1)
			out := make([]float32, c.m*c.n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Gemm(c.transA, c.transB, c.m, c.n, c.k, a, lda, bm, ldb, out, c.n, false)
			}
			flops := 2 * float64(c.m) * float64(c.n) * float64(c.k) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
