package model

import "fmt"

// activations holds every buffer of one forward and backward pass for a
// fixed (B,T), allocated once and reused by later calls with the same
// sizes. N = B*T. Shapes follow the legend of package tensor.
type activations struct {
	B, T int

	encoded []float32   // [N,C]
	layers  []layerActs // one per block
	lnf     []float32   // [N,C]
	lnfMean []float32   // [N]
	lnfRstd []float32   // [N]
	logits  []float32   // [N,V]
	probs   []float32   // [N,V], reused for dlogits in the backward
	losses  []float32   // [N]

	// Backward scratch, shared by all blocks.
	dres  []float32 // [N,C] gradient of the residual stream
	dln   []float32 // [N,C]
	dqkv  []float32 // [N,3C]
	datty []float32 // [N,C]
	datt  []float32 // [B,NH,T,T]
	dfc   []float32 // [N,4C] gradient of fch
	dfcG  []float32 // [N,4C] gradient of fchGelu
}

type layerActs struct {
	ln1, ln1Mean, ln1Rstd []float32 // [N,C], [N], [N]
	qkv                   []float32 // [N,3C]
	atty                  []float32 // [N,C] attention output before c_proj
	att                   []float32 // [B,NH,T,T] attention probabilities
	attProj               []float32 // [N,C]
	residual2             []float32 // [N,C] input + attention branch
	ln2, ln2Mean, ln2Rstd []float32 // [N,C], [N], [N]
	fch, fchGelu          []float32 // [N,4C]
	fcProj                []float32 // [N,C]
	residual3             []float32 // [N,C] block output
}

// prepare returns the activation buffers for (B,T), allocating them when the
// sizes differ from the previous call.
func (m *GPT2) prepare(B, T int) *activations {
	if B <= 0 || T <= 0 {
		panic(fmt.Sprintf("model.GPT2: batch %d x %d tokens, both must be positive", B, T))
	}
	if T > m.Config.NPositions {
		panic(fmt.Sprintf("model.GPT2: sequence length %d exceeds n_positions %d", T, m.Config.NPositions))
	}
	if a := m.acts; a != nil && a.B == B && a.T == T {
		return a
	}

	// NOTE: only one (B,T) is cached, so alternating sizes (training batches
	// and Greedy) reallocates on each switch.
	N, C, V, NH := B*T, m.Config.NEmbd, m.Config.VocabSize, m.Config.NHead
	a := &activations{
		B: B, T: T,
		encoded: make([]float32, N*C),
		lnf:     make([]float32, N*C),
		lnfMean: make([]float32, N),
		lnfRstd: make([]float32, N),
		logits:  make([]float32, N*V),
		probs:   make([]float32, N*V),
		losses:  make([]float32, N),
		dres:    make([]float32, N*C),
		dln:     make([]float32, N*C),
		dqkv:    make([]float32, N*3*C),
		datty:   make([]float32, N*C),
		datt:    make([]float32, B*NH*T*T),
		dfc:     make([]float32, N*4*C),
		dfcG:    make([]float32, N*4*C),
	}
	a.layers = make([]layerActs, m.Config.NLayer)
	for l := range a.layers {
		a.layers[l] = layerActs{
			ln1: make([]float32, N*C), ln1Mean: make([]float32, N), ln1Rstd: make([]float32, N),
			qkv:       make([]float32, N*3*C),
			atty:      make([]float32, N*C),
			att:       make([]float32, B*NH*T*T),
			attProj:   make([]float32, N*C),
			residual2: make([]float32, N*C),
			ln2:       make([]float32, N*C), ln2Mean: make([]float32, N), ln2Rstd: make([]float32, N),
			fch:       make([]float32, N*4*C),
			fchGelu:   make([]float32, N*4*C),
			fcProj:    make([]float32, N*C),
			residual3: make([]float32, N*C),
		}
	}
	m.acts = a
	return a
}

// Forward runs the model on ids [B,T] (row-major, each in [0,VocabSize))
// and returns the logits [B,T,V]. The returned slice is owned by the model
// and overwritten by the next call. It panics when len(ids) != B*T, T
// exceeds NPositions or an id is outside the vocabulary.
func (m *GPT2) Forward(ids []int32, B, T int) []float32 {
	if len(ids) != B*T {
		panic(fmt.Sprintf("model.GPT2.Forward: %d ids for batch %d x %d", len(ids), B, T))
	}
	a := m.prepare(B, T)
	m.forward(a, ids)
	return a.logits
}

