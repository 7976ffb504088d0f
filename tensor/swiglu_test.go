package tensor

import (
	"math/rand/v2"
	"testing"
)

func TestSwiGLUForwardBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const N, I = 40, 36
	inp := randSlice(r, N*2*I, 2)
	out, outRef := make([]float32, N*I), make([]float32, N*I)
	SwiGLUForward(out, inp, N, I)
	SwiGLUForwardRef(outRef, inp, N, I)
	// The reference rounds once from float64; the fast path rounds the
	// sigmoid and two products, a few ulps.
	assertClose(t, "out", out, outRef, 1e-6, 1e-7)

	w := randSlice(r, N*I, 1)
	dinp, dinpRef := make([]float32, N*2*I), make([]float32, N*2*I)
	SwiGLUBackward(dinp, w, inp, N, I)
	SwiGLUBackwardRef(dinpRef, w, inp, N, I)
	assertClose(t, "dinp", dinp, dinpRef, 1e-5, 1e-7)

	f := func() float64 {
		SwiGLUForwardRef(outRef, inp, N, I)
		return weightedSum(outRef, w)
	}
	checkFiniteDiff(t, "dinp", inp, dinp, f)
}

func TestSwiGLUKnownValues(t *testing.T) {
	// silu(0) = 0, silu(x) ~ x for large x, silu(x) ~ 0 for very negative x.
	cases := []struct {
		name     string
		gate, up float32
		want     float32
	}{
		{"zero gate", 0, 5, 0},
		{"large gate", 30, 2, 60},
		{"very negative gate", -800, 2, 0},
		{"one", 1, 1, 0.7310586},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := make([]float32, 1)
			SwiGLUForward(out, []float32{c.gate, c.up}, 1, 1)
			assertClose(t, "out", out, []float32{c.want}, 1e-6, 1e-30)
		})
	}
}
