package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestSwiGLUForwardBackward(t *testing.T) {
	// I = 36 runs the eight-lane loop on 32 columns and the Go loop on 4;
	// the Go path alone is checked too where the assembly one exists.
	asmModes := []bool{false}
	if hasExpfAVX2 {
		asmModes = append(asmModes, true)
	}
	for _, asm := range asmModes {
		t.Run(fmt.Sprintf("asm%v", asm), func(t *testing.T) {
			saved := hasExpfAVX2
			setExpfAVX2(asm)
			defer setExpfAVX2(saved)
			testSwiGLUForwardBackward(t)
		})
	}
}

func testSwiGLUForwardBackward(t *testing.T) {
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
		// One column takes the Go loop, eight the eight-lane one.
		for _, width := range []int{1, 8} {
			t.Run(fmt.Sprintf("%s/I%d", c.name, width), func(t *testing.T) {
				inp, want := make([]float32, 2*width), make([]float32, width)
				for j := range width {
					inp[j], inp[width+j], want[j] = c.gate, c.up, c.want
				}
				out := make([]float32, width)
				SwiGLUForward(out, inp, 1, width)
				assertClose(t, "out", out, want, 1e-6, 1e-30)
			})
		}
	}
}