func (m *GPT2) forward(a *activations, ids []int32) {
	B, T := a.B, a.T
	N, C, V, NH := B*T, m.Config.NEmbd, m.Config.VocabSize, m.Config.NHead
	eps := float32(m.Config.LayerNormEpsilon)

	kernels().EncoderForward(a.encoded, ids, m.wte.Data, m.wpe.Data, B, T, C)
	residual := a.encoded
	for l, blk := range m.blocks {
		la := &a.layers[l]
		kernels().LayerNormForward(la.ln1, la.ln1Mean, la.ln1Rstd, residual, blk.ln1W.Data, blk.ln1B.Data, N, C, eps)
		kernels().MatmulForward(la.qkv, la.ln1, blk.qkvW.Data, blk.qkvB.Data, N, C, 3*C)
		m.lora.forward(l, gpt2CAttn, la.qkv, 3*C, la.ln1, N)
		kernels().AttentionForward(la.atty, la.att, la.qkv, B, T, C, NH)
		kernels().MatmulForward(la.attProj, la.atty, blk.attProjW.Data, blk.attProjB.Data, N, C, C)
		m.lora.forward(l, gpt2AttnProj, la.attProj, C, la.atty, N)
		kernels().ResidualForward(la.residual2, residual, la.attProj, N*C)
		kernels().LayerNormForward(la.ln2, la.ln2Mean, la.ln2Rstd, la.residual2, blk.ln2W.Data, blk.ln2B.Data, N, C, eps)
		kernels().MatmulForward(la.fch, la.ln2, blk.fcW.Data, blk.fcB.Data, N, C, 4*C)
		m.lora.forward(l, gpt2FC, la.fch, 4*C, la.ln2, N)
		kernels().GeluForwardFast(la.fchGelu, la.fch, N*4*C)
		kernels().MatmulForward(la.fcProj, la.fchGelu, blk.fcProjW.Data, blk.fcProjB.Data, N, 4*C, C)
		m.lora.forward(l, gpt2MLPProj, la.fcProj, C, la.fchGelu, N)
		kernels().ResidualForward(la.residual3, la.residual2, la.fcProj, N*C)
		residual = la.residual3
	}
	kernels().LayerNormForward(a.lnf, a.lnfMean, a.lnfRstd, residual, m.lnfW.Data, m.lnfB.Data, N, C, eps)

	// Tied output projection: logits = lnf @ wte^T.
	kernels().Gemm(false, true, N, V, C, a.lnf, C, m.wte.Data, C, a.logits, V, false)
}

// Loss runs the forward pass and returns the mean cross-entropy (nats) of
// the logits at each position against targets [B,T], skipping positions
// whose target is IgnoreIndex. For next-token prediction targets[b,t] is
// ids[b,t+1] and the last position is IgnoreIndex. It returns 0 when every
// target is ignored.
func (m *GPT2) Loss(ids, targets []int32, B, T int) float32 {
	a, count := m.lossForward(ids, targets, B, T, false)
	return meanLoss(a.losses, count)
}

