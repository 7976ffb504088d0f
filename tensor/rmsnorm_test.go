package tensor

import (
	"math/rand/v2"
	"testing"
)

func TestRMSNormForwardBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const N, C = 70, 48
	const eps = 1e-6
	inp, weight := randSlice(r, N*C, 1), randSlice(r, C, 1)
	out, rstd := make([]float32, N*C), make([]float32, N)
	outRef, rstdRef := make([]float32, N*C), make([]float32, N)
	RMSNormForward(out, rstd, inp, weight, N, C, eps)
	RMSNormForwardRef(outRef, rstdRef, inp, weight, N, C, eps)
	// Same arithmetic in the same order: only the goroutine split differs.
	assertClose(t, "out", out, outRef, 1e-6, 1e-7)
	assertClose(t, "rstd", rstd, rstdRef, 1e-6, 0)

	w := randSlice(r, N*C, 1)
	dinp, dweight := make([]float32, N*C), make([]float32, C)
	RMSNormBackward(dinp, dweight, w, inp, weight, rstd, N, C)
	dinpRef, dweightRef := make([]float32, N*C), make([]float32, C)
	RMSNormBackwardRef(dinpRef, dweightRef, w, inp, weight, rstd, N, C)
	// dweight sums N products in a different grouping, so allow a few
	// float32 roundings on sums of magnitude about sqrt(N).
	assertClose(t, "dinp", dinp, dinpRef, 1e-5, 1e-6)
	assertClose(t, "dweight", dweight, dweightRef, 1e-5, 1e-5)

	f := func() float64 {
		RMSNormForwardRef(outRef, rstdRef, inp, weight, N, C, eps)
		return weightedSum(outRef, w)
	}
	checkFiniteDiff(t, "dinp", inp, dinp, f)
	checkFiniteDiff(t, "dweight", weight, dweight, f)
}

func TestRMSNormUnitRMS(t *testing.T) {
	// With weight 1 every output row has root mean square 1 (up to eps).
	inp := []float32{3, -4, 0, 0, 1, 1, 1, 1}
	out, rstd := make([]float32, 8), make([]float32, 2)
	RMSNormForward(out, rstd, inp, []float32{1, 1, 1, 1}, 2, 4, 0)
	want := []float32{1.2, -1.6, 0, 0, 1, 1, 1, 1}
	assertClose(t, "out", out, want, 1e-6, 0)
}
