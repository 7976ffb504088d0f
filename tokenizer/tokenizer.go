// Package tokenizer loads, runs, trains and saves Hugging Face tokenizer.json
// tokenizers with the BPE model, matching the Rust library
// huggingface/tokenizers 0.23 id for id.
//
// Supported components:
//   - model: BPE, with byte_fallback, fuse_unk, unk_token and ignore_merges;
//     merges as "a b" strings or ["a", "b"] pairs
//   - normalizer: Prepend, Replace with a literal pattern, NFC, NFD, NFKC,
//     NFKD, Sequence
//   - pre_tokenizer: ByteLevel, Metaspace, Split with the GPT-2, cl100k
//     (Llama 3) or Qwen2 regex, or a Sequence of such a Split and
//     ByteLevel(use_regex=false)
//   - post_processor: ByteLevel, TemplateProcessing (single sequences),
//     Sequence
//   - decoder: ByteLevel, Metaspace, Replace with a literal pattern,
//     ByteFallback, Fuse, Strip, Sequence
//
// This covers GPT-2, cl100k, Llama 3 and Qwen2 style byte-level BPE and the
// Llama 2 and Mistral SentencePiece-style BPE, in both the Prepend/Replace
// and the Metaspace layout. Other model types (WordPiece,
// Unigram, WordLevel) and components fail to load with ErrUnsupported.
// Truncation and padding are not implemented.
//
// A Tokenizer is safe for concurrent use.
package tokenizer

import (
	"encoding/json"
	"strings"
)

// Tokenizer encodes text to token ids and decodes ids to text.
type Tokenizer struct {
	model *bpeModel

	added          []*addedToken // in file order
	addedByID      map[int32]*addedToken
	addedByContent map[string]*addedToken
	rawMatcher     *addedMatcher // tokens matched before normalization
	normMatcher    *addedMatcher // tokens matched after normalization

	normalizer normalizer      // nil: none
	pre        *preTokenizer   // never nil
	template   []templatePiece // nil: the post-processor adds no ids
	decoder    decoder         // nil: tokens joined with spaces

	byteLevelDecode bool // decoder is exactly ByteLevel

	// The components as read from the file, written back by Save.
	rawNormalizer, rawPreTokenizer, rawPostProcessor, rawDecoder json.RawMessage
}

// EncodeOptions controls EncodeWithOptions. The zero value adds no special
// tokens and matches special-token text as special tokens.
type EncodeOptions struct {
	// AddSpecialTokens runs the post-processor, which for example prepends
	// <s> for Llama 2 and Mistral. It is Hugging Face's add_special_tokens.
	AddSpecialTokens bool
	// SplitSpecialTokens encodes the text of special added tokens as
	// ordinary text instead of matching them (Rust encode_special_tokens,
	// transformers split_special_tokens). Non-special added tokens are
	// still matched.
	SplitSpecialTokens bool
}

// Encode returns the ids of text with Hugging Face's defaults: special
// tokens in the text are recognised and the post-processor adds its special
// tokens.
func (t *Tokenizer) Encode(text string) []int32 {
	return t.EncodeWithOptions(text, EncodeOptions{AddSpecialTokens: true})
}

// EncodeWithOptions returns the ids of text.
func (t *Tokenizer) EncodeWithOptions(text string, opts EncodeOptions) []int32 {
	e := encoder{t: t, skipSpecial: opts.SplitSpecialTokens, ids: make([]int32, 0, len(text)/4+4), atStart: true}
	t.rawMatcher.split(text, e.skipSpecial, e.rawPiece)
	if !opts.AddSpecialTokens || t.template == nil {
		return e.ids
	}

	out := make([]int32, 0, len(e.ids)+4)
	for _, piece := range t.template {
		if piece.sequence {
			out = append(out, e.ids...)
		} else {
			out = append(out, piece.ids...)
		}
	}
	return out
}

// encoder carries the output of one Encode call through the pipeline
// callbacks.
type encoder struct {
	t           *Tokenizer
	skipSpecial bool
	ids         []int32
	// atStart is true until the first piece of the input has been handled,
	// so the Metaspace prepend scheme "first" can tell the piece at
	// offset 0 from later ones.
	atStart bool
}

// rawPiece handles a piece of the input text after the raw added tokens
// have been split out.
func (e *encoder) rawPiece(piece string, id int32) {
	if id >= 0 {
		e.ids = append(e.ids, id)
		e.atStart = false
		return
	}
	if piece == "" {
		return
	}
	if e.t.normalizer != nil {
		piece = e.t.normalizer.normalize(piece)
	}
	e.t.normMatcher.split(piece, e.skipSpecial, e.normalizedPiece)
}

// normalizedPiece handles a piece of normalized text after the normalized
// added tokens have been split out.
func (e *encoder) normalizedPiece(piece string, id int32) {
	atStart := e.atStart
	e.atStart = false
	if id >= 0 {
		e.ids = append(e.ids, id)
		return
	}
	if piece == "" {
		return
	}
	e.t.pre.words(piece, atStart, e.word)
}

func (e *encoder) word(w string) {
	e.ids = e.t.model.encodeWord(e.ids, w)
}

// Decode returns the text of ids. Ids that are neither in the vocabulary
// nor added tokens are skipped, as in the Rust library; with skipSpecial,
// special added tokens are skipped too. Invalid UTF-8 produced by
// byte-level tokens becomes U+FFFD, one per maximal invalid subsequence.
func (t *Tokenizer) Decode(ids []int32, skipSpecial bool) string {
	if t.byteLevelDecode {
		var buf []byte
		for _, id := range ids {
			if tok, ok := t.decodeToken(id, skipSpecial); ok {
				buf = byteLevelBytes(buf, tok)
			}
		}
		return string(appendLossyUTF8(make([]byte, 0, len(buf)), buf))
	}

	tokens := make([]string, 0, len(ids))
	for _, id := range ids {
		if tok, ok := t.decodeToken(id, skipSpecial); ok {
			tokens = append(tokens, tok)
		}
	}
	if t.decoder == nil {
		return strings.Join(tokens, " ")
	}
	return strings.Join(t.decoder.decodeChain(tokens), "")
}

func (t *Tokenizer) decodeToken(id int32, skipSpecial bool) (string, bool) {
	if tok, ok := t.addedByID[id]; ok {
		if skipSpecial && tok.special {
			return "", false
		}
		return tok.content, true
	}
	tok, ok := t.model.token(id)
	if ok && skipSpecial {
		if a, isAdded := t.addedByContent[tok]; isAdded && a.special {
			return "", false
		}
	}
	return tok, ok
}

// VocabSize returns the number of distinct tokens in the model vocabulary
// and the added tokens together, as Rust get_vocab_size(true) does. When
// ids have gaps, the largest id can be VocabSize or more.
func (t *Tokenizer) VocabSize() int {
	n := len(t.model.vocab)
	for _, tok := range t.added {
		if _, inVocab := t.model.vocab[tok.content]; !inVocab {
			n++
		}
	}
	return n
}

// TokenToID returns the id of a token string, looking at the added tokens
// first and then the model vocabulary.
func (t *Tokenizer) TokenToID(token string) (int32, bool) {
	if tok, ok := t.addedByContent[token]; ok {
		return tok.id, true
	}
	id, ok := t.model.vocab[token]
	return id, ok
}

// IDToToken returns the token string of id in vocabulary form (for example
// "Ġworld" or "<0x0A>").
func (t *Tokenizer) IDToToken(id int32) (string, bool) {
	if tok, ok := t.addedByID[id]; ok {
		return tok.content, true
	}
	return t.model.token(id)
}