// ForwardBackward runs Loss and its backward pass and adds the gradient of
// the returned mean loss to every Param.Grad. Calls accumulate until
// ZeroGrad, which gradient accumulation relies on. Each call weighs its own
// mean by 1, so to average k micro-batches, scale the gradients by 1/k.
func (m *GPT2) ForwardBackward(ids, targets []int32, B, T int) float32 {
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
func (m *GPT2) lossForward(ids, targets []int32, B, T int, withGrad bool) (*activations, int) {
	if len(ids) != B*T || len(targets) != B*T {
		panic(fmt.Sprintf("model.GPT2: %d ids and %d targets for batch %d x %d", len(ids), len(targets), B, T))
	}
	a := m.prepare(B, T)
	m.forward(a, ids)

	count := countScoredTargets("model.GPT2", targets, m.Config.VocabSize)
	crossEntropy(a.losses, a.probs, a.logits, targets, count, B*T, m.Config.VocabSize, withGrad)
	return a, count
}

// countScoredTargets returns how many targets are not IgnoreIndex. It
// panics on a target outside [0,V), with who (the model type) in the
// message.
func countScoredTargets(who string, targets []int32, V int) int {
	count := 0
	for i, t := range targets {
		if t == IgnoreIndex {
			continue
		}
		if t < 0 || int(t) >= V {
			panic(fmt.Sprintf("%s: target %d at position %d is outside the vocabulary [0,%d)", who, t, i, V))
		}
		count++
	}
	return count
}

// crossEntropy writes the per-position losses [N] and the softmax probs
// [N,V] of logits [N,V] against targets. With withGrad, the same pass
// overwrites probs with the gradient of the mean loss over the count scored
// positions with respect to the logits.
func crossEntropy(losses, probs, logits []float32, targets []int32, count, N, V int, withGrad bool) {
	if withGrad {
		kernels().CrossEntropyForwardBackward(losses, probs, logits, targets, 1/float32(max(count, 1)), N, V)
		return
	}
	kernels().CrossEntropyForward(losses, probs, logits, targets, N, V)
}

func meanLoss(losses []float32, count int) float32 {
	if count == 0 {
		return 0
	}
	var sum float64
	for _, l := range losses {
		sum += float64(l)
	}
	return float32(sum / float64(count))
}

// backward differentiates forward and the mean cross-entropy, in reverse
// order of forward's steps, accumulating into the parameter gradients.
// dloss is 1/count.
func (m *GPT2) backward(a *activations, ids, targets []int32, dloss float32) {
	B, T := a.B, a.T
	N, C, V, NH := B*T, m.Config.NEmbd, m.Config.VocabSize, m.Config.NHead

	// Cross-entropy, then the tied output projection: dlogits overwrites
	// probs; dlnf = dlogits @ wte, dwte += dlogits^T @ lnf.
	dlogits := a.probs
	kernels().Gemm(false, false, N, C, V, dlogits, V, m.wte.Data, C, a.dln, C, false)
	if m.lora == nil {
		kernels().Gemm(true, false, V, C, N, dlogits, V, a.lnf, C, m.wte.Grad, C, true)
	}

	// dres carries the gradient of the residual stream. Both residual
	// additions pass it through unchanged to their two inputs, so the
	// branches add into it in place.
	last := a.encoded
	if len(a.layers) > 0 {
		last = a.layers[len(a.layers)-1].residual3
	}
	clear(a.dres)
	kernels().LayerNormBackward(a.dres, m.lnfW.Grad, m.lnfB.Grad, a.dln, last, m.lnfW.Data, a.lnfMean, a.lnfRstd, N, C)

	for l := len(m.blocks) - 1; l >= 0; l-- {
		blk, la := m.blocks[l], &a.layers[l]
		residual := a.encoded
		if l > 0 {
			residual = a.layers[l-1].residual3
		}

		// MLP branch: residual3 = residual2 + c_proj(gelu(c_fc(ln_2(residual2)))).
		clear(a.dfcG)
		m.matmulBackward(a.dfcG, blk.fcProjW.Grad, blk.fcProjB.Grad, a.dres, la.fchGelu, blk.fcProjW.Data, N, 4*C, C)
		m.lora.backward(l, gpt2MLPProj, a.dfcG, a.dres, C, la.fchGelu, N)
		clear(a.dfc)
		kernels().GeluBackwardFast(a.dfc, la.fch, a.dfcG, N*4*C)
		clear(a.dln)
		m.matmulBackward(a.dln, blk.fcW.Grad, blk.fcB.Grad, a.dfc, la.ln2, blk.fcW.Data, N, C, 4*C)
		m.lora.backward(l, gpt2FC, a.dln, a.dfc, 4*C, la.ln2, N)
		kernels().LayerNormBackward(a.dres, blk.ln2W.Grad, blk.ln2B.Grad, a.dln, la.residual2, blk.ln2W.Data, la.ln2Mean, la.ln2Rstd, N, C)

		// Attention branch: residual2 = residual + c_proj(attn(c_attn(ln_1(residual)))).
		clear(a.datty)
		m.matmulBackward(a.datty, blk.attProjW.Grad, blk.attProjB.Grad, a.dres, la.atty, blk.attProjW.Data, N, C, C)
		m.lora.backward(l, gpt2AttnProj, a.datty, a.dres, C, la.atty, N)
		clear(a.dqkv)
		kernels().AttentionBackward(a.dqkv, a.datt, a.datty, la.qkv, la.att, B, T, C, NH)
		clear(a.dln)
		m.matmulBackward(a.dln, blk.qkvW.Grad, blk.qkvB.Grad, a.dqkv, la.ln1, blk.qkvW.Data, N, C, 3*C)
		m.lora.backward(l, gpt2CAttn, a.dln, a.dqkv, 3*C, la.ln1, N)
		kernels().LayerNormBackward(a.dres, blk.ln1W.Grad, blk.ln1B.Grad, a.dln, residual, blk.ln1W.Data, la.ln1Mean, la.ln1Rstd, N, C)
	}

	kernels().EncoderBackward(m.wte.Grad, m.wpe.Grad, a.dres, ids, B, T, C)
}

// Greedy appends n tokens to prompt by repeated argmax decoding and returns
// only the n new tokens. Each step recomputes the whole context; when it
// grows beyond NPositions, only the last NPositions tokens are fed. Ties go
// to the lowest token id, as torch.argmax does.
func (m *GPT2) Greedy(prompt []int32, n int) []int32 {
	if len(prompt) == 0 {
		panic("model.GPT2.Greedy: empty prompt")
	}
	V := m.Config.VocabSize
	context := append(make([]int32, 0, len(prompt)+n), prompt...)
	out := make([]int32, 0, n)
	for i := 0; i < n; i++ {
		window := context
		if len(window) > m.Config.NPositions {
			window = window[len(window)-m.Config.NPositions:]
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
