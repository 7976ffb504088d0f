package tensor

import (
	"fmt"
	"math"
)

// Grouped-query attention (Ainslie et al. 2023, "GQA: Training Generalized
// Multi-Query Transformer Models from Multi-Head Checkpoints"), as
// transformers v4 LlamaAttention computes it with repeat_kv: NKV key/value
// heads each serve NH/NKV consecutive query heads, so query head h reads
// key/value head h/(NH/NKV). NKV == NH is ordinary multi-head attention.
//
// The packed projection qkv has, per row (b,t), L = (NH+2*NKV)*HS
// channels: NH query heads, then NKV key heads, then NKV value heads, each
// HS wide. This is the output of one matrix product with the q_proj,
// k_proj and v_proj weights stacked in that order.

// AttentionGQAForward computes causal grouped-query self-attention. For
// batch row b, query head h with key/value head g = h/(NH/NKV), and
// positions t2 <= t:
//
//	s[t,t2]         = q[b,t,h] . k[b,t2,g] / sqrt(HS)
//	att[b,h,t,t2]   = exp(s[t,t2]) / sum_{t3<=t} exp(s[t,t3])   (0 for t2 > t)
//	out[b,t,h*HS+i] = sum_{t2<=t} att[b,h,t,t2] * v[b,t2,g*HS+i]
//
// Shapes: out [B,T,NH*HS] and att [B,NH,T,T] (both overwritten; att is kept
// for the backward), qkv [B,T,L]. Work is split over the B*NH (b,h) pairs.
func AttentionGQAForward(out, att, qkv []float32, B, T, NH, NKV, HS int) {
	L := checkAttentionGQA("AttentionGQAForward", out, att, qkv, B, T, NH, NKV, HS)
	scale := float32(1 / math.Sqrt(float64(HS)))
	C, rep := NH*HS, NH/NKV

	parallelFor(B*NH, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/NH, bh%NH
			g := h / rep
			base := b * T * L
			headForward(out[b*T*C+h*HS:], C, att[bh*T*T:(bh+1)*T*T], qkv[base+h*HS:], qkv[base+(NH+g)*HS:], qkv[base+(NH+NKV+g)*HS:], L, T, HS, scale)
		}
	})
}

// AttentionGQABackward differentiates AttentionGQAForward. With P =
// att[b,h] ([T,T]) and dO, Q the per-head [T,HS] slices of dout and qkv,
// and K, V those of the shared head g, it accumulates into dqkv
//
//	dV_g += P^T dO          (summed over the NH/NKV query heads of g)
//	dP    = dO V_g^T
//	dS    = P * (dP - rowsum(P * dP)) / sqrt(HS)   (elementwise *)
//	dQ_h += dS K_g
//	dK_g += dS^T Q_h        (summed over the query heads of g)
//
// Shapes: dqkv [B,T,L] (accumulated), datt [B,NH,T,T] (scratch,
// overwritten), dout [B,T,NH*HS], qkv [B,T,L] and att [B,NH,T,T] from the
// forward. Work is split over the B*NKV (b,g) groups, so that no two
// goroutines add into the same dK_g or dV_g.
func AttentionGQABackward(dqkv, datt, dout, qkv, att []float32, B, T, NH, NKV, HS int) {
	L := checkAttentionGQA("AttentionGQABackward", dout, att, qkv, B, T, NH, NKV, HS)
	checkLen("AttentionGQABackward", "dqkv", dqkv, B*T*L)
	checkLen("AttentionGQABackward", "datt", datt, B*NH*T*T)
	scale := float32(1 / math.Sqrt(float64(HS)))
	C, rep := NH*HS, NH/NKV

	parallelFor(B*NKV, 1, func(lo, hi int) {
		for bg := lo; bg < hi; bg++ {
			b, g := bg/NKV, bg%NKV
			k, v := qkv[b*T*L+(NH+g)*HS:], qkv[b*T*L+(NH+NKV+g)*HS:]
			dk, dv := dqkv[b*T*L+(NH+g)*HS:], dqkv[b*T*L+(NH+NKV+g)*HS:]
			for h := g * rep; h < (g+1)*rep; h++ {
				bh := b*NH + h
				headBackward(dqkv[b*T*L+h*HS:], dk, dv, qkv[b*T*L+h*HS:], k, v, L,
					dout[b*T*C+h*HS:], C, att[bh*T*T:(bh+1)*T*T], datt[bh*T*T:(bh+1)*T*T], T, HS, scale)
			}
		}
	})
}

