package model

// LoRA (Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models",
// 2021) as Hugging Face PEFT implements it (peft/tuners/lora/layer.py):
// a wrapped linear layer computes
//
//	y = W x + b + s * B (A dropout(x)),   s = alpha/r (alpha/sqrt(r) for rsLoRA)
//
// with A [r,in] and B [out,r] whatever the layout of W, so GPT-2's Conv1D
// weights ([in,out], PEFT's fan_in_fan_out) only change how the product is
// merged into W. Shapes use N = B*T rows, R the rank, IN and OUT the wrapped
// layer's input and output width.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
)

// LoRAConfig describes a LoRA adapter.
type LoRAConfig struct {
	// R is the rank of the update B A. Must be positive.
	R int
	// Alpha is the numerator of the scaling alpha/R. Zero means R, so the
	// scaling is 1.
	Alpha float64
	// Dropout is the probability, in [0, 1), of zeroing an element of the
	// adapter's input during ForwardBackward; Forward and Loss never drop.
	// Zero means no dropout.
	Dropout float64
	// TargetModules names the wrapped layers as PEFT does: a layer whose
	// module path (such as "model.layers.0.self_attn.q_proj") equals an
	// entry or ends in "."+entry is wrapped. GPT-2 has c_attn, c_proj (attn
	// and mlp) and c_fc; Llama has q_proj, k_proj, v_proj, o_proj,
	// gate_proj, up_proj and down_proj. Empty means PEFT's default for the
	// architecture: c_attn for GPT-2, q_proj and v_proj for Llama.
	TargetModules []string
	// TargetRegexp, when set, replaces TargetModules: a layer is wrapped
	// when the regular expression matches its whole module path, as PEFT
	// treats a string target_modules. "all-linear" wraps every layer above.
	TargetRegexp string
	// UseRSLoRA selects rank-stabilized scaling alpha/sqrt(R).
	UseRSLoRA bool
	// Seed seeds the initialization of A and the dropout masks.
	Seed uint64
}

// scaling returns the factor s of the adapter's output.
func (c LoRAConfig) scaling() float64 {
	alpha := c.Alpha
	if alpha == 0 {
		alpha = float64(c.R)
	}
	if c.UseRSLoRA {
		return alpha / math.Sqrt(float64(c.R))
	}
	return alpha / float64(c.R)
}

func (c LoRAConfig) validate() error {
	switch {
	case c.R <= 0:
		return fmt.Errorf("%w: LoRA rank r is %d, must be positive", ErrUnsupported, c.R)
	case c.Alpha < 0 || math.IsNaN(c.Alpha):
		return fmt.Errorf("%w: lora_alpha is %v, must be >= 0", ErrUnsupported, c.Alpha)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fmt.Errorf("%w: lora_dropout is %v, must be in [0, 1)", ErrUnsupported, c.Dropout)
	}
	return nil
}

// linearSite is one linear layer of a model that an adapter can wrap.
type linearSite struct {
	// path is the module path under PEFT's "base_model.model." prefix, as
	// transformers names the module in the *ForCausalLM class.
	path        string
	layer, kind int
	weight      *Param // [IN,OUT] when conv1D, else [OUT,IN]
	in, out     int
	conv1D      bool
}

// GPT-2 layer kinds, the kind index of linearSite.
const (
	gpt2CAttn = iota
	gpt2AttnProj
	gpt2FC
	gpt2MLPProj
	gpt2Kinds
)

// Llama layer kinds.
const (
	llamaQ = iota
	llamaK
	llamaV
	llamaO
	llamaGate
	llamaUp
	llamaDown
	llamaKinds
)

// loraHost is a model that LoRA can attach to.
type loraHost interface {
	CausalLM
	linearSites() []linearSite
	numLayerKinds() int
	defaultTargets() []string
	setLoRA(l *LoRA)
	attachedLoRA() *LoRA
}

func (m *GPT2) linearSites() []linearSite {
	C := m.Config.NEmbd
	var sites []linearSite
	for l, blk := range m.blocks {
		p := fmt.Sprintf("transformer.h.%d.", l)
		sites = append(sites,
			linearSite{p + "attn.c_attn", l, gpt2CAttn, blk.qkvW, C, 3 * C, true},
			linearSite{p + "attn.c_proj", l, gpt2AttnProj, blk.attProjW, C, C, true},
			linearSite{p + "mlp.c_fc", l, gpt2FC, blk.fcW, C, 4 * C, true},
			linearSite{p + "mlp.c_proj", l, gpt2MLPProj, blk.fcProjW, 4 * C, C, true},
		)
	}
	return sites
}

