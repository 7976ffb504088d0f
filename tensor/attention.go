package tensor

import (
	"fmt"
	"math"
)

// AttentionForward computes GPT-2's causal multi-head self-attention from
// the packed projections qkv, where
// qkv[b,t,0:C] is the query, qkv[b,t,C:2C] the key and qkv[b,t,2C:3C] the
// value, each split into NH heads of HS = C/NH channels. For each batch
// row b, head h and positions t2 <= t:
//
//	s[t,t2]           = q[b,t,h] . k[b,t2,h] / sqrt(HS)
//	att[b,h,t,t2]     = exp(s[t,t2]) / sum_{t3<=t} exp(s[t,t3])   (0 for t2 > t)
//	out[b,t,h*HS+i]   = sum_{t2<=t} att[b,h,t,t2] * v[b,t2,h*HS+i]
//
// Shapes: out [B,T,C] and att [B,NH,T,T] (both overwritten; att is kept for
// the backward), qkv [B,T,3C]. Work is split over the B*NH (b,h) pairs, each
// running its two products through GemmSerial.
func AttentionForward(out, att, qkv []float32, B, T, C, NH int) {
	HS := checkAttention("AttentionForward", out, att, qkv, B, T, C, NH)
	scale := float32(1 / math.Sqrt(float64(HS)))
	C3 := 3 * C

	parallelFor(B*NH, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/NH, bh%NH
			q := qkv[b*T*C3+h*HS:]
			k := qkv[b*T*C3+C+h*HS:]
			v := qkv[b*T*C3+2*C+h*HS:]
			p := att[bh*T*T : (bh+1)*T*T]

			// Scores for all (t, t2). The entries above the diagonal are
			// computed and then masked. This wastes about half of the
			// product but keeps it one call.
			GemmSerial(false, true, T, T, HS, q, C3, k, C3, p, T, false)
			for t := 0; t < T; t++ {
				causalSoftmaxRow(p[t*T:(t+1)*T], t, scale)
			}
			GemmSerial(false, false, T, HS, T, p, T, v, C3, out[b*T*C+h*HS:], C, false)
		}
	})
}

// causalSoftmaxRow replaces row[0:t+1] by softmax(scale*row[0:t+1]), with
// the maximum subtracted for stability, and zeroes row[t+1:].
func causalSoftmaxRow(row []float32, t int, scale float32) {
	maxVal := float32(math.Inf(-1))
	for _, s := range row[:t+1] {
		if s*scale > maxVal {
			maxVal = s * scale
		}
	}
	var sum float32
	for i, s := range row[:t+1] {
		e := float32(math.Exp(float64(s*scale - maxVal)))
		row[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range row[:t+1] {
		row[i] *= inv
	}
	clear(row[t+1:])
}

// AttentionBackward differentiates AttentionForward. With P = att[b,h]
// ([T,T]) and dO, Q, K, V the per-head [T,HS] slices of dout and qkv, it
// accumulates into dqkv
//
//	dV += P^T dO
//	dP  = dO V^T
//	dS  = P * (dP - rowsum(P * dP)) / sqrt(HS)   (softmax backward, elementwise *)
//	dQ += dS K
//	dK += dS^T Q
//
// Shapes: dqkv [B,T,3C] (accumulated), datt [B,NH,T,T] (scratch,
// overwritten), dout [B,T,C], qkv [B,T,3C] and att [B,NH,T,T] from the
// forward.
func AttentionBackward(dqkv, datt, dout, qkv, att []float32, B, T, C, NH int) {
	HS := checkAttention("AttentionBackward", dout, att, qkv, B, T, C, NH)
	checkLen("AttentionBackward", "dqkv", dqkv, B*T*3*C)
	checkLen("AttentionBackward", "datt", datt, B*NH*T*T)
	scale := float32(1 / math.Sqrt(float64(HS)))
	C3 := 3 * C

	parallelFor(B*NH, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/NH, bh%NH
			base := b*T*C3 + h*HS
			q, k, v := qkv[base:], qkv[base+C:], qkv[base+2*C:]
			dq, dk, dv := dqkv[base:], dqkv[base+C:], dqkv[base+2*C:]
			do := dout[b*T*C+h*HS:]
			p := att[bh*T*T : (bh+1)*T*T]
			ds := datt[bh*T*T : (bh+1)*T*T]

			GemmSerial(true, false, T, HS, T, p, T, do, C, dv, C3, true)
			GemmSerial(false, true, T, T, HS, do, C, v, C3, ds, T, false)
			for t := 0; t < T; t++ {
				pr := p[t*T : t*T+t+1]
				dr := ds[t*T : (t+1)*T]
				var dot float32
				for i, pv := range pr {
					dot += pv * dr[i]
				}
				for i, pv := range pr {
					dr[i] = pv * (dr[i] - dot) * scale
				}
				clear(dr[t+1:])
			}
			GemmSerial(false, false, T, HS, T, ds, T, k, C3, dq, C3, true)
			GemmSerial(true, false, T, HS, T, ds, T, q, C3, dk, C3, true)
		}
	})
}

