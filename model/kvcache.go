package model

// Incremental decoding with a key/value cache, as transformers v4's
// DynamicCache and llm.c-style inference loops do it. The prompt runs once
// through the model (prefill), and each layer keeps the keys and values of
// every position seen so far. Each later token then runs alone and attends
// to the cached keys and values instead of recomputing them. Batch size is 1.
// Shapes use S for the cached positions, n for the tokens of one call and
// the letters of gpt2.go and llama.go.

import (
	"fmt"
	"math"

	"github.com/adapt-llm/adapt/tensor"
)

// decoder runs a model one chunk of tokens at a time over a KV cache.
type decoder interface {
	// step feeds ids at positions len() .. len()+len(ids)-1, appends their
	// keys and values to the cache and returns the logits [V] of the last
	// one, owned by the decoder.
	step(ids []int32) []float32
	// len returns the number of cached positions.
	len() int
	// reset empties the cache.
	reset()
	// capacity returns the number of positions the cache can hold.
	capacity() int
}

// newDecoder returns a cached decoder for m, or nil when m's architecture
// has none. An attached LoRA adapter adds its output to each wrapped layer
// as in the full forward pass.
func newDecoder(m CausalLM) decoder {
	switch m := m.(type) {
	case *GPT2:
		return newGPT2Decoder(m)
	case *Llama:
		return newLlamaDecoder(m)
	}
	return nil
}

// kvLayer is one layer's cache: keys and values [S,W] for W channels per
// position.
type kvLayer struct {
	k, v []float32
}

// growCache returns a cache length in positions of at least need: double
// have, at least 64, at most limit. Caches grow as positions arrive, so a
// model with a long context does not allocate it all for a short prompt.
func growCache(have, need, limit int) int {
	if need <= have {
		return have
	}
	return min(max(need, 2*have, 64), limit)
}

// grow makes room for S positions of W channels, keeping the first used
// positions.
func (kv *kvLayer) grow(S, W, used int) {
	if len(kv.k) >= S*W {
		return
	}
	k, v := make([]float32, S*W), make([]float32, S*W)
	copy(k, kv.k[:used*W])
	copy(v, kv.v[:used*W])
	kv.k, kv.v = k, v
}

// cachedAttention computes causal attention of n new query rows, at
// positions pos .. pos+n-1, against the first pos+n cached keys and values.
// q [n,ldq] holds NH heads of HS channels per row; k and v [S,ldkv] hold
// NKV heads, and query head h reads key/value head h/(NH/NKV). out [n,NH*HS]
// is overwritten and scores [n,pos+n] is scratch. The formula is that of
// tensor.AttentionGQAForward.
func cachedAttention(out, scores, q []float32, ldq int, k, v []float32, ldkv, pos, n, NH, NKV, HS int) {
	S := pos + n
	scale := float32(1 / math.Sqrt(float64(HS)))
	rep := NH / NKV
	for h := 0; h < NH; h++ {
		g := h / rep
		tensor.GemmSerial(false, true, n, S, HS, q[h*HS:], ldq, k[g*HS:], ldkv, scores, S, false)
		for t := 0; t < n; t++ {
			softmaxPrefix(scores[t*S:(t+1)*S], pos+t+1, scale)
		}
		tensor.GemmSerial(false, false, n, HS, S, scores, S, v[g*HS:], ldkv, out[h*HS:], NH*HS, false)
	}
}

