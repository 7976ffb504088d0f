package llama2c

import (
	"math"
	"strconv"

	"github.com/adapt-llm/adapt/model/gguf"
)

// referenceLogits runs a plain float64 Llama forward (Hugging Face
// LlamaForCausalLM: RMSNorm, rotate-half RoPE, grouped-query attention,
// SwiGLU) over ids and returns the last position's logits. It is a test
// oracle independent of package model.
func referenceLogits(p gguf.LlamaParams, tensors []gguf.Tensor, ids []int32) []float64 {
	w := map[string][]float32{}
	for _, t := range tensors {
		w[t.Name] = t.Data
	}
	C, HS, NH, NKV, I := p.HiddenSize, p.HeadSize(), p.NumHeads, p.NumKVHeads, p.IntermediateSize
	T := len(ids)
	matvec := func(m []float32, x []float64, rows int) []float64 {
		cols := len(x)
		out := make([]float64, rows)
		for r := range rows {
			var s float64
			for c := range cols {
				s += float64(m[r*cols+c]) * x[c]
			}
			out[r] = s
		}
		return out
	}
	rmsnorm := func(x []float64, g []float32) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		inv := 1 / math.Sqrt(ss/float64(len(x))+p.RMSNormEps)
		out := make([]float64, len(x))
		for i := range x {
			out[i] = x[i] * inv * float64(g[i])
		}
		return out
	}
	rope := func(v []float64, pos int) {
		half := HS / 2
		for h := 0; h < len(v)/HS; h++ {
			for i := range half {
				freq := math.Pow(p.RopeTheta, -float64(2*i)/float64(HS))
				s, c := math.Sincos(float64(pos) * freq)
				a, b := v[h*HS+i], v[h*HS+i+half]
				v[h*HS+i], v[h*HS+i+half] = a*c-b*s, b*c+a*s
			}
		}
	}
	xs := make([][]float64, T)
	for t, id := range ids {
		xs[t] = make([]float64, C)
		for c := range C {
			xs[t][c] = float64(w["model.embed_tokens.weight"][int(id)*C+c])
		}
	}
	for l := range p.NumLayers {
		pre := "model.layers." + strconv.Itoa(l) + "."
		qs, ks, vs := make([][]float64, T), make([][]float64, T), make([][]float64, T)
		for t := range T {
			h := rmsnorm(xs[t], w[pre+"input_layernorm.weight"])
			qs[t] = matvec(w[pre+"self_attn.q_proj.weight"], h, NH*HS)
			ks[t] = matvec(w[pre+"self_attn.k_proj.weight"], h, NKV*HS)
			vs[t] = matvec(w[pre+"self_attn.v_proj.weight"], h, NKV*HS)
			rope(qs[t], t)
			rope(ks[t], t)
		}
		for t := range T {
			att := make([]float64, NH*HS)
			for h := range NH {
				kh := h / (NH / NKV)
				scores := make([]float64, t+1)
				maxS := math.Inf(-1)
				for u := 0; u <= t; u++ {
					var s float64
					for d := range HS {
						s += qs[t][h*HS+d] * ks[u][kh*HS+d]
					}
					scores[u] = s / math.Sqrt(float64(HS))
					maxS = max(maxS, scores[u])
				}
				var sum float64
				for u := range scores {
					scores[u] = math.Exp(scores[u] - maxS)
					sum += scores[u]
				}
				for u := range scores {
					for d := range HS {
						att[h*HS+d] += scores[u] / sum * vs[u][kh*HS+d]
					}
				}
			}
			o := matvec(w[pre+"self_attn.o_proj.weight"], att, C)
			for c := range C {
				xs[t][c] += o[c]
			}
			h := rmsnorm(xs[t], w[pre+"post_attention_layernorm.weight"])
			g := matvec(w[pre+"mlp.gate_proj.weight"], h, I)
			u := matvec(w[pre+"mlp.up_proj.weight"], h, I)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			d := matvec(w[pre+"mlp.down_proj.weight"], g, C)
			for c := range C {
				xs[t][c] += d[c]
			}
		}
	}
	head := w["lm_head.weight"]
	if head == nil {
		head = w["model.embed_tokens.weight"]
	}
	return matvec(head, rmsnorm(xs[T-1], w["model.norm.weight"]), p.VocabSize)
}

// referenceGreedy appends n greedy tokens to ids by full recompute.
func referenceGreedy(p gguf.LlamaParams, tensors []gguf.Tensor, ids []int32, n int) []int32 {
	out := append([]int32{}, ids...)
	for range n {
		logits := referenceLogits(p, tensors, out)
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		out = append(out, int32(best))
	}
	return out
}
