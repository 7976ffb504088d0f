package tensor

import (
	"fmt"
	"math"
)

// Rotary position embedding (RoPE; Su et al. 2021, "RoFormer: Enhanced
// Transformer with Rotary Position Embedding") in the rotate-half layout
// of transformers v4 (modeling_llama.py apply_rotary_pos_emb): channel i
// of a head is paired with channel i+HS/2, not with its neighbour i+1 as
// in Meta's and llama2.c's code. HS is the head size and must be even.

// RoPEScaling selects how the rotation frequencies are stretched for
// contexts longer than the model was trained on, following transformers
// v4.45 modeling_rope_utils.py. The zero value means no scaling.
type RoPEScaling struct {
	// Type is "" or "default" (no scaling), "linear" (every frequency
	// divided by Factor) or "llama3" (Llama 3.1's piecewise scaling).
	Type string
	// Factor is the context extension factor; it must be >= 1 for
	// "linear" and "llama3".
	Factor float64
	// LowFreqFactor and HighFreqFactor bound the band that "llama3" blends
	// smoothly: wavelengths longer than OriginalMaxPositions/LowFreqFactor
	// are divided by Factor, shorter than
	// OriginalMaxPositions/HighFreqFactor are kept. Llama 3.1 uses 1 and 4.
	LowFreqFactor, HighFreqFactor float64
	// OriginalMaxPositions is the context length of pretraining (8192 for
	// Llama 3.1), used by "llama3" only.
	OriginalMaxPositions int
}

// RoPEInvFreq returns the HS/2 rotation frequencies (radians per position)
//
//	invFreq[i] = theta^(-2i/HS)
//
// adjusted by scaling, computed in float64. It panics on an odd or
// non-positive HS, a non-positive theta or an unknown or malformed scaling;
// configuration readers validate those first.
func RoPEInvFreq(HS int, theta float64, scaling RoPEScaling) []float64 {
	if HS <= 0 || HS%2 != 0 || theta <= 0 {
		panic(fmt.Sprintf("tensor.RoPEInvFreq: head size %d must be even and positive, theta %g positive", HS, theta))
	}
	inv := make([]float64, HS/2)
	for i := range inv {
		inv[i] = 1 / math.Pow(theta, float64(2*i)/float64(HS))
	}

	switch scaling.Type {
	case "", "default":
	case "linear":
		checkRoPEFactor(scaling)
		for i := range inv {
			inv[i] /= scaling.Factor
		}
	case "llama3":
		checkRoPEFactor(scaling)
		lo, hi, old := scaling.LowFreqFactor, scaling.HighFreqFactor, float64(scaling.OriginalMaxPositions)
		if !(hi > lo) || lo <= 0 || old <= 0 {
			panic(fmt.Sprintf("tensor.RoPEInvFreq: llama3 scaling needs high_freq_factor %g > low_freq_factor %g > 0 and original_max_position_embeddings %g > 0", hi, lo, old))
		}
		lowFreqWavelen, highFreqWavelen := old/lo, old/hi
		for i, f := range inv {
			wavelen := 2 * math.Pi / f
			switch {
			case wavelen < highFreqWavelen:
				// High frequencies are kept.
			case wavelen > lowFreqWavelen:
				inv[i] = f / scaling.Factor
			default:
				// Blend linearly in old/wavelen between the two regimes.
				smooth := (old/wavelen - lo) / (hi - lo)
				inv[i] = (1-smooth)*f/scaling.Factor + smooth*f
			}
		}
	default:
		panic(fmt.Sprintf("tensor.RoPEInvFreq: unknown scaling type %q", scaling.Type))
	}
	return inv
}

func checkRoPEFactor(s RoPEScaling) {
	if !(s.Factor >= 1) {
		panic(fmt.Sprintf("tensor.RoPEInvFreq: %s scaling factor %g must be >= 1", s.Type, s.Factor))
	}
}

// RoPETable fills the rotation table for positions 0..T-1:
//
//	cos[t,i] = cos(t * invFreq[i]),  sin[t,i] = sin(t * invFreq[i])
//
// Shapes: cos and sin [T,HS/2] (overwritten), invFreq [HS/2]. Angles are
// computed in float64 and rounded once.
func RoPETable(cos, sin []float32, invFreq []float64, T int) {
	half := len(invFreq)
	checkLen("RoPETable", "cos", cos, T*half)
	checkLen("RoPETable", "sin", sin, T*half)
	for t := 0; t < T; t++ {
		for i, f := range invFreq {
			s, c := math.Sincos(float64(t) * f)
			cos[t*half+i], sin[t*half+i] = float32(c), float32(s)
		}
	}
}

