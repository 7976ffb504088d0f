package tensor

// MatmulForward computes a Conv1D / linear layer with the weight stored
// [in,out] as Hugging Face's GPT-2 Conv1D does:
//
//	out[n,o] = sum_c inp[n,c] * weight[c,o] + bias[o]
//
// Shapes: out [N,OC] (overwritten), inp [N,C], weight [C,OC], bias [OC] or
// nil for no bias. N is usually B*T.
func MatmulForward(out, inp, weight, bias []float32, N, C, OC int) {
	checkMatmul("MatmulForward", out, inp, weight, bias, N, C, OC)

	if bias == nil {
		Gemm(false, false, N, OC, C, inp, C, weight, OC, out, OC, false)
		return
	}
	broadcastBias(out, bias, N, OC)
	Gemm(false, false, N, OC, C, inp, C, weight, OC, out, OC, true)
}

// MatmulBackward differentiates MatmulForward. With dout [N,OC] the
// gradient of the loss with respect to out, it accumulates
//
//	dinp[n,c]    += sum_o dout[n,o] * weight[c,o]     (dinp = dout @ weight^T)
//	dweight[c,o] += sum_n inp[n,c] * dout[n,o]        (dweight = inp^T @ dout)
//	dbias[o]     += sum_n dout[n,o]
//
// Shapes: dinp [N,C], dweight [C,OC], dbias [OC] or nil, inp [N,C], weight
// [C,OC]. dinp may be nil when the input needs no gradient.
func MatmulBackward(dinp, dweight, dbias, dout, inp, weight []float32, N, C, OC int) {
	checkMatmul("MatmulBackward", dout, inp, weight, dbias, N, C, OC)
	checkLen("MatmulBackward", "dweight", dweight, C*OC)

	if dinp != nil {
		checkLen("MatmulBackward", "dinp", dinp, N*C)
		Gemm(false, true, N, C, OC, dout, OC, weight, OC, dinp, C, true)
	}
	Gemm(true, false, C, OC, N, inp, C, dout, OC, dweight, OC, true)
	if dbias != nil {
		accumulateBiasGrad(dbias, dout, N, OC)
	}
}

func checkMatmul(kernel string, out, inp, weight, bias []float32, N, C, OC int) {
	checkLen(kernel, "out", out, N*OC)
	checkLen(kernel, "inp", inp, N*C)
	checkLen(kernel, "weight", weight, C*OC)
	if bias != nil {
		checkLen(kernel, "bias", bias, OC)
	}
}

// MatmulForwardRef is the reference for MatmulForward (plain loops).
func MatmulForwardRef(out, inp, weight, bias []float32, N, C, OC int) {
	checkMatmul("MatmulForwardRef", out, inp, weight, bias, N, C, OC)
	for n := 0; n < N; n++ {
		for o := 0; o < OC; o++ {
			var sum float32
			if bias != nil {
				sum = bias[o]
			}
			for c := 0; c < C; c++ {
				sum += inp[n*C+c] * weight[c*OC+o]
			}
			out[n*OC+o] = sum
		}
	}
}

// MatmulBackwardRef is the reference for MatmulBackward (plain loops).
func MatmulBackwardRef(dinp, dweight, dbias, dout, inp, weight []float32, N, C, OC int) {
	checkMatmul("MatmulBackwardRef", dout, inp, weight, dbias, N, C, OC)
	for n := 0; n < N; n++ {
		for o := 0; o < OC; o++ {
			d := dout[n*OC+o]
			if dbias != nil {
				dbias[o] += d
			}
			for c := 0; c < C; c++ {
				if dinp != nil {
					dinp[n*C+c] += weight[c*OC+o] * d
				}
				dweight[c*OC+o] += inp[n*C+c] * d
			}
		}
	}
}

// broadcastBias copies bias [OC] into every row of out [N,OC], so that an
// accumulating Gemm then adds the product on top.
func broadcastBias(out, bias []float32, N, OC int) {
	for n := 0; n < N; n++ {
		copy(out[n*OC:(n+1)*OC], bias[:OC])
	}
}

// accumulateBiasGrad adds the column sums of dout [N,OC] to dbias [OC],
// splitting the columns across goroutines.
func accumulateBiasGrad(dbias, dout []float32, N, OC int) {
	parallelFor(OC, 64, func(lo, hi int) {
		for n := 0; n < N; n++ {
			addTo(dbias[lo:hi], dout[n*OC+lo:n*OC+hi])
		}
	})
}
