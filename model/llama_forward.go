package model

import (
	"fmt"

	"github.com/adapt-llm/adapt/tensor"
)

// llamaActivations holds every buffer of one forward and backward pass for
// a fixed (B,T), allocated once and reused by later calls with the same
// sizes. N = B*T; the other letters are those of llama.go.
type llamaActivations struct {
	B, T int

	cos, sin []float32 // [T,HS/2] RoPE table
	embedded []float32 // [N,C]
	layers   []llamaLayerActs
	branch   []float32 // [N,C] o_proj or down_proj output before the residual add
	normed   []float32 // [N,C] final RMSNorm output
	rstd     []float32 // [N]
	logits   []float32 // [N,V]
	probs    []float32 // [N,V], reused for dlogits in the backward
	losses   []float32 // [N]

	// Backward scratch, shared by all layers.
	dres    []float32 // [N,C] gradient of the residual stream
	dnorm   []float32 // [N,C]
	dqkv    []float32 // [N,L]
	datty   []float32 // [N,NH*HS]
	datt    []float32 // [B,NH,T,T]
	dswi    []float32 // [N,I]
	dgateUp []float32 // [N,2I]
}

type llamaLayerActs struct {
	norm1, rstd1 []float32 // [N,C], [N]
	qkv          []float32 // [N,L] after the biases and RoPE
	att          []float32 // [B,NH,T,T] attention probabilities
	atty         []float32 // [N,NH*HS] attention output before o_proj
	residual2    []float32 // [N,C] input + attention branch
	norm2, rstd2 []float32 // [N,C], [N]
	gateUp       []float32 // [N,2I] gate_proj and up_proj outputs
	swi          []float32 // [N,I] silu(gate) * up
	residual3    []float32 // [N,C] layer output
}

// prepare returns the activation buffers for (B,T), allocating them when
// the sizes differ from the previous call.
func (m *Llama) prepare(B, T int) *llamaActivations {
	if B <= 0 || T <= 0 {
		panic(fmt.Sprintf("model.Llama: batch %d x %d tokens, both must be positive", B, T))
	}
	if T > m.MaxPositions() {
		panic(fmt.Sprintf("model.Llama: sequence length %d exceeds the maximum %d", T, m.MaxPositions()))
	}
	if a := m.acts; a != nil && a.B == B && a.T == T {
		return a
	}

	// NOTE: only one (B,T) is cached, so alternating sizes (training batches
	// and Greedy) reallocates on each switch. Each layer also keeps its
	// attention probabilities, 4*B*NH*T*T bytes, which dominates memory at
	// long T (512 MiB per layer for NH 32 and T 2048).
	cfg := m.Config
	N, C, V, I := B*T, cfg.HiddenSize, cfg.VocabSize, cfg.IntermediateSize
	NH, NKV, HS := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	L := (NH + 2*NKV) * HS
	a := &llamaActivations{
		B: B, T: T,
		cos:      make([]float32, T*HS/2),
		sin:      make([]float32, T*HS/2),
		embedded: make([]float32, N*C),
		branch:   make([]float32, N*C),
		normed:   make([]float32, N*C),
		rstd:     make([]float32, N),
		logits:   make([]float32, N*V),
		probs:    make([]float32, N*V),
		losses:   make([]float32, N),
		dres:     make([]float32, N*C),
		dnorm:    make([]float32, N*C),
		dqkv:     make([]float32, N*L),
		datty:    make([]float32, N*NH*HS),
		datt:     make([]float32, B*NH*T*T),
		dswi:     make([]float32, N*I),
		dgateUp:  make([]float32, N*2*I),
	}
	tensor.RoPETable(a.cos, a.sin, m.invFreq, T)
	a.layers = make([]llamaLayerActs, cfg.NumHiddenLayers)
	for l := range a.layers {
		a.layers[l] = llamaLayerActs{
			norm1: make([]float32, N*C), rstd1: make([]float32, N),
			qkv:       make([]float32, N*L),
			att:       make([]float32, B*NH*T*T),
			atty:      make([]float32, N*NH*HS),
			residual2: make([]float32, N*C),
			norm2:     make([]float32, N*C), rstd2: make([]float32, N),
			gateUp:    make([]float32, N*2*I),
			swi:       make([]float32, N*I),
			residual3: make([]float32, N*C),
		}
	}
	m.acts = a
	return a
}

