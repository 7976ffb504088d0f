package tensor

import (
	"fmt"
	"math"
)

// The kernels in this file are faster versions of kernels elsewhere in the
// package. They cover the steps outside the matrix products that show in
// the profile of a GPT-2 training step: the softmax and cross-entropy over
// the vocabulary, GELU and the optimizer update. Each uses expShifted in
// place of math.Exp and math.Tanh, merges passes over memory where it can,
// and splits its work across GOMAXPROCS goroutines. Each names the
// reference kernel it must agree with, and fused_test.go checks that.

// CrossEntropyForwardBackward is CrossEntropyForward followed by
// CrossEntropyBackward in one pass over each row of logits:
//
//	losses[n]    = log(sum_v exp(logits[n,v] - m)) - (logits[n,targets[n]] - m),  m = max_v logits[n,:]
//	dlogits[n,v] = dloss * (softmax(logits[n,:])[v] - [v == targets[n]])
//
// A negative target marks a row that is not scored: its loss is 0 and its
// dlogits row is zero. Shapes: losses [N] and dlogits [N,V] (overwritten;
// dlogits may alias logits), logits [N,V], targets [N]. The row sums of
// exponentials are kept in float64 as in CrossEntropyForward. It panics on
// a target >= V.
func CrossEntropyForwardBackward(losses, dlogits, logits []float32, targets []int32, dloss float32, N, V int) {
	checkCrossEntropy("CrossEntropyForwardBackward", losses, dlogits, logits, targets, N, V)
	parallelFor(N, 8, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			crossEntropyRowFused(losses, dlogits[n*V:(n+1)*V], logits[n*V:(n+1)*V], targets[n], dloss, n)
		}
	})
}

func crossEntropyRowFused(losses, d, x []float32, target int32, dloss float32, n int) {
	if target < 0 {
		losses[n] = 0
		clear(d)
		return
	}
	maxVal := maxFloat32(x)
	xt := x[target]

	// Sum in blocks of 256 float32 terms, each added to a float64 total,
	// which keeps the rounding of a 50k-term sum near float64's while the
	// exponentials run eight lanes at a time.
	var sum float64
	for lo := 0; lo < len(x); lo += 256 {
		hi := min(lo+256, len(x))
		sum += float64(expShifted(d[lo:hi], x[lo:hi], maxVal))
	}

	scaleFloat32(d, dloss*float32(1/sum))
	d[target] -= dloss
	losses[n] = float32(math.Log(sum) - float64(xt-maxVal))
}

// geluBlock is the number of elements GeluForwardFast and GeluBackwardFast
// pass to expShifted at a time, through a buffer on the stack.
const geluBlock = 256

// GeluForwardFast is GeluForward (gelu_new) computed through the identity
// 0.5*(1+tanh(u)) = 1/(1+exp(-2u)), with the exponentials eight lanes at a
// time:
//
//	out = x / (1 + exp(-2u)),  u = sqrt(2/pi) * (x + 0.044715 x^3)
//
// Shapes: out [n] (overwritten), inp [n]. Its reference is GeluForwardRef.
func GeluForwardFast(out, inp []float32, n int) {
	checkLen("GeluForwardFast", "out", out, n)
	checkLen("GeluForwardFast", "inp", inp, n)
	parallelFor(n, 4096, func(lo, hi int) {
		if head := (hi - lo) &^ 7; hasExpfAVX2 && head > 0 {
			geluForwardAVX2(&out[lo], &inp[lo], head)
			lo += head
		}
		var e [geluBlock]float32
		for blk := lo; blk < hi; blk += geluBlock {
			in := inp[blk:min(blk+geluBlock, hi)]
			o := out[blk : blk+len(in)]
			geluNegTwoU(e[:len(in)], in)
			expShifted(e[:len(in)], e[:len(in)], 0)
			for i, x := range in {
				o[i] = x / (1 + e[i])
			}
		}
	})
}

// geluNegTwoU sets dst[i] = -2u for x = src[i], the argument of the
// exponential in GeluForwardFast.
func geluNegTwoU(dst, src []float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = -2 * geluScale * (x + geluCubic*x*x*x)
	}
}

// GeluBackwardFast is GeluBackward with tanh(u) = 2/(1+exp(-2u)) - 1 and
// the exponentials eight lanes at a time. It accumulates the gradient of
// gelu_new into dinp. Shapes: dinp [n], inp [n] (the forward's input),
// dout [n]. Its reference is GeluBackwardRef.
func GeluBackwardFast(dinp, inp, dout []float32, n int) {
	checkLen("GeluBackwardFast", "dinp", dinp, n)
	checkLen("GeluBackwardFast", "inp", inp, n)
	checkLen("GeluBackwardFast", "dout", dout, n)
	parallelFor(n, 4096, func(lo, hi int) {
		if head := (hi - lo) &^ 7; hasExpfAVX2 && head > 0 {
			geluBackwardAVX2(&dinp[lo], &inp[lo], &dout[lo], head)
			lo += head
		}
		var e [geluBlock]float32
		for blk := lo; blk < hi; blk += geluBlock {
			in := inp[blk:min(blk+geluBlock, hi)]
			di, do := dinp[blk:blk+len(in)], dout[blk:blk+len(in)]
			geluNegTwoU(e[:len(in)], in)
			expShifted(e[:len(in)], e[:len(in)], 0)
			for i, x := range in {
				th := 2/(1+e[i]) - 1
				grad := 0.5*(1+th) + 0.5*x*(1-th*th)*geluScale*(1+3*geluCubic*x*x)
				di[i] += grad * do[i]
			}
		}
	})
}

