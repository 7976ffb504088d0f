package model

// Sampling follows transformers v4's generation utilities. Logits are
// divided by the temperature. Then TopKLogitsWarper keeps the k most likely
// tokens, and TopPLogitsWarper keeps the smallest set of most likely tokens
// whose probabilities sum to at least p (nucleus sampling, Holtzman et al.
// 2020, "The Curious Case of Neural Text Degeneration").

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// GenerateOptions configures Generate and Complete. The zero value decodes
// greedily and stops at once, because MaxNewTokens is 0.
type GenerateOptions struct {
	// MaxNewTokens is the largest number of tokens to generate.
	MaxNewTokens int
	// Temperature divides the logits before sampling. Zero means greedy
	// decoding (argmax, ties to the lowest id, as Greedy does), which
	// ignores TopK, TopP and Seed. Must be >= 0.
	Temperature float64
	// TopK keeps only the TopK most likely tokens before sampling. Zero
	// means no limit. Must be >= 0.
	TopK int
	// TopP keeps only the smallest set of most likely tokens whose
	// probabilities sum to at least TopP. Zero and 1 mean no limit. Must be
	// in [0, 1].
	TopP float64
	// Seed seeds the sampler: the same model, prompt, options and seed give
	// the same tokens. Zero is a valid seed.
	Seed uint64
	// StopTokens end generation when one is generated. The stop token is not
	// part of the output.
	StopTokens []int32
	// StopStrings end generation as soon as the decoded output contains one
	// of them, even when it spans several tokens. Decode must be set with
	// them.
	StopStrings []string
	// Decode turns generated token ids into text. Complete uses it for the
	// text of the result and for StopStrings.
	Decode func(ids []int32) string
}

// Stop reasons recorded in Completion.StopReason.
const (
	StopMaxTokens  = "max_new_tokens"
	StopToken      = "stop_token"
	StopString     = "stop_string"
	generateSeedHi = 0x853c49e6748fea9b // second PCG word, fixed so Seed alone picks the stream
)

// Completion is the result of Complete.
type Completion struct {
	// Tokens are the generated ids, without the stop token. When a stop
	// string ended generation, they are the tokens whose decoded text lies
	// wholly before the stop string.
	Tokens []int32
	// Text is Decode of every generated token, cut just before the first
	// stop string. It is empty when Decode is nil.
	Text string
	// StopReason is StopMaxTokens, StopToken or StopString.
	StopReason string
}

func (o GenerateOptions) validate() error {
	switch {
	case o.MaxNewTokens < 0:
		return fmt.Errorf("%w: max_new_tokens is %d, must be >= 0", ErrInvalidGenerateOptions, o.MaxNewTokens)
	case !(o.Temperature >= 0) || math.IsInf(o.Temperature, 0):
		return fmt.Errorf("%w: temperature is %v, must be >= 0 and finite", ErrInvalidGenerateOptions, o.Temperature)
	case o.TopK < 0:
		return fmt.Errorf("%w: top_k is %d, must be >= 0", ErrInvalidGenerateOptions, o.TopK)
	case !(o.TopP >= 0 && o.TopP <= 1):
		return fmt.Errorf("%w: top_p is %v, must be in [0, 1]", ErrInvalidGenerateOptions, o.TopP)
	case len(o.StopStrings) > 0 && o.Decode == nil:
		return fmt.Errorf("%w: stop strings need a Decode function", ErrInvalidGenerateOptions)
	}
	for _, s := range o.StopStrings {
		if s == "" {
			return fmt.Errorf("%w: a stop string is empty", ErrInvalidGenerateOptions)
		}
	}
	return nil
}

// Generate returns up to opts.MaxNewTokens tokens that m appends to prompt,
// without the prompt and without a stop token. GPT-2 and Llama models
// decode over a KV cache: one pass over the prompt, then one token per
// pass. Other CausalLM implementations recompute the whole context for each
// token. It returns an error wrapping ErrInvalidGenerateOptions on invalid
// options and panics on an empty prompt or an id outside the vocabulary.
func Generate(m CausalLM, prompt []int32, opts GenerateOptions) ([]int32, error) {
	c, err := Complete(m, prompt, opts)
	if err != nil {
		return nil, err
	}
	return c.Tokens, nil
}

// Complete is Generate that also returns the decoded text and why
// generation stopped.
func Complete(m CausalLM, prompt []int32, opts GenerateOptions) (*Completion, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if len(prompt) == 0 {
		panic("model.Generate: empty prompt")
	}
	s := newSampler(opts, m.VocabSize())
	next := newNextLogits(m, prompt)

	res := &Completion{StopReason: StopMaxTokens}
	for len(res.Tokens) < opts.MaxNewTokens {
		tok := s.pick(next.logits())
		if slices.Contains(opts.StopTokens, tok) {
			res.StopReason = StopToken
			break
		}
		res.Tokens = append(res.Tokens, tok)
		if opts.Decode == nil || len(opts.StopStrings) == 0 {
			next.push(tok)
			continue
		}

		// The whole output is decoded and searched again, because a new token
		// can change the text of the ones before it (a byte-level token
		// completing a UTF-8 character, say).
		text := opts.Decode(res.Tokens)
		if at := findStop(text, opts.StopStrings); at >= 0 {
			res.StopReason = StopString
			res.Text = text[:at]
			res.Tokens = tokensBefore(res.Tokens, at, opts.Decode)
			return res, nil
		}
		next.push(tok)
	}
	if opts.Decode != nil {
		res.Text = opts.Decode(res.Tokens)
	}
	return res, nil
}