// Forward runs the model on ids [B,T] (row-major, each in [0,VocabSize))
// and returns the logits [B,T,V]. The returned slice is owned by the model
// and overwritten by the next call. It panics when len(ids) != B*T, T
// exceeds MaxPositions or an id is outside the vocabulary.
func (m *Llama) Forward(ids []int32, B, T int) []float32 {
	if len(ids) != B*T {
		panic(fmt.Sprintf("model.Llama.Forward: %d ids for batch %d x %d", len(ids), B, T))
	}
	a := m.prepare(B, T)
	m.forward(a, ids)
	return a.logits
}

// lmHeadWeight returns the output projection [V,C] and its gradient.
func (m *Llama) lmHeadWeight() (w, grad []float32) {
	if m.lmHead == nil {
		return m.embed.Data, m.embed.Grad
	}
	return m.lmHead.Data, m.lmHead.Grad
}

func (m *Llama) forward(a *llamaActivations, ids []int32) {
	cfg := m.Config
	B, T := a.B, a.T
	N, C, V, I := B*T, cfg.HiddenSize, cfg.VocabSize, cfg.IntermediateSize
	NH, NKV, HS := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	L := (NH + 2*NKV) * HS
	eps := float32(cfg.RMSNormEps)

	embeddingForward(a.embedded, ids, m.embed.Data, V, C)
	residual := a.embedded
	for l := range m.layers {
		ly, la := &m.layers[l], &a.layers[l]

		// Attention: residual2 = residual + o_proj(attn(rope(qkv_proj(norm(residual))))).
		kernels().RMSNormForward(la.norm1, la.rstd1, residual, ly.inputNorm.Data, N, C, eps)
		kernels().LinearForward(la.qkv, la.norm1, ly.qkvW, ly.qkvB, N, C, L)
		m.lora.forward(l, llamaQ, la.qkv, L, la.norm1, N)
		m.lora.forward(l, llamaK, la.qkv[NH*HS:], L, la.norm1, N)
		m.lora.forward(l, llamaV, la.qkv[(NH+NKV)*HS:], L, la.norm1, N)
		kernels().RoPEForward(la.qkv, L, a.cos, a.sin, B, T, NH+NKV, HS)
		kernels().AttentionGQAForward(la.atty, la.att, la.qkv, B, T, NH, NKV, HS)
		kernels().LinearForward(a.branch, la.atty, ly.o.Data, paramData(ly.ob), N, NH*HS, C)
		m.lora.forward(l, llamaO, a.branch, C, la.atty, N)
		kernels().ResidualForward(la.residual2, residual, a.branch, N*C)

		// MLP: residual3 = residual2 + down_proj(silu(gate_proj(x)) * up_proj(x)), x = norm(residual2).
		kernels().RMSNormForward(la.norm2, la.rstd2, la.residual2, ly.postNorm.Data, N, C, eps)
		kernels().LinearForward(la.gateUp, la.norm2, ly.gateUpW, nil, N, C, 2*I)
		m.lora.forward(l, llamaGate, la.gateUp, 2*I, la.norm2, N)
		m.lora.forward(l, llamaUp, la.gateUp[I:], 2*I, la.norm2, N)
		kernels().SwiGLUForward(la.swi, la.gateUp, N, I)
		kernels().LinearForward(a.branch, la.swi, ly.down.Data, nil, N, I, C)
		m.lora.forward(l, llamaDown, a.branch, C, la.swi, N)
		kernels().ResidualForward(la.residual3, la.residual2, a.branch, N*C)
		residual = la.residual3
	}
	kernels().RMSNormForward(a.normed, a.rstd, residual, m.norm.Data, N, C, eps)

	// logits = normed @ lm_head^T.
	w, _ := m.lmHeadWeight()
	kernels().Gemm(false, true, N, V, C, a.normed, C, w, C, a.logits, V, false)
}

