package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestExpfMatchesMathExp(t *testing.T) {
	// Cephes expf is within 2 ulps of the exact result, about 2.4e-7
	// relative; 4e-7 leaves room for the rounding of float64(x).
	const rtol = 4e-7
	for x := float32(-87); x <= 88.5; x += 0.0137 {
		got := float64(expf(x))
		want := math.Exp(float64(x))
		if math.Abs(got-want) > rtol*want {
			t.Fatalf("expf(%g) = %g, want %g", x, got, want)
		}
	}
	cases := []struct{ x, want float32 }{
		{0, 1},
		{float32(math.Inf(-1)), 0},
		{-100, 0},
		{100, float32(math.Inf(1))},
		{float32(math.Inf(1)), float32(math.Inf(1))},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.x), func(t *testing.T) {
			if got := expf(c.x); got != c.want {
				t.Errorf("expf(%g) = %g, want %g", c.x, got, c.want)
			}
		})
	}
	if got := expf(float32(math.NaN())); got == got {
		t.Errorf("expf(NaN) = %g, want NaN", got)
	}
}

func TestExpShiftedMatchesExpf(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{0, 1, 7, 8, 9, 64, 261} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(r.Float64()*160 - 80) // x - shift in [-85, 75]
			}
			if n > 2 {
				src[1] = -200 // below expfMin after the shift: exactly 0
			}
			dst := make([]float32, n)
			const shift = 5
			sum := expShifted(dst, src, shift)
			var wantSum float64
			for i, x := range src {
				want := math.Exp(float64(x - shift))
				if float32(want) < math.SmallestNonzeroFloat32*(1<<23) {
					want = 0
				}
				// 2 ulps of expf plus the rounding of x - shift.
				if math.Abs(float64(dst[i])-want) > 4e-7*want {
					t.Errorf("dst[%d] = exp(%g - %g) = %g, want %g", i, x, float32(shift), dst[i], want)
				}
				wantSum += want
			}
			if math.Abs(float64(sum)-wantSum) > 1e-6*wantSum {
				t.Errorf("sum = %g, want %g", sum, wantSum)
			}
		})
	}
}

func TestTanhfMatchesMathTanh(t *testing.T) {
	// 1 - 2/(e^2x+1) rounds to about 2 float32 ulps of 1, in absolute terms.
	const atol = 3e-7
	for x := float32(-12); x <= 12; x += 0.00731 {
		got := float64(tanhf(x))
		want := math.Tanh(float64(x))
		if math.Abs(got-want) > atol {
			t.Fatalf("tanhf(%g) = %g, want %g", x, got, want)
		}
	}
}

func TestCrossEntropyForwardBackwardMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const N, V = 13, 1000
	logits := randSlice(r, N*V, 4)
	targets := make([]int32, N)
	for i := range targets {
		targets[i] = int32(r.IntN(V))
	}
	targets[3] = -100
	const dloss = 1.0 / 12

	lossesRef, probs := make([]float32, N), make([]float32, N*V)
	CrossEntropyForwardRef(lossesRef, probs, logits, targets, N, V)
	dlogitsRef := make([]float32, N*V)
	CrossEntropyBackwardRef(dlogitsRef, probs, targets, dloss, N, V)

	losses, dlogits := make([]float32, N), make([]float32, N*V)
	CrossEntropyForwardBackward(losses, dlogits, logits, targets, dloss, N, V)
	// expf differs from math.Exp by about 2e-7 relative, which reaches
	// the losses (about 7) and the gradients (at most dloss) unamplified.
	assertClose(t, "losses", losses, lossesRef, 1e-5, 1e-6)
	assertClose(t, "dlogits", dlogits, dlogitsRef, 1e-5, 1e-9)

	// In place: dlogits aliases logits.
	inPlace := append([]float32{}, logits...)
	CrossEntropyForwardBackward(losses, inPlace, inPlace, targets, dloss, N, V)
	assertClose(t, "dlogits in place", inPlace, dlogitsRef, 1e-5, 1e-9)
}

