package tensor

import "math"

// geluScale is sqrt(2/pi), the constant of the tanh approximation of GELU
// that GPT-2 uses and transformers calls "gelu_new".
var geluScale = float32(math.Sqrt(2 / math.Pi))

// geluCubic is the cubic coefficient of the same approximation.
const geluCubic = 0.044715

// GeluForward applies gelu_new elementwise over n elements:
//
//	out = 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
//
// Shapes: out [n] (overwritten), inp [n].
func GeluForward(out, inp []float32, n int) {
	checkLen("GeluForward", "out", out, n)
	checkLen("GeluForward", "inp", inp, n)
	parallelFor(n, 4096, func(lo, hi int) {
		GeluForwardRef(out[lo:hi], inp[lo:hi], hi-lo)
	})
}

// GeluForwardRef is the reference for GeluForward (one goroutine).
func GeluForwardRef(out, inp []float32, n int) {
	out, inp = out[:n], inp[:n]
	for i, x := range inp {
		u := geluScale * (x + geluCubic*x*x*x)
		out[i] = 0.5 * x * (1 + float32(math.Tanh(float64(u))))
	}
}

// GeluBackward differentiates GeluForward, accumulating over n elements
//
//	dinp += dout * (0.5*(1+tanh(u)) + 0.5*x*(1-tanh(u)^2)*sqrt(2/pi)*(1+3*0.044715*x^2))
//
// with u = sqrt(2/pi)*(x + 0.044715 x^3). Shapes: dinp [n], inp [n] (the
// forward's input), dout [n].
func GeluBackward(dinp, inp, dout []float32, n int) {
	checkLen("GeluBackward", "dinp", dinp, n)
	checkLen("GeluBackward", "inp", inp, n)
	checkLen("GeluBackward", "dout", dout, n)
	parallelFor(n, 4096, func(lo, hi int) {
		GeluBackwardRef(dinp[lo:hi], inp[lo:hi], dout[lo:hi], hi-lo)
	})
}

// GeluBackwardRef is the reference for GeluBackward (one goroutine).
func GeluBackwardRef(dinp, inp, dout []float32, n int) {
	dinp, inp, dout = dinp[:n], inp[:n], dout[:n]
	for i, x := range inp {
		u := geluScale * (x + geluCubic*x*x*x)
		th := float32(math.Tanh(float64(u)))
		grad := 0.5*(1+th) + 0.5*x*(1-th*th)*geluScale*(1+3*geluCubic*x*x)
		dinp[i] += grad * dout[i]
	}
}
