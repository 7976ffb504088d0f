package tensor

// LinearForward computes torch.nn.Linear with the weight stored [out,in],
// the layout of Llama-family checkpoints (unlike GPT-2's Conv1D, see
// MatmulForward):
//
//	out[n,o] = sum_c inp[n,c] * weight[o,c] + bias[o]
//
// Shapes: out [N,OC] (overwritten), inp [N,C], weight [OC,C], bias [OC] or
// nil for no bias.
func LinearForward(out, inp, weight, bias []float32, N, C, OC int) {
	checkLinear("LinearForward", out, inp, weight, bias, N, C, OC)

	if bias == nil {
		Gemm(false, true, N, OC, C, inp, C, weight, C, out, OC, false)
		return
	}
	broadcastBias(out, bias, N, OC)
	Gemm(false, true, N, OC, C, inp, C, weight, C, out, OC, true)
}

// LinearBackward differentiates LinearForward. With dout [N,OC] the
// gradient of the loss with respect to out, it accumulates
//
//	dinp[n,c]    += sum_o dout[n,o] * weight[o,c]   (dinp = dout @ weight)
//	dweight[o,c] += sum_n dout[n,o] * inp[n,c]      (dweight = dout^T @ inp)
//	dbias[o]     += sum_n dout[n,o]
//
// Shapes: dinp [N,C] or nil when the input needs no gradient, dweight
// [OC,C], dbias [OC] or nil, inp [N,C], weight [OC,C].
func LinearBackward(dinp, dweight, dbias, dout, inp, weight []float32, N, C, OC int) {
	checkLinear("LinearBackward", dout, inp, weight, dbias, N, C, OC)
	checkLen("LinearBackward", "dweight", dweight, OC*C)

	if dinp != nil {
		checkLen("LinearBackward", "dinp", dinp, N*C)
		Gemm(false, false, N, C, OC, dout, OC, weight, C, dinp, C, true)
	}
	Gemm(true, false, OC, C, N, dout, OC, inp, C, dweight, C, true)
	if dbias != nil {
		accumulateBiasGrad(dbias, dout, N, OC)
	}
}

// LinearForwardRef is the reference for LinearForward (plain loops).
func LinearForwardRef(out, inp, weight, bias []float32, N, C, OC int) {
	checkLinear("LinearForwardRef", out, inp, weight, bias, N, C, OC)
	for n := 0; n < N; n++ {
		for o := 0; o < OC; o++ {
			var sum float32
			if bias != nil {
				sum = bias[o]
			}
			for c := 0; c < C; c++ {
				sum += inp[n*C+c] * weight[o*C+c]
			}
			out[n*OC+o] = sum
		}
	}
}

// LinearBackwardRef is the reference for LinearBackward (plain loops).
func LinearBackwardRef(dinp, dweight, dbias, dout, inp, weight []float32, N, C, OC int) {
	checkLinear("LinearBackwardRef", dout, inp, weight, dbias, N, C, OC)
	for n := 0; n < N; n++ {
		for o := 0; o < OC; o++ {
			d := dout[n*OC+o]
			if dbias != nil {
				dbias[o] += d
			}
			for c := 0; c < C; c++ {
				if dinp != nil {
					dinp[n*C+c] += weight[o*C+c] * d
				}
				dweight[o*C+c] += inp[n*C+c] * d
			}
		}
	}
}

func checkLinear(kernel string, out, inp, weight, bias []float32, N, C, OC int) {
	checkLen(kernel, "out", out, N*OC)
	checkLen(kernel, "inp", inp, N*C)
	checkLen(kernel, "weight", weight, OC*C)
	if bias != nil {
		checkLen(kernel, "bias", bias, OC)
	}
}
