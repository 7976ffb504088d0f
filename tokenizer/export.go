package tokenizer

import "encoding/json"

// Accessors for converters that rewrite a tokenizer in another format,
// such as package model/gguf writing tokenizer.ggml.* metadata.

// Parse builds a tokenizer from the contents of a tokenizer.json, as Load
// does for a file; name identifies the data in errors.
func Parse(data []byte, name string) (*Tokenizer, error) {
	return parse(data, name)
}

// AddedToken is one entry of a tokenizer.json's added_tokens.
type AddedToken struct {
	ID      int32
	Content string
	// Special marks a control token such as "<|endoftext|>" or "<s>".
	Special bool
}

// Tokens returns every token string indexed by id: the model vocabulary
// with the added tokens placed at their ids. An id that neither uses is
// "". The slice is a copy.
func (t *Tokenizer) Tokens() []string {
	n := len(t.model.idToToken)
	for _, a := range t.added {
		n = max(n, int(a.id)+1)
	}
	out := make([]string, n)
	copy(out, t.model.idToToken)
	for _, a := range t.added {
		out[a.id] = a.content
	}
	return out
}

// Merges returns the BPE merges as (left, right) token pairs, highest
// priority (rank 0) first.
func (t *Tokenizer) Merges() [][2]string {
	m := t.model
	out := make([][2]string, len(m.mergeOrder))
	for i, p := range m.mergeOrder {
		out[i] = [2]string{m.idToToken[p[0]], m.idToToken[p[1]]}
	}
	return out
}

// AddedTokens returns the added tokens in file order.
func (t *Tokenizer) AddedTokens() []AddedToken {
	out := make([]AddedToken, len(t.added))
	for i, a := range t.added {
		out[i] = AddedToken{ID: a.id, Content: a.content, Special: a.special}
	}
	return out
}

// Components returns the normalizer, pre_tokenizer, post_processor and
// decoder objects as they appear in tokenizer.json ("null" or empty when
// absent).
func (t *Tokenizer) Components() (normalizer, preTokenizer, postProcessor, decoder json.RawMessage) {
	return t.rawNormalizer, t.rawPreTokenizer, t.rawPostProcessor, t.rawDecoder
}

// ByteFallback reports whether the BPE model falls back to <0xNN> byte
// tokens for unknown characters (SentencePiece-style BPE, Llama 2 and
// Mistral).
func (t *Tokenizer) ByteFallback() bool { return t.model.byteFallback }

// UnknownID returns the id of the model's unk_token and whether it has one.
func (t *Tokenizer) UnknownID() (int32, bool) { return t.model.unkID, t.model.unkID >= 0 }