// AdamWStep holds the scalars of one AdamW update (Loshchilov and Hutter,
// "Decoupled Weight Decay Regularization", 2019) as torch.optim.AdamW
// (PyTorch 1.13) applies it to one tensor.
type AdamWStep struct {
	// LR is the learning rate.
	LR float64
	// Beta1 and Beta2 are the moment decay rates, such as 0.9 and 0.95.
	Beta1, Beta2 float64
	// Eps is added to the root of the second moment, such as 1e-8.
	Eps float64
	// Decay multiplies the parameter before the update: 1 - LR*weight_decay,
	// or 1 for tensors without weight decay.
	Decay float64
	// Step is the 1-based number of this update, for the bias corrections
	// 1 - Beta1^Step and 1 - Beta2^Step. It must be at least 1.
	Step int
}

// AdamWUpdate applies one AdamW step to a parameter tensor in place:
//
//	m     = beta1*m + (1-beta1)*g
//	v     = beta2*v + (1-beta2)*g^2
//	theta = decay*theta - lr * (m/(1-beta1^t)) / (sqrt(v/(1-beta2^t)) + eps)
//
// Shapes: data, m and v [n] (all updated), grad [n]. It computes in float32
// with the scalars folded once per call and splits the tensor across
// GOMAXPROCS goroutines. Its reference is AdamWUpdateRef, which computes in
// float64.
func AdamWUpdate(data, grad, m, v []float32, s AdamWStep) {
	n := checkAdamW("AdamWUpdate", data, grad, m, v, s)
	b1, b2 := float32(s.Beta1), float32(s.Beta2)
	c1, c2 := float32(1-s.Beta1), float32(1-s.Beta2)
	decay, eps := float32(s.Decay), float32(s.Eps)
	// lr*m/bias1 / (sqrt(v/bias2)+eps) = stepSize*m / (sqrt(v)*invSqrtBias2 + eps).
	bias1 := 1 - math.Pow(s.Beta1, float64(s.Step))
	bias2 := 1 - math.Pow(s.Beta2, float64(s.Step))
	stepSize := float32(s.LR / bias1)
	invSqrtBias2 := float32(1 / math.Sqrt(bias2))

	k := adamwConsts{b1, c1, b2, c2, decay, eps, stepSize, invSqrtBias2}
	parallelFor(n, 1<<14, func(lo, hi int) {
		d, g, mm, vv := data[lo:hi], grad[lo:hi], m[lo:hi], v[lo:hi]
		if head := adamwSIMD(d, g, mm, vv, &k); head > 0 {
			d, g, mm, vv = d[head:], g[head:], mm[head:], vv[head:]
		}
		// The explicit conversions round each product, so that the
		// compiler does not fuse them into multiply-adds (it does at
		// GOAMD64=v3) and the bits match the assembly loop's.
		for j, gj := range g {
			mj := float32(b1*mm[j]) + float32(c1*gj)
			vj := float32(b2*vv[j]) + float32(c2*gj*gj)
			mm[j], vv[j] = mj, vj
			denom := float32(float32(math.Sqrt(float64(vj)))*invSqrtBias2) + eps
			d[j] = float32(d[j]*decay) - stepSize*mj/denom
		}
	})
}

// adamwConsts are AdamWUpdate's scalars in the order the assembly loop
// reads them.
type adamwConsts struct {
	b1, c1, b2, c2, decay, eps, stepSize, invSqrtBias2 float32
}

// AdamWUpdateRef is the reference for AdamWUpdate: the formula term by
// term in float64 on one goroutine, as finetune.AdamW computes it.
func AdamWUpdateRef(data, grad, m, v []float32, s AdamWStep) {
	checkAdamW("AdamWUpdateRef", data, grad, m, v, s)
	bias1 := 1 - math.Pow(s.Beta1, float64(s.Step))
	bias2 := 1 - math.Pow(s.Beta2, float64(s.Step))
	for j, g32 := range grad[:len(data)] {
		g := float64(g32)
		mj := s.Beta1*float64(m[j]) + (1-s.Beta1)*g
		vj := s.Beta2*float64(v[j]) + (1-s.Beta2)*g*g
		m[j], v[j] = float32(mj), float32(vj)
		theta := float64(data[j]) * s.Decay
		theta -= s.LR * (mj / bias1) / (math.Sqrt(vj/bias2) + s.Eps)
		data[j] = float32(theta)
	}
}

func checkAdamW(kernel string, data, grad, m, v []float32, s AdamWStep) int {
	n := len(data)
	if len(grad) != n || len(m) != n || len(v) != n {
		panic(fmt.Sprintf("tensor.%s: data, grad, m and v have %d, %d, %d and %d elements, want equal", kernel, n, len(grad), len(m), len(v)))
	}
	if s.Step < 1 {
		panic(fmt.Sprintf("tensor.%s: step %d, want at least 1", kernel, s.Step))
	}
	return n
}

// SumSquares returns sum_i x[i]^2, accumulated in float64 and split across
// GOMAXPROCS goroutines, for the global gradient norm. The split changes
// the summation order, so results can differ from a serial sum in the last
// float64 bits.
func SumSquares(x []float32) float64 {
	const chunk = 1 << 16
	parts := make([]float64, (len(x)+chunk-1)/chunk)
	parallelFor(len(parts), 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var s float64
			for _, v := range x[c*chunk : min((c+1)*chunk, len(x))] {
				s += float64(v) * float64(v)
			}
			parts[c] = s
		}
	})
	var total float64
	for _, p := range parts {
		total += p
	}
	return total
}