func paramData(p *Param) []float32 {
	if p == nil {
		return nil
	}
	return p.Data
}

func paramGrad(p *Param) []float32 {
	if p == nil {
		return nil
	}
	return p.Grad
}

// embeddingForward copies the embedding rows of ids into out [N,C]. It
// panics on an id outside [0,V).
func embeddingForward(out []float32, ids []int32, embed []float32, V, C int) {
	for i, id := range ids {
		if id < 0 || int(id) >= V {
			panic(fmt.Sprintf("model.Llama: token id %d at position %d is outside the vocabulary [0,%d)", id, i, V))
		}
		copy(out[i*C:(i+1)*C], embed[int(id)*C:(int(id)+1)*C])
	}
}

// embeddingBackward differentiates embeddingForward: dembed[ids[i]] +=
// dout[i].
func embeddingBackward(dembed, dout []float32, ids []int32, C int) {
	for i, id := range ids {
		row := dembed[int(id)*C : (int(id)+1)*C]
		for c, d := range dout[i*C : (i+1)*C] {
			row[c] += d
		}
	}
}

// Loss runs the forward pass and returns the mean cross-entropy (nats) of
// the logits at each position against targets [B,T], skipping positions
// whose target is IgnoreIndex. For next-token prediction targets[b,t] is
// ids[b,t+1] and the last position is IgnoreIndex. It returns 0 when every
// target is ignored.
func (m *Llama) Loss(ids, targets []int32, B, T int) float32 {
	a, count := m.lossForward(ids, targets, B, T, false)
	return meanLoss(a.losses, count)
}

// ForwardBackward runs Loss and its backward pass and adds the gradient of
// the returned mean loss to every Param.Grad. Calls accumulate until
// ZeroGrad. Each call weighs its own mean by 1, so to average k
// micro-batches, scale the gradients by 1/k.
func (m *Llama) ForwardBackward(ids, targets []int32, B, T int) float32 {
	defer m.lora.beginPass()()
	a, count := m.lossForward(ids, targets, B, T, true)
	loss := meanLoss(a.losses, count)
	if count == 0 {
		return 0
	}
	m.backward(a, ids, targets, 1/float32(count))
	return loss
}

// lossForward runs the forward pass and the cross-entropy, returning the
// number of scored positions.
func (m *Llama) lossForward(ids, targets []int32, B, T int, withGrad bool) (*llamaActivations, int) {
	if len(ids) != B*T || len(targets) != B*T {
		panic(fmt.Sprintf("model.Llama: %d ids and %d targets for batch %d x %d", len(ids), len(targets), B, T))
	}
	a := m.prepare(B, T)
	m.forward(a, ids)

	count := countScoredTargets("model.Llama", targets, m.Config.VocabSize)
	crossEntropy(a.losses, a.probs, a.logits, targets, count, B*T, m.Config.VocabSize, withGrad)
	return a, count
}