// RoPEForward rotates, in place, nHeads consecutive heads of HS channels
// at the start of each row of x. Row (b,t) starts at x[(b*T+t)*ld] and
// takes position t. With half = HS/2, for each head and i < half:
//
//	x'[i]      = x[i]*cos[t,i] - x[i+half]*sin[t,i]
//	x'[i+half] = x[i+half]*cos[t,i] + x[i]*sin[t,i]
//
// Shapes: x [B,T,ld] with ld >= nHeads*HS, cos and sin [>=T, HS/2] from
// RoPETable. Rotating q and k heads that sit next to each other in a
// packed projection takes one call.
func RoPEForward(x []float32, ld int, cos, sin []float32, B, T, nHeads, HS int) {
	checkRoPE("RoPEForward", x, ld, cos, sin, B, T, nHeads, HS)
	parallelFor(B*T, 64, func(lo, hi int) {
		ropeRows(x, ld, cos, sin, lo, hi, T, nHeads, HS, 1)
	})
}

// RoPEBackward differentiates RoPEForward. The rotation is orthogonal, so
// the gradient of its input is the gradient of its output rotated by
// the negative angle:
//
//	dx[i]      = dx'[i]*cos[t,i] + dx'[i+half]*sin[t,i]
//	dx[i+half] = dx'[i+half]*cos[t,i] - dx'[i]*sin[t,i]
//
// Unlike most backward kernels it overwrites: dx holds the gradient of
// the rotated heads on entry and that of the unrotated heads on return,
// with the layout of RoPEForward's x.
func RoPEBackward(dx []float32, ld int, cos, sin []float32, B, T, nHeads, HS int) {
	checkRoPE("RoPEBackward", dx, ld, cos, sin, B, T, nHeads, HS)
	parallelFor(B*T, 64, func(lo, hi int) {
		ropeRows(dx, ld, cos, sin, lo, hi, T, nHeads, HS, -1)
	})
}

// ropeRows rotates rows [lo,hi) by the table's angle times sign (+1 or -1).
func ropeRows(x []float32, ld int, cos, sin []float32, lo, hi, T, nHeads, HS int, sign float32) {
	half := HS / 2
	for row := lo; row < hi; row++ {
		t := row % T
		c := cos[t*half : (t+1)*half]
		s := sin[t*half : (t+1)*half]
		for h := 0; h < nHeads; h++ {
			x1 := x[row*ld+h*HS : row*ld+h*HS+half]
			x2 := x[row*ld+h*HS+half : row*ld+(h+1)*HS]
			for i, a := range x1 {
				b := x2[i]
				si := sign * s[i]
				x1[i] = a*c[i] - b*si
				x2[i] = b*c[i] + a*si
			}
		}
	}
}

// RoPEForwardRef is the reference for RoPEForward: it recomputes each
// angle from invFreq in float64 instead of reading a table, on one
// goroutine.
func RoPEForwardRef(x []float32, ld int, invFreq []float64, B, T, nHeads, HS int) {
	if len(invFreq)*2 != HS {
		panic(fmt.Sprintf("tensor.RoPEForwardRef: %d frequencies for head size %d", len(invFreq), HS))
	}
	checkLen("RoPEForwardRef", "x", x, ((B*T-1)*ld + nHeads*HS))
	half := HS / 2
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			for h := 0; h < nHeads; h++ {
				head := x[(b*T+t)*ld+h*HS:]
				for i := 0; i < half; i++ {
					s, c := math.Sincos(float64(t) * invFreq[i])
					a, bb := float64(head[i]), float64(head[i+half])
					head[i] = float32(a*c - bb*s)
					head[i+half] = float32(bb*c + a*s)
				}
			}
		}
	}
}

func checkRoPE(kernel string, x []float32, ld int, cos, sin []float32, B, T, nHeads, HS int) {
	if HS <= 0 || HS%2 != 0 {
		panic(fmt.Sprintf("tensor.%s: head size %d must be even and positive", kernel, HS))
	}
	if ld < nHeads*HS {
		panic(fmt.Sprintf("tensor.%s: row stride %d is shorter than %d heads x %d channels", kernel, ld, nHeads, HS))
	}
	if B*T == 0 {
		return
	}
	checkLen(kernel, "x", x, (B*T-1)*ld+nHeads*HS)
	checkLen(kernel, "cos", cos, T*HS/2)
	checkLen(kernel, "sin", sin, T*HS/2)
}
