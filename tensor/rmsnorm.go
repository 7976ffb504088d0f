package tensor

import "math"

// RMSNormForward scales each row of inp by the inverse root mean square of
// its C channels, as Llama's RMSNorm does (Zhang and Sennrich 2019,
// "Root Mean Square Layer Normalization"; transformers v4 LlamaRMSNorm):
//
//	rstd[n]  = 1 / sqrt(sum_c inp[n,c]^2 / C + eps)
//	out[n,c] = inp[n,c] * rstd[n] * weight[c]
//
// There is no mean subtraction and no bias. Shapes: out [N,C] and rstd [N]
// (both overwritten; rstd is kept for the backward), inp [N,C], weight [C].
// The sum of squares is accumulated in float64, as transformers computes
// the variance in float32 from half-precision inputs for the same reason:
// a float32 sum over thousands of channels loses digits.
func RMSNormForward(out, rstd, inp, weight []float32, N, C int, eps float32) {
	checkRMSNorm("RMSNormForward", out, rstd, inp, weight, N, C)
	parallelFor(N, 64, func(lo, hi int) {
		rmsNormRows(out, rstd, inp, weight, lo, hi, C, eps)
	})
}

// RMSNormForwardRef is the reference for RMSNormForward (one goroutine).
func RMSNormForwardRef(out, rstd, inp, weight []float32, N, C int, eps float32) {
	checkRMSNorm("RMSNormForwardRef", out, rstd, inp, weight, N, C)
	for n := 0; n < N; n++ {
		var ss float64
		for c := 0; c < C; c++ {
			ss += float64(inp[n*C+c]) * float64(inp[n*C+c])
		}
		s := float32(1 / math.Sqrt(ss/float64(C)+float64(eps)))
		for c := 0; c < C; c++ {
			out[n*C+c] = inp[n*C+c] * s * weight[c]
		}
		rstd[n] = s
	}
}

func rmsNormRows(out, rstd, inp, weight []float32, lo, hi, C int, eps float32) {
	weight = weight[:C]
	for n := lo; n < hi; n++ {
		x := inp[n*C : (n+1)*C]
		var ss float64
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		s := float32(1 / math.Sqrt(ss/float64(C)+float64(eps)))
		y := out[n*C : (n+1)*C]
		for c, v := range x {
			y[c] = v * s * weight[c]
		}
		rstd[n] = s
	}
}

// RMSNormBackward differentiates RMSNormForward. With xhat[n,c] =
// inp[n,c]*rstd[n] and g[n,c] = dout[n,c]*weight[c], it accumulates
//
//	dinp[n,c]  += rstd[n] * (g[n,c] - xhat[n,c] * mean_c(g[n,:]*xhat[n,:]))
//	dweight[c] += sum_n dout[n,c] * xhat[n,c]
//
// The dinp line follows from d(rstd)/d(inp[n,c]) = -rstd^3 * inp[n,c] / C.
// Shapes: dinp [N,C], dweight [C], dout [N,C], inp [N,C], weight [C],
// rstd [N] from the forward.
func RMSNormBackward(dinp, dweight, dout, inp, weight, rstd []float32, N, C int) {
	checkRMSNorm("RMSNormBackward", dinp, rstd, inp, weight, N, C)
	checkLen("RMSNormBackward", "dout", dout, N*C)
	checkLen("RMSNormBackward", "dweight", dweight, C)

	// Rows are independent for dinp. dweight is a column sum, split by
	// channel so that no two goroutines write the same entry.
	parallelFor(N, 64, func(lo, hi int) {
		weight := weight[:C]
		for n := lo; n < hi; n++ {
			x := inp[n*C : (n+1)*C]
			d := dout[n*C : (n+1)*C]
			di := dinp[n*C : (n+1)*C]
			s := rstd[n]
			var gx float32
			for c, v := range x {
				gx += d[c] * weight[c] * v * s
			}
			gx /= float32(C)
			for c, v := range x {
				di[c] += (d[c]*weight[c] - v*s*gx) * s
			}
		}
	})
	parallelFor(C, 16, func(lo, hi int) {
		for n := 0; n < N; n++ {
			x := inp[n*C+lo : n*C+hi]
			d := dout[n*C+lo : n*C+hi]
			s := rstd[n]
			for c, v := range x {
				dweight[lo+c] += d[c] * v * s
			}
		}
	})
}

// RMSNormBackwardRef is the reference for RMSNormBackward (plain loops on
// one goroutine).
func RMSNormBackwardRef(dinp, dweight, dout, inp, weight, rstd []float32, N, C int) {
	checkRMSNorm("RMSNormBackwardRef", dinp, rstd, inp, weight, N, C)
	for n := 0; n < N; n++ {
		s := rstd[n]
		var gx float32
		for c := 0; c < C; c++ {
			gx += dout[n*C+c] * weight[c] * inp[n*C+c] * s
		}
		gx /= float32(C)
		for c := 0; c < C; c++ {
			xhat := inp[n*C+c] * s
			dweight[c] += dout[n*C+c] * xhat
			dinp[n*C+c] += (dout[n*C+c]*weight[c] - xhat*gx) * s
		}
	}
}

func checkRMSNorm(kernel string, out, rstd, inp, weight []float32, N, C int) {
	checkLen(kernel, "out", out, N*C)
	checkLen(kernel, "inp", inp, N*C)
	checkLen(kernel, "rstd", rstd, N)
	checkLen(kernel, "weight", weight, C)
}
