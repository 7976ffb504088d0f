package tensor

import "math"

// LayerNormForward normalizes each row of inp over its C channels, as
// torch.nn.LayerNorm does (biased variance):
//
//	mean[n] = sum_c inp[n,c] / C
//	rstd[n] = 1 / sqrt(sum_c (inp[n,c]-mean[n])^2 / C + eps)
//	out[n,c] = (inp[n,c]-mean[n]) * rstd[n] * weight[c] + bias[c]
//
// Shapes: out [N,C], mean [N], rstd [N] (all overwritten; mean and rstd
// are kept for the backward), inp [N,C], weight [C], bias [C]. The variance
// is computed in a second pass over the centered values, which avoids the
// cancellation of E[x^2]-E[x]^2.
func LayerNormForward(out, mean, rstd, inp, weight, bias []float32, N, C int, eps float32) {
	checkLayerNorm("LayerNormForward", out, mean, rstd, inp, weight, bias, N, C)
	parallelFor(N, 64, func(lo, hi int) {
		layerNormRows(out, mean, rstd, inp, weight, bias, lo, hi, C, eps)
	})
}

// LayerNormForwardRef is the reference for LayerNormForward (one goroutine).
func LayerNormForwardRef(out, mean, rstd, inp, weight, bias []float32, N, C int, eps float32) {
	checkLayerNorm("LayerNormForwardRef", out, mean, rstd, inp, weight, bias, N, C)
	layerNormRows(out, mean, rstd, inp, weight, bias, 0, N, C, eps)
}

func layerNormRows(out, mean, rstd, inp, weight, bias []float32, lo, hi, C int, eps float32) {
	weight, bias = weight[:C], bias[:C]
	for n := lo; n < hi; n++ {
		x := inp[n*C : (n+1)*C]
		var sum float32
		for _, v := range x {
			sum += v
		}
		m := sum / float32(C)
		var varSum float32
		for _, v := range x {
			d := v - m
			varSum += d * d
		}
		s := float32(1 / math.Sqrt(float64(varSum/float32(C)+eps)))
		y := out[n*C : (n+1)*C]
		for c, v := range x {
			y[c] = (v-m)*s*weight[c] + bias[c]
		}
		mean[n], rstd[n] = m, s
	}
}

// LayerNormBackward differentiates LayerNormForward. With xhat[n,c] =
// (inp[n,c]-mean[n])*rstd[n] and g[n,c] = dout[n,c]*weight[c], it
// accumulates
//
//	dinp[n,c]  += rstd[n] * (g[n,c] - mean_c(g[n,:]) - xhat[n,c]*mean_c(g[n,:]*xhat[n,:]))
//	dweight[c] += sum_n dout[n,c] * xhat[n,c]
//	dbias[c]   += sum_n dout[n,c]
//
// Shapes: dinp [N,C], dweight [C], dbias [C], dout [N,C], inp [N,C], weight
// [C], mean [N], rstd [N] from the forward.
func LayerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd []float32, N, C int) {
	checkLayerNorm("LayerNormBackward", dinp, mean, rstd, inp, weight, dbias, N, C)
	checkLen("LayerNormBackward", "dout", dout, N*C)
	checkLen("LayerNormBackward", "dweight", dweight, C)

	// Rows are independent for dinp. The parameter gradients are column
	// sums, split by channel so that no two goroutines write the same entry.
	parallelFor(N, 64, func(lo, hi int) {
		layerNormBackwardInput(dinp, dout, inp, weight, mean, rstd, lo, hi, C)
	})
	parallelFor(C, 16, func(lo, hi int) {
		for n := 0; n < N; n++ {
			x := inp[n*C+lo : n*C+hi]
			d := dout[n*C+lo : n*C+hi]
			m, s := mean[n], rstd[n]
			head := 0
			if hasExpfAVX2 {
				head = len(x) &^ 7
				if head > 0 {
					layerNormParamGradAVX2(&dweight[lo], &dbias[lo], &x[0], &d[0], head, m, s)
				}
			}
			for c := head; c < len(x); c++ {
				dweight[lo+c] += d[c] * (x[c] - m) * s
				dbias[lo+c] += d[c]
			}
		}
	})
}

// LayerNormBackwardRef is the reference for LayerNormBackward: the llm.c
// loop on one goroutine.
func LayerNormBackwardRef(dinp, dweight, dbias, dout, inp, weight, mean, rstd []float32, N, C int) {
	checkLayerNorm("LayerNormBackwardRef", dinp, mean, rstd, inp, weight, dbias, N, C)
	for n := 0; n < N; n++ {
		m, s := mean[n], rstd[n]
		var gMean, gxMean float32
		for c := 0; c < C; c++ {
			xhat := (inp[n*C+c] - m) * s
			g := dout[n*C+c] * weight[c]
			gMean += g
			gxMean += g * xhat
		}
		gMean /= float32(C)
		gxMean /= float32(C)
		for c := 0; c < C; c++ {
			xhat := (inp[n*C+c] - m) * s
			g := dout[n*C+c] * weight[c]
			dbias[c] += dout[n*C+c]
			dweight[c] += dout[n*C+c] * xhat
			dinp[n*C+c] += (g - gMean - xhat*gxMean) * s
		}
	}
}

func layerNormBackwardInput(dinp, dout, inp, weight, mean, rstd []float32, lo, hi, C int) {
	weight = weight[:C]
	for n := lo; n < hi; n++ {
		x := inp[n*C : (n+1)*C]
		d := dout[n*C : (n+1)*C]
		di := dinp[n*C : (n+1)*C]
		m, s := mean[n], rstd[n]
		var gMean, gxMean float32
		for c, v := range x {
			g := d[c] * weight[c]
			gMean += g
			gxMean += g * (v - m) * s
		}
		gMean /= float32(C)
		gxMean /= float32(C)
		for c, v := range x {
			xhat := (v - m) * s
			di[c] += (d[c]*weight[c] - gMean - xhat*gxMean) * s
		}
	}
}

func checkLayerNorm(kernel string, out, mean, rstd, inp, weight, bias []float32, N, C int) {
	checkLen(kernel, "out", out, N*C)
	checkLen(kernel, "inp", inp, N*C)
	checkLen(kernel, "mean", mean, N)
	checkLen(kernel, "rstd", rstd, N)
	checkLen(kernel, "weight", weight, C)
	checkLen(kernel, "bias", bias, C)
}