// softmaxPrefix replaces row[:n] by softmax(scale*row[:n]) and zeroes the
// rest, subtracting the maximum for stability.
func softmaxPrefix(row []float32, n int, scale float32) {
	maxVal := float32(math.Inf(-1))
	for _, s := range row[:n] {
		maxVal = max(maxVal, s*scale)
	}
	var sum float32
	for i, s := range row[:n] {
		e := float32(math.Exp(float64(s*scale - maxVal)))
		row[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range row[:n] {
		row[i] *= inv
	}
	clear(row[n:])
}

// chunkBuffers holds the activations of one step call for n tokens; they
// grow to the largest n seen.
type chunkBuffers struct {
	n      int
	x      []float32 // [n,C] residual stream
	norm   []float32 // [n,C]
	stat1  []float32 // [n] mean or unused
	stat2  []float32 // [n] rstd
	qkv    []float32 // [n,L]
	atty   []float32 // [n,NH*HS]
	branch []float32 // [n,C]
	mlp    []float32 // [n,2I] or [n,4C]
	act    []float32 // [n,I] or [n,4C]
	scores []float32 // [n,S]
}

func (b *chunkBuffers) grow(n, C, L, att, mlp, act, S int) {
	if n <= b.n && len(b.scores) >= n*S {
		return
	}
	n = max(n, b.n)
	*b = chunkBuffers{
		n:      n,
		x:      make([]float32, n*C),
		norm:   make([]float32, n*C),
		stat1:  make([]float32, n),
		stat2:  make([]float32, n),
		qkv:    make([]float32, n*L),
		atty:   make([]float32, n*att),
		branch: make([]float32, n*C),
		mlp:    make([]float32, n*mlp),
		act:    make([]float32, n*act),
		scores: make([]float32, n*S),
	}
}

// gpt2Decoder is the cached decoder of GPT-2.
type gpt2Decoder struct {
	m      *GPT2
	layers []kvLayer // k, v [S,C]
	pos    int
	size   int // positions the caches hold
	buf    chunkBuffers
	last   []float32 // [C] final LayerNorm output of the last token
	logits []float32 // [V]
}

func newGPT2Decoder(m *GPT2) *gpt2Decoder {
	C := m.Config.NEmbd
	return &gpt2Decoder{m: m, layers: make([]kvLayer, m.Config.NLayer), last: make([]float32, C), logits: make([]float32, m.Config.VocabSize)}
}

func (d *gpt2Decoder) len() int      { return d.pos }
func (d *gpt2Decoder) reset()        { d.pos = 0 }
func (d *gpt2Decoder) capacity() int { return d.m.Config.NPositions }

// step runs GPT2.forward's steps on n new rows; only the attention reads
// the cache.
func (d *gpt2Decoder) step(ids []int32) []float32 {
	m, n, pos := d.m, len(ids), d.pos
	C, V, NH := m.Config.NEmbd, m.Config.VocabSize, m.Config.NHead
	HS := C / NH
	if n == 0 || pos+n > d.capacity() {
		panic(fmt.Sprintf("model.GPT2: decoding %d tokens after %d cached positions, limit %d", n, pos, d.capacity()))
	}
	eps := float32(m.Config.LayerNormEpsilon)
	d.buf.grow(n, C, 3*C, C, 4*C, 4*C, pos+n)
	b := &d.buf
	if size := growCache(d.size, pos+n, d.capacity()); size > d.size {
		for l := range d.layers {
			d.layers[l].grow(size, C, pos)
		}
		d.size = size
	}

	// Token plus position embeddings; wpe rows start at pos.
	for t, id := range ids {
		if id < 0 || int(id) >= V {
			panic(fmt.Sprintf("model.GPT2: token id %d is outside the vocabulary [0,%d)", id, V))
		}
		row := b.x[t*C : (t+1)*C]
		wte := m.wte.Data[int(id)*C : (int(id)+1)*C]
		wpe := m.wpe.Data[(pos+t)*C : (pos+t+1)*C]
		for c := range row {
			row[c] = wte[c] + wpe[c]
		}
	}

	x := b.x[:n*C]
	for l, blk := range m.blocks {
		kv := &d.layers[l]
		kernels().LayerNormForward(b.norm, b.stat1, b.stat2, x, blk.ln1W.Data, blk.ln1B.Data, n, C, eps)
		kernels().MatmulForward(b.qkv, b.norm, blk.qkvW.Data, blk.qkvB.Data, n, C, 3*C)
		m.lora.forward(l, gpt2CAttn, b.qkv, 3*C, b.norm, n)
		for t := 0; t < n; t++ {
			copy(kv.k[(pos+t)*C:(pos+t+1)*C], b.qkv[t*3*C+C:t*3*C+2*C])
			copy(kv.v[(pos+t)*C:(pos+t+1)*C], b.qkv[t*3*C+2*C:t*3*C+3*C])
		}
		cachedAttention(b.atty, b.scores, b.qkv, 3*C, kv.k, kv.v, C, pos, n, NH, NH, HS)
		kernels().MatmulForward(b.branch, b.atty, blk.attProjW.Data, blk.attProjB.Data, n, C, C)
		m.lora.forward(l, gpt2AttnProj, b.branch, C, b.atty, n)
		kernels().ResidualForward(x, x, b.branch, n*C)
		kernels().LayerNormForward(b.norm, b.stat1, b.stat2, x, blk.ln2W.Data, blk.ln2B.Data, n, C, eps)
		kernels().MatmulForward(b.mlp, b.norm, blk.fcW.Data, blk.fcB.Data, n, C, 4*C)
		m.lora.forward(l, gpt2FC, b.mlp, 4*C, b.norm, n)
		kernels().GeluForward(b.act, b.mlp, n*4*C)
		kernels().MatmulForward(b.branch, b.act, blk.fcProjW.Data, blk.fcProjB.Data, n, 4*C, C)
		m.lora.forward(l, gpt2MLPProj, b.branch, C, b.act, n)
		kernels().ResidualForward(x, x, b.branch, n*C)
	}
	d.pos += n

	// Only the last row's logits are needed: logits = ln_f(x_last) @ wte^T.
	lastRow := x[(n-1)*C : n*C]
	kernels().LayerNormForward(d.last, b.stat1, b.stat2, lastRow, m.lnfW.Data, m.lnfB.Data, 1, C, eps)
	kernels().Gemm(false, true, 1, V, C, d.last, C, m.wte.Data, C, d.logits, V, false)
	return d.logits
}

// llamaDecoder is the cached decoder of the Llama family.
type llamaDecoder struct {
	m        *Llama
	layers   []kvLayer // k, v [S,NKV*HS] after RoPE
	pos      int
	size     int       // positions the caches hold
	cos, sin []float32 // [S,HS/2] RoPE table
	buf      chunkBuffers
	last     []float32 // [C]
	logits   []float32 // [V]
}

func newLlamaDecoder(m *Llama) *llamaDecoder {
	cfg := m.Config
	return &llamaDecoder{
		m:      m,
		layers: make([]kvLayer, cfg.NumHiddenLayers),
		last:   make([]float32, cfg.HiddenSize),
		logits: make([]float32, cfg.VocabSize),
	}
}

func (d *llamaDecoder) len() int      { return d.pos }
func (d *llamaDecoder) reset()        { d.pos = 0 }
func (d *llamaDecoder) capacity() int { return d.m.MaxPositions() }

// step runs Llama.forward's steps on n new rows. RoPE rotates them by their
// absolute positions, so cached keys never need rotating again.
func (d *llamaDecoder) step(ids []int32) []float32 {
	m, n, pos := d.m, len(ids), d.pos
	cfg := m.Config
	C, V, I := cfg.HiddenSize, cfg.VocabSize, cfg.IntermediateSize
	NH, NKV, HS := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	L, KV := (NH+2*NKV)*HS, NKV*HS
	if n == 0 || pos+n > d.capacity() {
		panic(fmt.Sprintf("model.Llama: decoding %d tokens after %d cached positions, limit %d", n, pos, d.capacity()))
	}
	eps := float32(cfg.RMSNormEps)
	d.buf.grow(n, C, L, NH*HS, 2*I, I, pos+n)
	b := &d.buf
	if size := growCache(d.size, pos+n, d.capacity()); size > d.size {
		for l := range d.layers {
			d.layers[l].grow(size, KV, pos)
		}
		d.cos, d.sin = make([]float32, size*HS/2), make([]float32, size*HS/2)
		tensor.RoPETable(d.cos, d.sin, m.invFreq, size)
		d.size = size
	}

	x := b.x[:n*C]
	embeddingForward(x, ids, m.embed.Data, V, C)
	half := HS / 2
	for l := range m.layers {
		ly, kv := &m.layers[l], &d.layers[l]

		// Attention; the table rows from pos on give the absolute angles.
		kernels().RMSNormForward(b.norm, b.stat2, x, ly.inputNorm.Data, n, C, eps)
		kernels().LinearForward(b.qkv, b.norm, ly.qkvW, ly.qkvB, n, C, L)
		m.lora.forward(l, llamaQ, b.qkv, L, b.norm, n)
		m.lora.forward(l, llamaK, b.qkv[NH*HS:], L, b.norm, n)
		m.lora.forward(l, llamaV, b.qkv[(NH+NKV)*HS:], L, b.norm, n)
		kernels().RoPEForward(b.qkv, L, d.cos[pos*half:], d.sin[pos*half:], 1, n, NH+NKV, HS)
		for t := 0; t < n; t++ {
			row := b.qkv[t*L : (t+1)*L]
			copy(kv.k[(pos+t)*KV:(pos+t+1)*KV], row[NH*HS:(NH+NKV)*HS])
			copy(kv.v[(pos+t)*KV:(pos+t+1)*KV], row[(NH+NKV)*HS:])
		}
		cachedAttention(b.atty, b.scores, b.qkv, L, kv.k, kv.v, KV, pos, n, NH, NKV, HS)
		kernels().LinearForward(b.branch, b.atty, ly.o.Data, paramData(ly.ob), n, NH*HS, C)
		m.lora.forward(l, llamaO, b.branch, C, b.atty, n)
		kernels().ResidualForward(x, x, b.branch, n*C)

		// SwiGLU MLP.
		kernels().RMSNormForward(b.norm, b.stat2, x, ly.postNorm.Data, n, C, eps)
		kernels().LinearForward(b.mlp, b.norm, ly.gateUpW, nil, n, C, 2*I)
		m.lora.forward(l, llamaGate, b.mlp, 2*I, b.norm, n)
		m.lora.forward(l, llamaUp, b.mlp[I:], 2*I, b.norm, n)
		kernels().SwiGLUForward(b.act, b.mlp, n, I)
		kernels().LinearForward(b.branch, b.act, ly.down.Data, nil, n, I, C)
		m.lora.forward(l, llamaDown, b.branch, C, b.act, n)
		kernels().ResidualForward(x, x, b.branch, n*C)
	}
	d.pos += n

	// logits = norm(x_last) @ lm_head^T.
	kernels().RMSNormForward(d.last, b.stat2, x[(n-1)*C:n*C], m.norm.Data, 1, C, eps)
	w, _ := m.lmHeadWeight()
	kernels().Gemm(false, true, 1, V, C, d.last, C, w, C, d.logits, V, false)
	return d.logits
}