func TestGeluFastMatchesReference(t *testing.T) {
	// The odd length leaves a tail after the eight-lane loop; the Go path
	// is checked too where the assembly one exists.
	asmModes := []bool{false}
	if hasExpfAVX2 {
		asmModes = append(asmModes, true)
	}
	for _, n := range []int{20000, 20003} {
		for _, asm := range asmModes {
			t.Run(fmt.Sprintf("n%d_asm%v", n, asm), func(t *testing.T) {
				saved := hasExpfAVX2
				setExpfAVX2(asm)
				defer setExpfAVX2(saved)
				testGeluFastMatchesReference(t, n)
			})
		}
	}
}

func testGeluFastMatchesReference(t *testing.T, n int) {
	r := rand.New(rand.NewPCG(9, 10))
	inp := randSlice(r, n, 6)
	dout := randSlice(r, n, 1)
	out, outRef := make([]float32, n), make([]float32, n)
	GeluForwardFast(out, inp, n)
	GeluForwardRef(outRef, inp, n)
	// tanhf is within 3e-7 of tanh in absolute terms, scaled by 0.5*|x| <= 3.
	assertClose(t, "out", out, outRef, 1e-6, 1e-6)

	dinp, dinpRef := randSlice(r, n, 1), make([]float32, n)
	copy(dinpRef, dinp)
	GeluBackwardFast(dinp, inp, dout, n)
	GeluBackwardRef(dinpRef, inp, dout, n)
	// The derivative multiplies the tanh error by about x^3 (0.5*x*2*tanh
	// * sqrt(2/pi) * 3*0.044715*x^2), near 10 at |x| = 6, so 3e-7 grows
	// to a few 1e-6.
	assertClose(t, "dinp", dinp, dinpRef, 1e-5, 1e-5)
}

func TestAdamWUpdateMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const n = 50000
	data := randSlice(r, n, 0.1)
	m, v := make([]float32, n), make([]float32, n)
	dataRef := append([]float32{}, data...)
	mRef, vRef := make([]float32, n), make([]float32, n)
	for step := 1; step <= 3; step++ {
		grad := randSlice(r, n, 0.01)
		s := AdamWStep{LR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, Decay: 1 - 1e-3*0.1, Step: step}
		AdamWUpdate(data, grad, m, v, s)
		AdamWUpdateRef(dataRef, grad, mRef, vRef, s)
	}
	// float32 against float64 arithmetic: each update moves a parameter by
	// about lr = 1e-3, computed to float32 precision, so the difference
	// stays near 1e-3 * 1e-6 per step. The moments cancel when m and g
	// have opposite signs, so their bound is absolute: float32 rounding of
	// terms near |g| = 1e-2 (about 1e-9) and g^2 = 1e-4 (about 1e-11).
	assertClose(t, "data", data, dataRef, 1e-6, 1e-8)
	assertClose(t, "m", m, mRef, 1e-5, 1e-9)
	assertClose(t, "v", v, vRef, 1e-5, 1e-11)
}

// TestAdamWUpdateSIMDMatchesGo checks that the assembly loop gives the
// same bits as the Go loop, on a length with a tail of 7 elements.
func TestAdamWUpdateSIMDMatchesGo(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 loop on this CPU or build")
	}
	r := rand.New(rand.NewPCG(13, 14))
	const n = 3*16 + 7
	data := randSlice(r, n, 0.1)
	m, v := make([]float32, n), make([]float32, n)
	dataGo, mGo, vGo := slices.Clone(data), make([]float32, n), make([]float32, n)
	for step := 1; step <= 3; step++ {
		grad := randSlice(r, n, 0.01)
		s := AdamWStep{LR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, Decay: 1 - 1e-3*0.1, Step: step}
		AdamWUpdate(data, grad, m, v, s)
		hasAVX512 = false
		AdamWUpdate(dataGo, grad, mGo, vGo, s)
		hasAVX512 = true
	}
	assertClose(t, "data", data, dataGo, 0, 0)
	assertClose(t, "m", m, mGo, 0, 0)
	assertClose(t, "v", v, vGo, 0, 0)
}

func TestAdamWUpdatePanicsOnZeroStep(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("AdamWUpdate with Step 0 did not panic")
		}
	}()
	x := make([]float32, 4)
	AdamWUpdate(x, x, x, x, AdamWStep{LR: 1, Beta1: 0.9, Beta2: 0.9})
}

