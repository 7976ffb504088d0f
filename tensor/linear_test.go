package tensor

import (
	"math/rand/v2"
	"testing"
)

func TestLinearForwardBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	const N, C, OC = 29, 24, 40
	inp, weight, bias := randSlice(r, N*C, 1), randSlice(r, OC*C, 0.3), randSlice(r, OC, 1)
	out, outRef := make([]float32, N*OC), make([]float32, N*OC)
	LinearForward(out, inp, weight, bias, N, C, OC)
	LinearForwardRef(outRef, inp, weight, bias, N, C, OC)
	// Summation order differs between the blocked GEMM and the loops.
	assertClose(t, "out", out, outRef, 1e-5, 1e-5)

	w := randSlice(r, N*OC, 1)
	dinp, dweight, dbias := make([]float32, N*C), make([]float32, OC*C), make([]float32, OC)
	LinearBackward(dinp, dweight, dbias, w, inp, weight, N, C, OC)
	dinpRef, dweightRef, dbiasRef := make([]float32, N*C), make([]float32, OC*C), make([]float32, OC)
	LinearBackwardRef(dinpRef, dweightRef, dbiasRef, w, inp, weight, N, C, OC)
	assertClose(t, "dinp", dinp, dinpRef, 1e-4, 1e-5)
	assertClose(t, "dweight", dweight, dweightRef, 1e-4, 1e-5)
	assertClose(t, "dbias", dbias, dbiasRef, 1e-4, 1e-5)

	f := func() float64 { LinearForwardRef(outRef, inp, weight, bias, N, C, OC); return weightedSum(outRef, w) }
	checkFiniteDiff(t, "dinp", inp, dinp, f)
	checkFiniteDiff(t, "dweight", weight, dweight, f)
	checkFiniteDiff(t, "dbias", bias, dbias, f)

	// Without a bias the product alone is written.
	LinearForward(out, inp, weight, nil, N, C, OC)
	LinearForwardRef(outRef, inp, weight, nil, N, C, OC)
	assertClose(t, "out without bias", out, outRef, 1e-5, 1e-5)
}