func (m *GPT2) numLayerKinds() int       { return gpt2Kinds }
func (m *GPT2) defaultTargets() []string { return []string{"c_attn"} }
func (m *GPT2) setLoRA(l *LoRA)          { m.lora = l }
func (m *GPT2) attachedLoRA() *LoRA      { return m.lora }

func (m *Llama) linearSites() []linearSite {
	cfg := m.Config
	C, I := cfg.HiddenSize, cfg.IntermediateSize
	Q, KV := cfg.NumAttentionHeads*cfg.HeadDim, cfg.NumKeyValueHeads*cfg.HeadDim
	var sites []linearSite
	for l := range m.layers {
		ly := &m.layers[l]
		p := fmt.Sprintf("model.layers.%d.", l)
		sites = append(sites,
			linearSite{p + "self_attn.q_proj", l, llamaQ, ly.q, C, Q, false},
			linearSite{p + "self_attn.k_proj", l, llamaK, ly.k, C, KV, false},
			linearSite{p + "self_attn.v_proj", l, llamaV, ly.v, C, KV, false},
			linearSite{p + "self_attn.o_proj", l, llamaO, ly.o, Q, C, false},
			linearSite{p + "mlp.gate_proj", l, llamaGate, ly.gate, C, I, false},
			linearSite{p + "mlp.up_proj", l, llamaUp, ly.up, C, I, false},
			linearSite{p + "mlp.down_proj", l, llamaDown, ly.down, I, C, false},
		)
	}
	return sites
}

func (m *Llama) numLayerKinds() int       { return llamaKinds }
func (m *Llama) defaultTargets() []string { return []string{"q_proj", "v_proj"} }
func (m *Llama) setLoRA(l *LoRA)          { m.lora = l }
func (m *Llama) attachedLoRA() *LoRA      { return m.lora }

// loraModule is the adapter of one wrapped layer with its activations.
type loraModule struct {
	site  linearSite
	index int    // position in LoRA.modules, which seeds its dropout masks
	A     *Param // [R,IN]
	B     *Param // [OUT,R]

	// Buffers for N rows, reallocated when N changes.
	n       int
	h       []float32 // [N,R] s * dropout(x) A^T
	dh      []float32 // [N,R]
	mask    []float32 // [N,IN] 0 or 1/(1-p) per element, used when dropped
	dropped []float32 // [N,IN] x * mask
	dx      []float32 // [N,IN]
	didDrop bool      // whether the last forward applied dropout
}

// LoRA is a LoRA adapter attached to a GPT2 or Llama. While attached, the
// model's Forward, Loss, ForwardBackward, Greedy and Save include the
// adapter, Parameters returns only the adapter's A and B tensors (the base
// weights are frozen), and ZeroGrad clears them too. A LoRA is not safe
// for concurrent use, like its model.
type LoRA struct {
	Config LoRAConfig

	host    loraHost
	modules []*loraModule   // in the model's layer order
	grid    [][]*loraModule // [layer][kind], nil where a layer is not wrapped
	params  []*Param
	scale   float32

	training bool   // set during ForwardBackward, enables dropout
	passes   uint64 // ForwardBackward calls so far, which seeds each dropout mask
}

// NewLoRA attaches a new adapter to m, initialized as PEFT initializes one
// (init_lora_weights=True): A from Kaiming-uniform with a = sqrt(5), which
// is U(-1/sqrt(IN), 1/sqrt(IN)), and B zero, so the model's output is
// unchanged until training moves B. It returns an error wrapping
// ErrUnsupported when m is not a *GPT2 or *Llama, already has an adapter,
// cfg is invalid, an entry of TargetModules (or TargetRegexp) matches no
// layer, or R exceeds min(IN, OUT) of a wrapped layer. A rank above that
// adds parameters without raising the rank of the update B A.
func NewLoRA(m CausalLM, cfg LoRAConfig) (*LoRA, error) {
	l, err := newLoRA(m, cfg, true)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x243f6a8885a308d3))
	for _, mod := range l.modules {
		bound := 1 / math.Sqrt(float64(mod.site.in))
		for i := range mod.A.Data {
			mod.A.Data[i] = float32((2*r.Float64() - 1) * bound)
		}
	}
	l.host.setLoRA(l)
	return l, nil
}

