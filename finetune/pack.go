package finetune

import (
	"fmt"
	"math/rand/v2"
)

// ignoreIndex marks a target position that the loss skips; it equals
// model.IgnoreIndex and PyTorch's CrossEntropyLoss default.
const ignoreIndex = -100

// Packed is a split packed into fixed-length sequences.
type Packed struct {
	// SeqLen is the number of tokens per sequence (T).
	SeqLen int
	// Inputs and Targets are [N, SeqLen] row-major. Targets[i] is the token
	// after Inputs[i] in the document stream, or ignoreIndex where the
	// stream ended before the last sequence was full.
	Inputs, Targets []int32
	// Tokens is the number of tokens in the stream, including the
	// end-of-text tokens between documents.
	Tokens int64
}

// Len returns the number of sequences.
func (p *Packed) Len() int {
	if p.SeqLen == 0 {
		return 0
	}
	return len(p.Inputs) / p.SeqLen
}

// Packer concatenates tokenized documents into one stream, with the
// end-of-text token after each document, and cuts the stream into sequences
// of SeqLen inputs. Sequence i holds stream[i·T : i·T+T] as inputs and
// stream[i·T+1 : i·T+T+1] as targets, so consecutive sequences share one
// boundary token and every stream token but the first is a target exactly
// once. This is the packing of Hugging Face's run_clm.py group_texts with
// the shift made explicit.
type Packer struct {
	seqLen int
	eot    int32
	stream []int32
}

// NewPacker returns a packer for sequences of seqLen tokens with eot as the
// end-of-text token. It panics if seqLen < 1.
func NewPacker(seqLen int, eot int32) *Packer {
	if seqLen < 1 {
		panic(fmt.Sprintf("finetune: NewPacker sequence length %d < 1", seqLen))
	}
	return &Packer{seqLen: seqLen, eot: eot}
}

// Add appends one document's tokens and an end-of-text token to the stream.
// An empty document adds nothing.
func (p *Packer) Add(doc []int32) {
	if len(doc) == 0 {
		return
	}
	p.stream = append(p.stream, doc...)
	p.stream = append(p.stream, p.eot)
}

// Finish cuts the stream into sequences. A trailing part of at least two
// tokens that does not fill a whole sequence becomes a last sequence padded
// with end-of-text inputs and ignoreIndex targets, so no text is lost.
func (p *Packer) Finish() *Packed {
	T := p.seqLen
	out := &Packed{SeqLen: T, Tokens: int64(len(p.stream))}
	for start := 0; start+1 < len(p.stream); start += T {
		for j := range T {
			in, tgt := p.eot, int32(ignoreIndex)
			if start+j+1 < len(p.stream) {
				in, tgt = p.stream[start+j], p.stream[start+j+1]
			} else if start+j < len(p.stream) {
				in = p.stream[start+j]
			}
			out.Inputs = append(out.Inputs, in)
			out.Targets = append(out.Targets, tgt)
		}
	}
	return out
}

// epochOrder returns the order in which the sequences of a split of n
// sequences are visited in the given epoch. The permutation depends only on
// seed and epoch, so a resumed run visits the same order.
func epochOrder(n int, seed int64, epoch int) []int {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(epoch)))
	return rng.Perm(n)
}
