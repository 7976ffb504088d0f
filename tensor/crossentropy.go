package tensor

import (
	"fmt"
	"math"
)

// CrossEntropyForward computes a softmax over each row of logits and the
// cross-entropy against the target class:
//
//	probs[n,v] = exp(logits[n,v] - max_v logits[n,:]) / sum_u exp(logits[n,u] - max_v logits[n,:])
//	losses[n]  = -log probs[n, targets[n]]
//
// A negative target (such as -100, PyTorch's ignore_index) marks a row that
// is not scored: its loss is 0. Shapes: losses [N] and probs [N,V]
// (overwritten), logits [N,V], targets [N]. probs may alias logits. It panics
// on a target >= V.
func CrossEntropyForward(losses, probs, logits []float32, targets []int32, N, V int) {
	checkCrossEntropy("CrossEntropyForward", losses, probs, logits, targets, N, V)
	parallelFor(N, 8, func(lo, hi int) {
		crossEntropyRows(losses, probs, logits, targets, lo, hi, V)
	})
}

// CrossEntropyForwardRef is the reference for CrossEntropyForward: one
// goroutine, math.Exp and a float64 sum.
func CrossEntropyForwardRef(losses, probs, logits []float32, targets []int32, N, V int) {
	checkCrossEntropy("CrossEntropyForwardRef", losses, probs, logits, targets, N, V)
	for n := 0; n < N; n++ {
		x := logits[n*V : (n+1)*V]
		p := probs[n*V : (n+1)*V]
		maxVal := x[0]
		for _, v := range x {
			maxVal = max(maxVal, v)
		}
		var sum float64
		for i, v := range x {
			e := math.Exp(float64(v - maxVal))
			p[i] = float32(e)
			sum += e
		}
		inv := float32(1 / sum)
		for i := range p {
			p[i] *= inv
		}
		if targets[n] < 0 {
			losses[n] = 0
			continue
		}
		losses[n] = float32(math.Log(sum) - float64(x[targets[n]]-maxVal))
	}
}

func crossEntropyRows(losses, probs, logits []float32, targets []int32, lo, hi, V int) {
	for n := lo; n < hi; n++ {
		x := logits[n*V : (n+1)*V]
		p := probs[n*V : (n+1)*V]
		maxVal := maxFloat32(x)
		// Sum in float64 per block of 256 terms: with V in the tens of
		// thousands a float32 sum of exponentials loses digits that the
		// loss then shows.
		var sum float64
		for lo := 0; lo < len(x); lo += 256 {
			hi := min(lo+256, len(x))
			sum += float64(expShifted(p[lo:hi], x[lo:hi], maxVal))
		}
		scaleFloat32(p, float32(1/sum))
		target := targets[n]
		if target < 0 {
			losses[n] = 0
			continue
		}
		// -log p[target] = log(sum) - (x[target] - max), which stays finite
		// when p[target] underflows to zero.
		losses[n] = float32(math.Log(sum) - float64(x[target]-maxVal))
	}
}

// CrossEntropyBackward differentiates CrossEntropyForward composed with a
// weighted sum of the losses, loss = dloss * sum_n losses[n] (dloss = 1/count
// for a mean). It overwrites
//
//	dlogits[n,v] = dloss * (probs[n,v] - [v == targets[n]])
//
// and writes zeros for rows with a negative target. Shapes: dlogits [N,V]
// (overwritten, may alias probs), probs [N,V] from the forward, targets [N].
func CrossEntropyBackward(dlogits, probs []float32, targets []int32, dloss float32, N, V int) {
	checkLen("CrossEntropyBackward", "dlogits", dlogits, N*V)
	checkLen("CrossEntropyBackward", "probs", probs, N*V)
	parallelFor(N, 8, func(lo, hi int) {
		CrossEntropyBackwardRef(dlogits[lo*V:hi*V], probs[lo*V:hi*V], targets[lo:hi], dloss, hi-lo, V)
	})
}

// CrossEntropyBackwardRef is the reference for CrossEntropyBackward (one
// goroutine).
func CrossEntropyBackwardRef(dlogits, probs []float32, targets []int32, dloss float32, N, V int) {
	for n := 0; n < N; n++ {
		d := dlogits[n*V : (n+1)*V]
		p := probs[n*V : (n+1)*V]
		target := targets[n]
		if target < 0 {
			clear(d)
			continue
		}
		for i, pv := range p {
			d[i] = dloss * pv
		}
		d[target] -= dloss
	}
}

func checkCrossEntropy(kernel string, losses, probs, logits []float32, targets []int32, N, V int) {
	checkLen(kernel, "losses", losses, N)
	checkLen(kernel, "probs", probs, N*V)
	checkLen(kernel, "logits", logits, N*V)
	if len(targets) < N {
		panic(fmt.Sprintf("tensor.%s: %d targets for %d rows", kernel, len(targets), N))
	}
	for n, t := range targets[:N] {
		if int(t) >= V {
			panic(fmt.Sprintf("tensor.%s: target %d at row %d is outside the vocabulary [0,%d)", kernel, t, n, V))
		}
	}
}