// findStop returns the byte offset of the earliest stop string in text, or
// -1.
func findStop(text string, stops []string) int {
	at := -1
	for _, stop := range stops {
		if i := strings.Index(text, stop); i >= 0 && (at < 0 || i < at) {
			at = i
		}
	}
	return at
}

// tokensBefore returns the longest prefix of tokens whose decoded text is
// no longer than cut bytes.
func tokensBefore(tokens []int32, cut int, decode func([]int32) string) []int32 {
	n := len(tokens)
	for n > 0 && len(decode(tokens[:n])) > cut {
		n--
	}
	return tokens[:n:n]
}

// nextLogits returns the logits of the token after a growing context.
type nextLogits struct {
	m       CausalLM
	dec     decoder
	context []int32
	cur     []float32
	pending bool // context has tokens the decoder has not seen
}

func newNextLogits(m CausalLM, prompt []int32) *nextLogits {
	n := &nextLogits{m: m, dec: newDecoder(m), context: slices.Clone(prompt), pending: true}
	return n
}

func (n *nextLogits) push(tok int32) {
	n.context = append(n.context, tok)
	n.pending = true
}

// logits returns the logits [V] after the context, owned by n.
func (n *nextLogits) logits() []float32 {
	if !n.pending {
		return n.cur
	}
	n.pending = false
	maxT := n.m.MaxPositions()
	window := n.context
	if len(window) > maxT {
		window = window[len(window)-maxT:]
	}

	// Without a cache, or once the context outgrows the positions, run the
	// whole window as Greedy does.
	if n.dec == nil || len(n.context) > n.dec.capacity() {
		// NOTE: past the model's positions every token recomputes the last
		// MaxPositions tokens from position 0, which matches Greedy but
		// costs a full pass per token.
		V := n.m.VocabSize()
		all := n.m.Forward(window, 1, len(window))
		n.cur = all[(len(window)-1)*V : len(window)*V]
		return n.cur
	}
	n.cur = n.dec.step(n.context[n.dec.len():])
	return n.cur
}

// sampler picks the next token from logits.
type sampler struct {
	opts  GenerateOptions
	rng   *rand.Rand
	probs []float64 // [V] scratch
	order []int32   // [V] scratch
}

func newSampler(opts GenerateOptions, V int) *sampler {
	return &sampler{
		opts:  opts,
		rng:   rand.New(rand.NewPCG(opts.Seed, generateSeedHi)),
		probs: make([]float64, V),
		order: make([]int32, V),
	}
}

func (s *sampler) pick(logits []float32) int32 {
	if s.opts.Temperature == 0 {
		return argmax(logits)
	}
	softmaxTemperature(s.probs, logits, s.opts.Temperature)
	topKFilter(s.probs, s.order, s.opts.TopK)
	topPFilter(s.probs, s.order, s.opts.TopP)
	return sampleIndex(s.probs, s.rng.Float64())
}

// argmax returns the index of the largest value, the lowest on ties.
func argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

// softmaxTemperature sets probs = softmax(logits / temperature), in float64.
func softmaxTemperature(probs []float64, logits []float32, temperature float64) {
	maxVal := math.Inf(-1)
	for _, l := range logits {
		maxVal = max(maxVal, float64(l)/temperature)
	}
	var sum float64
	for i, l := range logits {
		probs[i] = math.Exp(float64(l)/temperature - maxVal)
		sum += probs[i]
	}
	for i := range probs {
		probs[i] /= sum
	}
}

// sortByProb fills order with the token ids sorted by descending
// probability, ties to the lower id.
func sortByProb(probs []float64, order []int32) {
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(probs[b], probs[a]) })
}

// topKFilter zeroes all but the k largest probabilities and renormalizes;
// k == 0 or k >= len(probs) keeps all. Tokens tied with the k-th largest
// are dropped if they have a higher id. order is scratch of len(probs).
func topKFilter(probs []float64, order []int32, k int) {
	if k <= 0 || k >= len(probs) {
		return
	}
	sortByProb(probs, order)
	for _, id := range order[k:] {
		probs[id] = 0
	}
	normalize(probs)
}

// topPFilter keeps the most likely tokens until their probabilities sum to
// at least p (always at least one token), zeroes the rest and
// renormalizes; p == 0 or p >= 1 keeps all.
func topPFilter(probs []float64, order []int32, p float64) {
	if p <= 0 || p >= 1 {
		return
	}
	sortByProb(probs, order)
	var cum float64
	for i, id := range order {
		if i > 0 && cum >= p {
			probs[id] = 0
			continue
		}
		cum += probs[id]
	}
	normalize(probs)
}

func normalize(probs []float64) {
	var sum float64
	for _, p := range probs {
		sum += p
	}
	for i := range probs {
		probs[i] /= sum
	}
}

// sampleIndex returns the index i where the cumulative probability first
// exceeds u in [0, 1), skipping zero entries. When rounding leaves u past
// the total, it returns the last nonzero entry.
func sampleIndex(probs []float64, u float64) int32 {
	var cum float64
	last := int32(-1)
	for i, p := range probs {
		if p == 0 {
			continue
		}
		cum += p
		last = int32(i)
		if u < cum {
			return int32(i)
		}
	}
	return last
}
