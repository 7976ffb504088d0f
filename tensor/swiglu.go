package tensor

import "math"

// SwiGLUForward computes the gated activation of Llama's MLP (Shazeer 2020,
// "GLU Variants Improve Transformer"; transformers v4 LlamaMLP with
// hidden_act "silu") from a packed projection whose first I columns are the
// gate and last I columns the up projection:
//
//	out[n,j] = silu(inp[n,j]) * inp[n,I+j],   silu(x) = x / (1 + exp(-x))
//
// Shapes: out [N,I] (overwritten), inp [N,2I].
func SwiGLUForward(out, inp []float32, N, I int) {
	checkLen("SwiGLUForward", "out", out, N*I)
	checkLen("SwiGLUForward", "inp", inp, N*2*I)
	parallelFor(N, 16, func(lo, hi int) {
		swigluRows(out, inp, lo, hi, I)
	})
}

// SwiGLUForwardRef is the reference for SwiGLUForward (one goroutine, the
// sigmoid in float64).
func SwiGLUForwardRef(out, inp []float32, N, I int) {
	checkLen("SwiGLUForwardRef", "out", out, N*I)
	checkLen("SwiGLUForwardRef", "inp", inp, N*2*I)
	for n := 0; n < N; n++ {
		for j := 0; j < I; j++ {
			g, u := float64(inp[n*2*I+j]), float64(inp[n*2*I+I+j])
			out[n*I+j] = float32(g / (1 + math.Exp(-g)) * u)
		}
	}
}

func swigluRows(out, inp []float32, lo, hi, I int) {
	for n := lo; n < hi; n++ {
		gate := inp[n*2*I : n*2*I+I]
		up := inp[n*2*I+I : (n+1)*2*I]
		o := out[n*I : (n+1)*I]
		head := 0
		if hasExpfAVX2 && I >= 8 {
			head = I &^ 7
			swigluForwardAVX2(&o[0], &gate[0], &up[0], head)
		}
		for j := head; j < I; j++ {
			o[j] = gate[j] * sigmoid(gate[j]) * up[j]
		}
	}
}

// sigmoid returns 1/(1+exp(-x)). math.Exp overflows to +Inf for x below
// about -709, which still gives the correct limit 0.
func sigmoid(x float32) float32 {
	return float32(1 / (1 + math.Exp(-float64(x))))
}

// SwiGLUBackward differentiates SwiGLUForward. With g = inp[n,j], u =
// inp[n,I+j] and s = sigmoid(g), it accumulates
//
//	dinp[n,j]   += dout[n,j] * u * s * (1 + g*(1-s))   (silu'(g) = s + g*s*(1-s))
//	dinp[n,I+j] += dout[n,j] * g * s
//
// Shapes: dinp [N,2I], dout [N,I], inp [N,2I] from the forward.
func SwiGLUBackward(dinp, dout, inp []float32, N, I int) {
	checkLen("SwiGLUBackward", "dinp", dinp, N*2*I)
	checkLen("SwiGLUBackward", "dout", dout, N*I)
	checkLen("SwiGLUBackward", "inp", inp, N*2*I)
	parallelFor(N, 16, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			gate := inp[n*2*I : n*2*I+I]
			up := inp[n*2*I+I : (n+1)*2*I]
			dgate := dinp[n*2*I : n*2*I+I]
			dup := dinp[n*2*I+I : (n+1)*2*I]
			d := dout[n*I : (n+1)*I]
			head := 0
			if hasExpfAVX2 && I >= 8 {
				head = I &^ 7
				swigluBackwardAVX2(&dgate[0], &dup[0], &gate[0], &up[0], &d[0], head)
			}
			for j := head; j < I; j++ {
				g := gate[j]
				s := sigmoid(g)
				dgate[j] += d[j] * up[j] * s * (1 + g*(1-s))
				dup[j] += d[j] * g * s
			}
		}
	})
}

// SwiGLUBackwardRef is the reference for SwiGLUBackward (one goroutine,
// float64 arithmetic).
func SwiGLUBackwardRef(dinp, dout, inp []float32, N, I int) {
	checkLen("SwiGLUBackwardRef", "dinp", dinp, N*2*I)
	checkLen("SwiGLUBackwardRef", "dout", dout, N*I)
	checkLen("SwiGLUBackwardRef", "inp", inp, N*2*I)
	for n := 0; n < N; n++ {
		for j := 0; j < I; j++ {
			g, u, d := float64(inp[n*2*I+j]), float64(inp[n*2*I+I+j]), float64(dout[n*I+j])
			s := 1 / (1 + math.Exp(-g))
			dinp[n*2*I+j] += float32(d * u * (s + g*s*(1-s)))
			dinp[n*2*I+I+j] += float32(d * g * s)
		}
	}
}