// newLoRA allocates a zeroed adapter for m without attaching it. When
// strict is set, as for a new adapter, every target entry must match a
// layer and R must not exceed min(IN, OUT) of any wrapped layer. Otherwise,
// as for an adapter read from a PEFT folder, which PEFT allows to list
// modules a model lacks or to use any rank, one match is enough.
func newLoRA(m CausalLM, cfg LoRAConfig, strict bool) (*LoRA, error) {
	host, ok := m.(loraHost)
	if !ok {
		return nil, fmt.Errorf("%w: LoRA supports GPT-2 and Llama-family models, not %T", ErrUnsupported, m)
	}
	if host.attachedLoRA() != nil {
		return nil, fmt.Errorf("%w: the model already has a LoRA adapter; merge or detach it first", ErrUnsupported)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	sites, err := selectSites(host, cfg, strict)
	if err != nil {
		return nil, err
	}
	if strict {
		for _, s := range sites {
			if limit := min(s.in, s.out); cfg.R > limit {
				return nil, fmt.Errorf("%w: LoRA rank r %d exceeds min(in_features, out_features) = %d of layer %s (in_features %d, out_features %d); use r <= %d",
					ErrUnsupported, cfg.R, limit, s.path, s.in, s.out, limit)
			}
		}
	}

	l := &LoRA{Config: cfg, host: host, scale: float32(cfg.scaling())}
	nLayers := 0
	for _, s := range host.linearSites() {
		nLayers = max(nLayers, s.layer+1)
	}
	l.grid = make([][]*loraModule, nLayers)
	for i := range l.grid {
		l.grid[i] = make([]*loraModule, host.numLayerKinds())
	}
	for _, s := range sites {
		mod := &loraModule{
			site:  s,
			index: len(l.modules),
			A:     newParam("base_model.model."+s.path+".lora_A.weight", cfg.R, s.in),
			B:     newParam("base_model.model."+s.path+".lora_B.weight", s.out, cfg.R),
		}
		l.modules = append(l.modules, mod)
		l.grid[s.layer][s.kind] = mod
		l.params = append(l.params, mod.A, mod.B)
	}
	return l, nil
}

func newParam(name string, shape ...int) *Param {
	n := numElements(shape)
	return &Param{Name: name, Shape: shape, Data: make([]float32, n), Grad: make([]float32, n)}
}

// selectSites returns the layers of host that cfg's targets match, in the
// model's order, as PEFT's check_target_module_exists matches them.
func selectSites(host loraHost, cfg LoRAConfig, strict bool) ([]linearSite, error) {
	all := host.linearSites()
	if cfg.TargetRegexp != "" {
		match := func(string) bool { return true }
		if cfg.TargetRegexp != "all-linear" {
			re, err := regexp.Compile(`^(?:` + cfg.TargetRegexp + `)$`)
			if err != nil {
				return nil, fmt.Errorf("%w: target_modules pattern %q: %w", ErrUnsupported, cfg.TargetRegexp, err)
			}
			match = re.MatchString
		}
		var sites []linearSite
		for _, s := range all {
			if match(s.path) {
				sites = append(sites, s)
			}
		}
		if len(sites) == 0 {
			return nil, fmt.Errorf("%w: lora target_modules pattern %q matches no layer of this %s model; its linear layers are %s",
				ErrUnsupported, cfg.TargetRegexp, modelTypeName(host), strings.Join(layerNames(all), ", "))
		}
		return sites, nil
	}

	targets := cfg.TargetModules
	if len(targets) == 0 {
		targets = host.defaultTargets()
	}
	matched := make([]bool, len(targets))
	var sites []linearSite
	for _, s := range all {
		hit := false
		for i, t := range targets {
			if s.path == t || strings.HasSuffix(s.path, "."+t) {
				matched[i], hit = true, true
			}
		}
		if hit {
			sites = append(sites, s)
		}
	}
	var unmatched []string
	for i, t := range targets {
		if !matched[i] {
			unmatched = append(unmatched, t)
		}
	}
	if len(sites) == 0 || (strict && len(unmatched) > 0) {
		return nil, fmt.Errorf("%w: lora target_modules %v match no layer of this %s model; its linear layers are %s",
			ErrUnsupported, unmatched, modelTypeName(host), strings.Join(layerNames(all), ", "))
	}
	return sites, nil
}

// layerNames returns the distinct last components of the sites' module
// paths, the names target_modules uses, in the order of the first layer.
func layerNames(sites []linearSite) []string {
	var names []string
	for _, s := range sites {
		name := s.path[strings.LastIndexByte(s.path, '.')+1:]
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// modelTypeName returns the config.json model_type of host for messages.
func modelTypeName(host loraHost) string {
	switch m := host.(type) {
	case *GPT2:
		return "gpt2"
	case *Llama:
		if m.Config.ModelType != "" {
			return m.Config.ModelType
		}
		return "llama"
	}
	return fmt.Sprintf("%T", host)
}

// Parameters returns the adapter's tensors in the model's layer order, A
// before B, named as PEFT saves them
// ("base_model.model.<module path>.lora_A.weight").
func (l *LoRA) Parameters() []*Param { return l.params }

// NumParameters returns the number of scalar adapter parameters.
func (l *LoRA) NumParameters() int {
	n := 0
	for _, p := range l.params {
		n += len(p.Data)
	}
	return n
}

// TargetModules returns the distinct last components of the wrapped
// layers' module paths ("c_attn", "q_proj"), sorted, as PEFT records them.
func (l *LoRA) TargetModules() []string {
	var names []string
	for _, mod := range l.modules {
		names = append(names, mod.site.path[strings.LastIndexByte(mod.site.path, '.')+1:])
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// SetPasses sets the number of ForwardBackward calls taken so far. The
// dropout mask of a call depends only on Seed and this count, so a resumed
// run that sets it to the number of calls before the checkpoint draws the
// same masks as an uninterrupted one.
func (l *LoRA) SetPasses(n uint64) { l.passes = n }

// Detach removes the adapter from its model, which then computes with its
// base weights alone and trains all of them again.
func (l *LoRA) Detach() {
	if l.host != nil && l.host.attachedLoRA() == l {
		l.host.setLoRA(nil)
	}
}

// Merge adds s * B A to each wrapped base weight (transposed for GPT-2's
// [in,out] Conv1D weights, as PEFT's fan_in_fan_out merge does) and
// detaches the adapter, as PEFT's merge_and_unload does. The model's
// logits stay the same up to float32 rounding.
func (l *LoRA) Merge() {
	for _, mod := range l.modules {
		mod.addDelta(mod.site.weight.Data, l.scale)
	}
	l.Detach()
}

// addDelta adds s * B A to w, which has the layout of the site's weight.
func (mod *loraModule) addDelta(w []float32, s float32) {
	R, IN, OUT := mod.A.Shape[0], mod.site.in, mod.site.out
	scaledB := make([]float32, len(mod.B.Data))
	for i, v := range mod.B.Data {
		scaledB[i] = s * v
	}
	if mod.site.conv1D {
		// w [IN,OUT] += A^T (s B)^T.
		kernels().Gemm(true, true, IN, OUT, R, mod.A.Data, IN, scaledB, R, w, OUT, true)
		return
	}
	// w [OUT,IN] += (s B) A.
	kernels().Gemm(false, false, OUT, IN, R, scaledB, R, mod.A.Data, IN, w, IN, true)
}

// mergedData returns the values Save writes for p: p.Data with the
// adapter's update added when p is a wrapped weight, else p.Data itself.
func (l *LoRA) mergedData(p *Param) []float32 {
	if l == nil {
		return p.Data
	}
	for _, mod := range l.modules {
		if mod.site.weight == p {
			w := slices.Clone(p.Data)
			mod.addDelta(w, l.scale)
			return w
		}
	}
	return p.Data
}

func (l *LoRA) zeroGrad() {
	if l == nil {
		return
	}
	for _, p := range l.params {
		clear(p.Grad)
	}
}

// beginPass switches dropout on for one ForwardBackward call and returns
// the function that switches it off.
func (l *LoRA) beginPass() func() {
	if l == nil {
		return func() {}
	}
	l.training = true
	return func() {
		l.training = false
		l.passes++
	}
}

// forward adds the adapter output of layer's kind to out [N,OUT] (row
// stride ldOut) for the wrapped layer's input inp [N,IN]:
//
//	h = s * dropout(inp) A^T     [N,R]
//	out += h B^T                 [N,OUT]
//
// It does nothing when l is nil or the layer is not wrapped.
func (l *LoRA) forward(layer, kind int, out []float32, ldOut int, inp []float32, N int) {
	if l == nil || l.grid[layer][kind] == nil {
		return
	}
	mod := l.grid[layer][kind]
	R, IN, OUT := l.Config.R, mod.site.in, mod.site.out
	mod.prepare(N, R, IN)

	x := inp
	mod.didDrop = l.training && l.Config.Dropout > 0
	if mod.didDrop {
		l.dropout(mod, inp)
		x = mod.dropped
	}
	kernels().Gemm(false, true, N, R, IN, x, IN, mod.A.Data, IN, mod.h, R, false)
	for i := range mod.h {
		mod.h[i] *= l.scale
	}
	kernels().Gemm(false, true, N, OUT, R, mod.h, R, mod.B.Data, R, out, ldOut, true)
}

// backward differentiates forward. With dout [N,OUT] (row stride ldOut)
// the gradient of the loss with respect to out, it accumulates
//
//	dB   += dout^T h                   [OUT,R]
//	dh    = s * dout B                 [N,R]
//	dA   += dh^T dropout(inp)          [R,IN]
//	dinp += dropout'(dh A)             [N,IN]
//
// dinp may be nil when the input needs no gradient.
func (l *LoRA) backward(layer, kind int, dinp, dout []float32, ldOut int, inp []float32, N int) {
	if l == nil || l.grid[layer][kind] == nil {
		return
	}
	mod := l.grid[layer][kind]
	R, IN, OUT := l.Config.R, mod.site.in, mod.site.out
	if mod.n != N {
		panic(fmt.Sprintf("model.LoRA: backward of %s with %d rows after a forward with %d", mod.site.path, N, mod.n))
	}

	x := inp
	if mod.didDrop {
		x = mod.dropped
	}
	kernels().Gemm(true, false, OUT, R, N, dout, ldOut, mod.h, R, mod.B.Grad, R, true)
	kernels().Gemm(false, false, N, R, OUT, dout, ldOut, mod.B.Data, R, mod.dh, R, false)
	for i := range mod.dh {
		mod.dh[i] *= l.scale
	}
	kernels().Gemm(true, false, R, IN, N, mod.dh, R, x, IN, mod.A.Grad, IN, true)
	if dinp == nil {
		return
	}
	if !mod.didDrop {
		kernels().Gemm(false, false, N, IN, R, mod.dh, R, mod.A.Data, IN, dinp, IN, true)
		return
	}
	kernels().Gemm(false, false, N, IN, R, mod.dh, R, mod.A.Data, IN, mod.dx, IN, false)
	for i, g := range mod.dx {
		dinp[i] += g * mod.mask[i]
	}
}

func (mod *loraModule) prepare(N, R, IN int) {
	if mod.n == N {
		return
	}
	mod.n = N
	mod.h, mod.dh = make([]float32, N*R), make([]float32, N*R)
	mod.mask, mod.dropped, mod.dx = nil, nil, nil
}

// dropout fills mod.mask with inverted-dropout factors, 0 with probability
// p and 1/(1-p) otherwise as torch.nn.Dropout scales, and mod.dropped with
// inp times the mask. The mask depends on Seed, the pass count and the
// module's position only.
func (l *LoRA) dropout(mod *loraModule, inp []float32) {
	if mod.mask == nil {
		n := len(inp)
		mod.mask, mod.dropped, mod.dx = make([]float32, n), make([]float32, n), make([]float32, n)
	}
	r := rand.New(rand.NewPCG(l.Config.Seed^0x9e3779b97f4a7c15, l.passes<<16|uint64(mod.index)))
	p := l.Config.Dropout
	keep := float32(1 / (1 - p))
	for i, v := range inp {
		if r.Float64() < p {
			mod.mask[i], mod.dropped[i] = 0, 0
		} else {
			mod.mask[i], mod.dropped[i] = keep, v*keep
		}
	}
}

// matmulBackward is tensor.MatmulBackward, reduced to the input gradient
// dinp += dout weight^T when an attached adapter freezes the base weights,
// which skips the weight and bias gradients nothing would read.
func (m *GPT2) matmulBackward(dinp, dweight, dbias, dout, inp, weight []float32, N, C, OC int) {
	if m.lora == nil {
		kernels().MatmulBackward(dinp, dweight, dbias, dout, inp, weight, N, C, OC)
		return
	}
	kernels().Gemm(false, true, N, C, OC, dout, OC, weight, OC, dinp, C, true)
}

// linearBackward is tensor.LinearBackward, reduced to the input gradient
// dinp += dout weight when an attached adapter freezes the base weights.
func (m *Llama) linearBackward(dinp, dweight, dbias, dout, inp, weight []float32, N, C, OC int) {
	if m.lora == nil {
		kernels().LinearBackward(dinp, dweight, dbias, dout, inp, weight, N, C, OC)
		return
	}
	kernels().Gemm(false, false, N, C, OC, dout, OC, weight, C, dinp, C, true)
}