// AttentionGQAForwardRef is the reference for AttentionGQAForward: plain
// loops over (b, t, h) on one goroutine, with float64 sums.
func AttentionGQAForwardRef(out, att, qkv []float32, B, T, NH, NKV, HS int) {
	L := checkAttentionGQA("AttentionGQAForwardRef", out, att, qkv, B, T, NH, NKV, HS)
	scale := 1 / math.Sqrt(float64(HS))
	C, rep := NH*HS, NH/NKV
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			for h := 0; h < NH; h++ {
				g := h / rep
				q := qkv[(b*T+t)*L+h*HS:]
				row := att[((b*NH+h)*T+t)*T : ((b*NH+h)*T+t+1)*T]
				scores := make([]float64, t+1)
				maxVal := math.Inf(-1)
				for t2 := 0; t2 <= t; t2++ {
					k := qkv[(b*T+t2)*L+(NH+g)*HS:]
					var s float64
					for i := 0; i < HS; i++ {
						s += float64(q[i]) * float64(k[i])
					}
					scores[t2] = s * scale
					maxVal = max(maxVal, scores[t2])
				}
				var sum float64
				for t2 := range scores {
					scores[t2] = math.Exp(scores[t2] - maxVal)
					sum += scores[t2]
				}
				clear(row)
				for t2 := range scores {
					row[t2] = float32(scores[t2] / sum)
				}
				o := out[(b*T+t)*C+h*HS : (b*T+t)*C+(h+1)*HS]
				for i := range o {
					var acc float64
					for t2 := 0; t2 <= t; t2++ {
						acc += scores[t2] / sum * float64(qkv[(b*T+t2)*L+(NH+NKV+g)*HS+i])
					}
					o[i] = float32(acc)
				}
			}
		}
	}
}

// AttentionGQABackwardRef is the reference for AttentionGQABackward: plain
// loops on one goroutine, with datt used as scratch for dP.
func AttentionGQABackwardRef(dqkv, datt, dout, qkv, att []float32, B, T, NH, NKV, HS int) {
	L := checkAttentionGQA("AttentionGQABackwardRef", dout, att, qkv, B, T, NH, NKV, HS)
	scale := float32(1 / math.Sqrt(float64(HS)))
	C, rep := NH*HS, NH/NKV
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			for h := 0; h < NH; h++ {
				g := h / rep
				row := att[((b*NH+h)*T+t)*T:]
				drow := datt[((b*NH+h)*T+t)*T:]
				do := dout[(b*T+t)*C+h*HS:]

				// out = att @ v: gradients of att and v.
				for t2 := 0; t2 <= t; t2++ {
					v := qkv[(b*T+t2)*L+(NH+NKV+g)*HS:]
					dv := dqkv[(b*T+t2)*L+(NH+NKV+g)*HS:]
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
				q := qkv[(b*T+t)*L+h*HS:]
				dq := dqkv[(b*T+t)*L+h*HS:]
				for t2 := 0; t2 <= t; t2++ {
					ds := row[t2] * (drow[t2] - dot) * scale
					k := qkv[(b*T+t2)*L+(NH+g)*HS:]
					dk := dqkv[(b*T+t2)*L+(NH+g)*HS:]
					for i := 0; i < HS; i++ {
						dq[i] += ds * k[i]
						dk[i] += ds * q[i]
					}
				}
			}
		}
	}
}

// checkAttentionGQA panics on inconsistent sizes and returns the packed row
// length L = (NH+2*NKV)*HS.
func checkAttentionGQA(kernel string, out, att, qkv []float32, B, T, NH, NKV, HS int) int {
	if NH <= 0 || NKV <= 0 || HS <= 0 || NH%NKV != 0 {
		panic(fmt.Sprintf("tensor.%s: NH=%d query heads is not a positive multiple of NKV=%d key/value heads (HS=%d)", kernel, NH, NKV, HS))
	}
	L := (NH + 2*NKV) * HS
	checkLen(kernel, "out", out, B*T*NH*HS)
	checkLen(kernel, "att", att, B*NH*T*T)
	checkLen(kernel, "qkv", qkv, B*T*L)
	return L
}
