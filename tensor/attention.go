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
// the backward), qkv [B,T,3C]. Work is split over the B*NH (b,h) pairs,
// each computed by headForward, which skips most of the masked half of the
// scores.
func AttentionForward(out, att, qkv []float32, B, T, C, NH int) {
	HS := checkAttention("AttentionForward", out, att, qkv, B, T, C, NH)
	scale := float32(1 / math.Sqrt(float64(HS)))
	C3 := 3 * C

	parallelFor(B*NH, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/NH, bh%NH
			base := b*T*C3 + h*HS
			headForward(out[b*T*C+h*HS:], C, att[bh*T*T:(bh+1)*T*T], qkv[base:], qkv[base+C:], qkv[base+2*C:], C3, T, HS, scale)
		}
	})
}

// headForward runs causal attention for one head: o (row stride ldo)
// receives softmax(scale * q k^T, masked) v, and p [T,T] keeps the
// probabilities. q, k and v are [T,HS] with row stride ld. The products go
// through GemmSerial in blocks of attnBlock query rows, and a block of rows
// ending at r1 multiplies only keys 0..r1-1.
func headForward(o []float32, ldo int, p, q, k, v []float32, ld, T, HS int, scale float32) {
	for r0 := 0; r0 < T; r0 += attnBlock {
		r1 := min(r0+attnBlock, T)
		GemmSerial(false, true, r1-r0, r1, HS, q[r0*ld:], ld, k, ld, p[r0*T:], T, false)
		for t := r0; t < r1; t++ {
			causalSoftmaxRow(p[t*T:(t+1)*T], t, scale)
		}
		GemmSerial(false, false, r1-r0, HS, r1, p[r0*T:], T, v, ld, o[r0*ldo:], ldo, false)
	}
}

// attnBlock is the number of query rows per block in AttentionForward and
// AttentionBackward. Blocks of 64 rows at T = 256 compute 62.5% of the
// full score matrix instead of 100%.
const attnBlock = 64

// causalSoftmaxRow replaces row[0:t+1] by softmax(scale*row[0:t+1]), with
// the maximum subtracted for stability, and zeroes row[t+1:].
func causalSoftmaxRow(row []float32, t int, scale float32) {
	live := row[:t+1]
	scaleFloat32(live, scale)
	inv := 1 / expShifted(live, live, maxFloat32(live))
	scaleFloat32(live, inv)
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
			headBackward(dqkv[base:], dqkv[base+C:], dqkv[base+2*C:], qkv[base:], qkv[base+C:], qkv[base+2*C:], C3,
				dout[b*T*C+h*HS:], C, att[bh*T*T:(bh+1)*T*T], datt[bh*T*T:(bh+1)*T*T], T, HS, scale)
		}
	})
}

// headBackward differentiates headForward: it accumulates into dq, dk and
// dv (row stride ld, like q, k and v) from do (row stride ldo) and the
// probabilities p, using ds [T,T] as scratch. It uses the same row blocks
// as the forward, since rows r0..r1-1 of P and dS are zero from column r1 on.
func headBackward(dq, dk, dv, q, k, v []float32, ld int, do []float32, ldo int, p, ds []float32, T, HS int, scale float32) {
	for r0 := 0; r0 < T; r0 += attnBlock {
		r1 := min(r0+attnBlock, T)
		GemmSerial(true, false, r1, HS, r1-r0, p[r0*T:], T, do[r0*ldo:], ldo, dv, ld, true)
		GemmSerial(false, true, r1-r0, r1, HS, do[r0*ldo:], ldo, v, ld, ds[r0*T:], T, false)
		for t := r0; t < r1; t++ {
			pr := p[t*T : t*T+t+1]
			dr := ds[t*T : t*T+r1]
			var dot float32
			for i, pv := range pr {
				dot += pv * dr[i]
			}
			for i, pv := range pr {
				dr[i] = pv * (dr[i] - dot) * scale
			}
			clear(dr[t+1:])
		}
		GemmSerial(false, false, r1-r0, HS, r1, ds[r0*T:], T, k, ld, dq[r0*ld:], ld, true)
		GemmSerial(true, false, r1, HS, r1-r0, ds[r0*T:], T, q[r0*ld:], ld, dk, ld, true)
	}
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