// backward differentiates forward and the mean cross-entropy, in reverse
// order of forward's steps, accumulating into the parameter gradients.
// dloss is 1/count.
func (m *Llama) backward(a *llamaActivations, ids, targets []int32, dloss float32) {
	cfg := m.Config
	B, T := a.B, a.T
	N, C, V, I := B*T, cfg.HiddenSize, cfg.VocabSize, cfg.IntermediateSize
	NH, NKV, HS := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	L := (NH + 2*NKV) * HS

	// Cross-entropy, then the output projection: dlogits overwrites probs;
	// dnormed = dlogits @ W, dW += dlogits^T @ normed.
	w, wGrad := m.lmHeadWeight()
	dlogits := a.probs
	kernels().Gemm(false, false, N, C, V, dlogits, V, w, C, a.dnorm, C, false)
	if m.lora == nil {
		kernels().Gemm(true, false, V, C, N, dlogits, V, a.normed, C, wGrad, C, true)
	}

	// dres carries the gradient of the residual stream. Each residual add
	// passes it unchanged to both inputs, so the branches add into it in
	// place.
	last := a.embedded
	if len(a.layers) > 0 {
		last = a.layers[len(a.layers)-1].residual3
	}
	clear(a.dres)
	kernels().RMSNormBackward(a.dres, m.norm.Grad, a.dnorm, last, m.norm.Data, a.rstd, N, C)

	for l := len(m.layers) - 1; l >= 0; l-- {
		ly, la := &m.layers[l], &a.layers[l]
		residual := a.embedded
		if l > 0 {
			residual = a.layers[l-1].residual3
		}

		// MLP branch, from down_proj back to post_attention_layernorm.
		clear(a.dswi)
		m.linearBackward(a.dswi, ly.down.Grad, nil, a.dres, la.swi, ly.down.Data, N, I, C)
		m.lora.backward(l, llamaDown, a.dswi, a.dres, C, la.swi, N)
		clear(a.dgateUp)
		kernels().SwiGLUBackward(a.dgateUp, a.dswi, la.gateUp, N, I)
		clear(a.dnorm)
		m.linearBackward(a.dnorm, ly.gateUpWGrad, nil, a.dgateUp, la.norm2, ly.gateUpW, N, C, 2*I)
		m.lora.backward(l, llamaGate, a.dnorm, a.dgateUp, 2*I, la.norm2, N)
		m.lora.backward(l, llamaUp, a.dnorm, a.dgateUp[I:], 2*I, la.norm2, N)
		kernels().RMSNormBackward(a.dres, ly.postNorm.Grad, a.dnorm, la.residual2, ly.postNorm.Data, la.rstd2, N, C)

		// Attention branch, from o_proj back to input_layernorm. RoPE's
		// backward turns the gradient of the rotated q and k into that of
		// the projection outputs.
		clear(a.datty)
		m.linearBackward(a.datty, ly.o.Grad, paramGrad(ly.ob), a.dres, la.atty, ly.o.Data, N, NH*HS, C)
		m.lora.backward(l, llamaO, a.datty, a.dres, C, la.atty, N)
		clear(a.dqkv)
		kernels().AttentionGQABackward(a.dqkv, a.datt, a.datty, la.qkv, la.att, B, T, NH, NKV, HS)
		kernels().RoPEBackward(a.dqkv, L, a.cos, a.sin, B, T, NH+NKV, HS)
		clear(a.dnorm)
		m.linearBackward(a.dnorm, ly.qkvWGrad, ly.qkvBGrad, a.dqkv, la.norm1, ly.qkvW, N, C, L)
		m.lora.backward(l, llamaQ, a.dnorm, a.dqkv, L, la.norm1, N)
		m.lora.backward(l, llamaK, a.dnorm, a.dqkv[NH*HS:], L, la.norm1, N)
		m.lora.backward(l, llamaV, a.dnorm, a.dqkv[(NH+NKV)*HS:], L, la.norm1, N)
		kernels().RMSNormBackward(a.dres, ly.inputNorm.Grad, a.dnorm, residual, ly.inputNorm.Data, la.rstd1, N, C)
	}

	embeddingBackward(m.embed.Grad, a.dres, ids, C)
}

// Greedy appends n tokens to prompt by repeated argmax decoding and returns
// only the n new tokens. Each step recomputes the whole context; when it
// grows beyond MaxPositions, only the last MaxPositions tokens are fed.
// Ties go to the lowest token id, as torch.argmax does.
func (m *Llama) Greedy(prompt []int32, n int) []int32 {
	if len(prompt) == 0 {
		panic("model.Llama.Greedy: empty prompt")
	}
	V, maxT := m.Config.VocabSize, m.MaxPositions()
	context := append(make([]int32, 0, len(prompt)+n), prompt...)
	out := make([]int32, 0, n)
	for i := 0; i < n; i++ {
		window := context
		if len(window) > maxT {
			window = window[len(window)-maxT:]
		}
		logits := m.Forward(window, 1, len(window))
		last := logits[(len(window)-1)*V : len(window)*V]
		best := 0
		for v, x := range last {
			if x > last[best] {
				best = v
			}
		}
		context = append(context, int32(best))
		out = append(out, int32(best))
	}
	return out
}