func TestSumSquares(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{0, 1, 1000, 300001} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x := randSlice(r, n, 1)
			var want float64
			for _, v := range x {
				want += float64(v) * float64(v)
			}
			got := SumSquares(x)
			if math.Abs(got-want) > 1e-12*max(want, 1) {
				t.Errorf("SumSquares of %d values = %.17g, want %.17g", n, got, want)
			}
		})
	}
}

// BenchmarkFusedKernels compares the fused kernels with the ones they
// replace at GPT-2 124M sizes for B*T = 1024 (vocabulary rows cut to 64).
func BenchmarkFusedKernels(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const rows, V = 64, 50257
	logits := randSlice(r, rows*V, 3)
	targets := make([]int32, rows)
	losses, work := make([]float32, rows), make([]float32, rows*V)
	b.Run("crossentropy_separate", func(b *testing.B) {
		for b.Loop() {
			CrossEntropyForward(losses, work, logits, targets, rows, V)
			CrossEntropyBackward(work, work, targets, 1, rows, V)
		}
	})
	b.Run("crossentropy_fused", func(b *testing.B) {
		for b.Loop() {
			CrossEntropyForwardBackward(losses, work, logits, targets, 1, rows, V)
		}
	})

	const n = 1024 * 3072
	inp, out := randSlice(r, n, 2), make([]float32, n)
	b.Run("gelu_forward", func(b *testing.B) {
		for b.Loop() {
			GeluForward(out, inp, n)
		}
	})
	b.Run("gelu_forward_fast", func(b *testing.B) {
		for b.Loop() {
			GeluForwardFast(out, inp, n)
		}
	})

	const params = 7 * 1024 * 1024
	data, grad := randSlice(r, params, 0.1), randSlice(r, params, 0.01)
	m, v := make([]float32, params), make([]float32, params)
	s := AdamWStep{LR: 1e-4, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, Decay: 1, Step: 1}
	b.Run("adamw_ref", func(b *testing.B) {
		for b.Loop() {
			AdamWUpdateRef(data, grad, m, v, s)
		}
	})
	b.Run("adamw", func(b *testing.B) {
		for b.Loop() {
			AdamWUpdate(data, grad, m, v, s)
		}
	})
}

func TestMaxAndScaleFloat32(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for n := 1; n <= 40; n++ {
		x := randSlice(r, n, 3)
		want := x[0]
		for _, v := range x {
			want = max(want, v)
		}
		if got := maxFloat32(x); got != want {
			t.Errorf("n=%d: maxFloat32 = %g, want %g", n, got, want)
		}
		scaled := slices.Clone(x)
		scaleFloat32(scaled, 0.37)
		for i, v := range x {
			if scaled[i] != v*0.37 {
				t.Errorf("n=%d: scaleFloat32 element %d = %g, want %g", n, i, scaled[i], v*0.37)
			}
		}
	}
}

func TestLogSumExp(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{1, 7, 300, 5000} {
		x := randSlice(r, n, 8)
		maxVal := math.Inf(-1)
		for _, v := range x {
			maxVal = math.Max(maxVal, float64(v))
		}
		var sum float64
		for _, v := range x {
			sum += math.Exp(float64(v) - maxVal)
		}
		want := maxVal + math.Log(sum)
		// expf is within 2 float32 ulps of exp, so the sum and its log
		// carry about 2.4e-7 relative error, shifted by the maximum.
		if got := LogSumExp(x); math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("n=%d: LogSumExp = %.9g, want %.9g", n, got, want)
		}
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	specials := []struct {
		name string
		x    []float32
		want float64
	}{
		{"NaN anywhere", []float32{1, 2, nan, 3, 4, 5, 6, 7, 8}, math.NaN()},
		{"all -Inf", []float32{-inf, -inf}, math.Inf(-1)},
		{"+Inf", []float32{1, inf}, math.Inf(1)},
	}
	for _, c := range specials {
		got := LogSumExp(c.x)
		if !(got == c.want || (math.IsNaN(got) && math.IsNaN(c.want))) {
			t.Errorf("%s: LogSumExp = %v, want %v", c.name, got, c.want)
		}
	}
}