// AttentionForwardRef is the reference for AttentionForward: the llm.c
// loops over (b, t, h) on one goroutine.
func AttentionForwardRef(out, att, qkv []float32, B, T, C, NH int) {
	HS := checkAttention("AttentionForwardRef", out, att, qkv, B, T, C, NH)
	scale := float32(1 / math.Sqrt(float64(HS)))
	C3 := 3 * C
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			for h := 0; h < NH; h++ {
				q := qkv[(b*T+t)*C3+h*HS:]
				row := att[((b*NH+h)*T+t)*T : ((b*NH+h)*T+t+1)*T]
				maxVal := float32(math.Inf(-1))
				for t2 := 0; t2 <= t; t2++ {
					k := qkv[(b*T+t2)*C3+C+h*HS:]
					var s float32
					for i := 0; i < HS; i++ {
						s += q[i] * k[i]
					}
					s *= scale
					row[t2] = s
					maxVal = max(maxVal, s)
				}
				var sum float32
				for t2 := 0; t2 <= t; t2++ {
					row[t2] = float32(math.Exp(float64(row[t2] - maxVal)))
					sum += row[t2]
				}
				for t2 := 0; t2 < T; t2++ {
					if t2 <= t {
						row[t2] /= sum
					} else {
						row[t2] = 0
					}
				}
				o := out[(b*T+t)*C+h*HS : (b*T+t)*C+(h+1)*HS]
				clear(o)
				for t2 := 0; t2 <= t; t2++ {
					v := qkv[(b*T+t2)*C3+2*C+h*HS:]
					for i := range o {
						o[i] += row[t2] * v[i]
					}
				}
			}
		}
	}
}

// AttentionBackwardRef is the reference for AttentionBackward: the llm.c
// loops on one goroutine, with datt used as scratch for dP.
func AttentionBackwardRef(dqkv, datt, dout, qkv, att []float32, B, T, C, NH int) {
	HS := checkAttention("AttentionBackwardRef", dout, att, qkv, B, T, C, NH)
	scale := float32(1 / math.Sqrt(float64(HS)))
	C3 := 3 * C
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			for h := 0; h < NH; h++ {
				row := att[((b*NH+h)*T+t)*T:]
				drow := datt[((b*NH+h)*T+t)*T:]
				do := dout[(b*T+t)*C+h*HS:]

				// out = att @ v: gradients of att and v.
				for t2 := 0; t2 <= t; t2++ {
					v := qkv[(b*T+t2)*C3+2*C+h*HS:]
					dv := dqkv[(b*T+t2)*C3+2*C+h*HS:]
					var s float32
					for i := 0; i < HS; i++ {
						s += v[i] * do[i]
						dv[i] += row[t2] * do[i]
					}
					drow[t2] = s
				}

				// Softmax backward, then the scaled dot product.
				var dot float32
				for t2 := 0; t2 <= t; t2++ {
					dot += row[t2] * drow[t2]
				}
				q := qkv[(b*T+t)*C3+h*HS:]
				dq := dqkv[(b*T+t)*C3+h*HS:]
				for t2 := 0; t2 <= t; t2++ {
					ds := row[t2] * (drow[t2] - dot) * scale
					k := qkv[(b*T+t2)*C3+C+h*HS:]
					dk := dqkv[(b*T+t2)*C3+C+h*HS:]
					for i := 0; i < HS; i++ {
						dq[i] += ds * k[i]
						dk[i] += ds * q[i]
					}
				}
			}
		}
	}
}

func checkAttention(kernel string, out, att, qkv []float32, B, T, C, NH int) int {
	if NH <= 0 || C%NH != 0 {
		panic(fmt.Sprintf("tensor.%s: C=%d is not divisible by NH=%d", kernel, C, NH))
	}
	checkLen(kernel, "out", out, B*T*C)
	checkLen(kernel, "att", att, B*NH*T*T)
	checkLen(kernel, "qkv", qkv, B*T*3*C)
	return C / NH
}
