package gguf

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/adapt-llm/adapt/tokenizer"
)

// Token types of tokenizer.ggml.token_type (llama_token_type in llama.cpp).
const (
	TokenNormal      int32 = 1
	TokenUnknown     int32 = 2
	TokenControl     int32 = 3
	TokenUserDefined int32 = 4
	TokenUnused      int32 = 5
	TokenByte        int32 = 6
)

// spaceMarker is SentencePiece's visible space, U+2581, which stands for
// " " inside "llama" (SentencePiece) vocabularies.
const spaceMarker = "\u2581"

// Vocab is the tokenizer stored in a GGUF file's tokenizer.ggml.* metadata.
type Vocab struct {
	// Model is tokenizer.ggml.model: "llama" (SentencePiece BPE ranked by
	// score) or "gpt2" (byte-level BPE ranked by merges).
	Model string
	// Pre is tokenizer.ggml.pre, the gpt2 pre-tokenizer name ("default",
	// "llama-bpe", "qwen2", ...); empty when absent.
	Pre string
	// Tokens[id] is the token's text; SentencePiece tokens write a space as
	// U+2581 and bytes as "<0xNN>".
	Tokens []string
	// Scores[id] is the SentencePiece score; higher merges first. Nil when
	// the file has none.
	Scores []float32
	// Types[id] is one of the Token* constants. Types is nil when the file
	// has none.
	Types []int32
	// Merges are the gpt2 merges as "left right", highest priority first.
	Merges []string
	// BOS, EOS, UNK and PAD are token ids, -1 when absent.
	BOS, EOS, UNK, PAD int32
	// AddBOS is tokenizer.ggml.add_bos_token. Absent means true for
	// "llama" and false for "gpt2", as in llama.cpp.
	AddBOS bool
	// AddSpacePrefix is tokenizer.ggml.add_space_prefix. Absent means true
	// for "llama": SentencePiece encodes "Hi" as if it were " Hi".
	AddSpacePrefix bool

	ids     map[string]int32
	idsOnce sync.Once
	once    sync.Once
	tok     *tokenizer.Tokenizer
	err     error
}

// Vocab reads the tokenizer metadata. It returns an error wrapping
// ErrMissing when tokenizer.ggml.tokens is absent, ErrUnsupported for a
// model other than "llama" and "gpt2", and ErrCorrupt when the arrays
// disagree in length or an id is out of range.
func (f *File) Vocab() (*Vocab, error) {
	v := &Vocab{BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	v.Model, _ = f.String("tokenizer.ggml.model")
	if v.Model != "llama" && v.Model != "gpt2" {
		return nil, fmt.Errorf("%s: %w: tokenizer.ggml.model %q (only \"llama\" and \"gpt2\" are read)", f.Name, ErrUnsupported, v.Model)
	}
	v.Pre, _ = f.String("tokenizer.ggml.pre")
	raw, _ := f.Get("tokenizer.ggml.tokens")
	tokens, ok := raw.([]string)
	if !ok || len(tokens) == 0 {
		return nil, fmt.Errorf("%s: %w: tokenizer.ggml.tokens is absent or not a string array", f.Name, ErrMissing)
	}
	v.Tokens = tokens
	if raw, ok := f.Get("tokenizer.ggml.scores"); ok {
		if v.Scores, ok = raw.([]float32); !ok || len(v.Scores) != len(tokens) {
			return nil, fmt.Errorf("%s: %w: tokenizer.ggml.scores is not a float32 array of %d entries", f.Name, ErrCorrupt, len(tokens))
		}
	}
	if raw, ok := f.Get("tokenizer.ggml.token_type"); ok {
		if v.Types, ok = raw.([]int32); !ok || len(v.Types) != len(tokens) {
			return nil, fmt.Errorf("%s: %w: tokenizer.ggml.token_type is not an int32 array of %d entries", f.Name, ErrCorrupt, len(tokens))
		}
	}
	if raw, ok := f.Get("tokenizer.ggml.merges"); ok {
		if v.Merges, ok = raw.([]string); !ok {
			return nil, fmt.Errorf("%s: %w: tokenizer.ggml.merges is not a string array", f.Name, ErrCorrupt)
		}
	}
	if v.Model == "llama" && v.Scores == nil {
		return nil, fmt.Errorf("%s: %w: a \"llama\" tokenizer needs tokenizer.ggml.scores", f.Name, ErrMissing)
	}

	for _, id := range []struct {
		key string
		dst *int32
	}{{"bos_token_id", &v.BOS}, {"eos_token_id", &v.EOS}, {"unknown_token_id", &v.UNK}, {"padding_token_id", &v.PAD}} {
		if x, ok := f.Uint("tokenizer.ggml." + id.key); ok && x < uint64(len(tokens)) {
			*id.dst = int32(x)
		}
	}
	v.AddBOS = v.Model == "llama"
	if x, ok := f.Get("tokenizer.ggml.add_bos_token"); ok {
		b, _ := x.(bool)
		v.AddBOS = b
	}
	v.AddSpacePrefix = v.Model == "llama"
	if x, ok := f.Get("tokenizer.ggml.add_space_prefix"); ok {
		b, _ := x.(bool)
		v.AddSpacePrefix = b
	}
	return v, nil
}

// init builds the token-to-id index once, so that a Vocab built as a
// literal (as package llama2c does) is safe for concurrent Encode calls.
func (v *Vocab) init() { v.idsOnce.Do(v.buildIndex) }

func (v *Vocab) buildIndex() {
	v.ids = make(map[string]int32, len(v.Tokens))
	for i, t := range v.Tokens {
		if _, dup := v.ids[t]; !dup {
			v.ids[t] = int32(i)
		}
	}
}

func (v *Vocab) tokenType(id int32) int32 {
	if v.Types == nil {
		return TokenNormal
	}
	return v.Types[id]
}

// TokenID returns the id of the token text tok.
func (v *Vocab) TokenID(tok string) (int32, bool) {
	v.init()
	id, ok := v.ids[tok]
	return id, ok
}

// Encode returns the ids of text, with BOS first when addBOS is true and
// the vocabulary has one. A "llama" vocabulary is encoded as llama.cpp's
// SentencePiece tokenizer (llm_tokenizer_spm, 2024) and llama2.c's encode
// do; a "gpt2" vocabulary through the tokenizer package (see Tokenizer).
func (v *Vocab) Encode(text string, addBOS bool) ([]int32, error) {
	var ids []int32
	if addBOS && v.BOS >= 0 {
		ids = append(ids, v.BOS)
	}
	if v.Model == "llama" {
		return v.encodeSPM(ids, text), nil
	}
	tok, err := v.Tokenizer()
	if err != nil {
		return nil, err
	}
	return append(ids, tok.EncodeWithOptions(text, tokenizer.EncodeOptions{})...), nil
}

// encodeSPM appends the SentencePiece encoding of text to ids. The text
// (with a leading space when AddSpacePrefix) is split into characters, with
// spaces written as U+2581. Then the adjacent pair whose concatenation is
// the highest-scoring token is merged, leftmost first on ties, until no
// pair is a token. A character that is not a token becomes its <0xNN> byte
// tokens, or UNK when those are missing.
func (v *Vocab) encodeSPM(ids []int32, text string) []int32 {
	if text == "" {
		return ids
	}
	v.init()
	if v.AddSpacePrefix {
		text = " " + text
	}
	text = strings.ReplaceAll(text, " ", spaceMarker)

	// One symbol per UTF-8 character, in a doubly linked list.
	syms := make([]spmSymbol, 0, len(text))
	for i := 0; i < len(text); {
		_, n := utf8.DecodeRuneInString(text[i:])
		syms = append(syms, spmSymbol{start: i, end: i + n, prev: len(syms) - 1, next: len(syms) + 1})
		i += n
	}
	syms[len(syms)-1].next = -1

	q := &spmQueue{}
	push := func(left int) {
		if left < 0 || syms[left].next < 0 {
			return
		}
		right := syms[left].next
		id, ok := v.ids[text[syms[left].start:syms[right].end]]
		if !ok || v.tokenType(id) == TokenControl || v.tokenType(id) == TokenUnused {
			return
		}
		heap.Push(q, spmBigram{left: left, right: right, score: v.score(id), size: syms[right].end - syms[left].start})
	}
	for i := range syms {
		push(i)
	}
	for q.Len() > 0 {
		b := heap.Pop(q).(spmBigram)
		l, r := &syms[b.left], &syms[b.right]
		// Skip a bigram made stale by an earlier merge.
		if l.removed || r.removed || l.next != b.right || r.end-l.start != b.size {
			continue
		}
		l.end = r.end
		r.removed = true
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		push(l.prev)
		push(b.left)
	}

	for i := 0; i >= 0; i = syms[i].next {
		piece := text[syms[i].start:syms[i].end]
		if id, ok := v.ids[piece]; ok {
			ids = append(ids, id)
			continue
		}
		for j := 0; j < len(piece); j++ {
			if id, ok := v.ids[fmt.Sprintf("<0x%02X>", piece[j])]; ok {
				ids = append(ids, id)
			} else if v.UNK >= 0 {
				ids = append(ids, v.UNK)
			}
		}
	}
	return ids
}

func (v *Vocab) score(id int32) float32 {
	if v.Scores == nil {
		return 0
	}
	return v.Scores[id]
}

type spmSymbol struct {
	start, end int // byte range in the escaped text
	prev, next int // -1 at the ends
	removed    bool
}

type spmBigram struct {
	left, right int
	score       float32
	size        int
}

// spmQueue orders bigrams by score, highest first, then by position,
// leftmost first.
type spmQueue []spmBigram

func (q spmQueue) Len() int { return len(q) }
func (q spmQueue) Less(i, j int) bool {
	if q[i].score != q[j].score {
		return q[i].score > q[j].score
	}
	return q[i].left < q[j].left
}
func (q spmQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *spmQueue) Push(x any)   { *q = append(*q, x.(spmBigram)) }
func (q *spmQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// Decode returns the text of ids. For a "llama" vocabulary U+2581 becomes a
// space, <0xNN> tokens become their bytes, control tokens (BOS, EOS) are
// dropped, and the space that AddSpacePrefix put before the first word is
// removed. A "gpt2" vocabulary is decoded through Tokenizer; an error there
// yields "".
func (v *Vocab) Decode(ids []int32) string {
	if v.Model != "llama" {
		tok, err := v.Tokenizer()
		if err != nil {
			return ""
		}
		return tok.Decode(ids, true)
	}
	var b strings.Builder
	for _, id := range ids {
		if id < 0 || int(id) >= len(v.Tokens) {
			continue
		}
		switch v.tokenType(id) {
		case TokenControl, TokenUnknown, TokenUnused:
			continue
		case TokenByte:
			var c byte
			if _, err := fmt.Sscanf(v.Tokens[id], "<0x%02X>", &c); err == nil {
				b.WriteByte(c)
				continue
			}
		}
		b.WriteString(strings.ReplaceAll(v.Tokens[id], spaceMarker, " "))
	}
	s := b.String()
	if v.AddSpacePrefix {
		s = strings.TrimPrefix(s, " ")
	}
	return s
}

// Tokenizer returns the vocabulary as a Hugging Face tokenizer (built once
// from TokenizerJSON and loaded with the tokenizer package).
func (v *Vocab) Tokenizer() (*tokenizer.Tokenizer, error) {
	v.once.Do(func() {
		var js []byte
		js, v.err = v.TokenizerJSON()
		if v.err != nil {
			return
		}
		// NOTE: the tokenizer package loads only from a path, so the JSON
		// goes through a temporary file; a tokenizer.Parse(data) would
		// avoid it.
		dir, err := os.MkdirTemp("", "gguf-tokenizer-")
		if err != nil {
			v.err = fmt.Errorf("building tokenizer: %w", err)
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "tokenizer.json")
		if err := os.WriteFile(path, js, 0o600); err != nil {
			v.err = fmt.Errorf("building tokenizer: %w", err)
			return
		}
		v.tok, v.err = tokenizer.Load(path)
	})
	return v.tok, v.err
}

// Pre-tokenizer split patterns of Hugging Face tokenizer.json files, keyed
// by the tokenizer.ggml.pre names llama.cpp gives them (llama-vocab.cpp).
const (
	cl100kRegex = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	qwen2Regex  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// TokenizerJSON returns the vocabulary as a Hugging Face tokenizer.json
// (tokenizers 0.23 layout). A "llama" vocabulary becomes a BPE with byte
// fallback whose merges are derived from the scores, as transformers'
// SentencePieceExtractor does: every split of a normal token into two
// tokens is a merge, ranked by the merged token's score. A "gpt2"
// vocabulary becomes a byte-level BPE with the file's merges and the
// pre-tokenizer named by tokenizer.ggml.pre ("gpt-2"/"gpt2"/"default" or absent,
// "llama-bpe"/"llama3", "qwen2"). Other names return ErrUnsupported.
func (v *Vocab) TokenizerJSON() ([]byte, error) {
	vocab := make(map[string]int, len(v.Tokens))
	for i, t := range v.Tokens {
		if _, dup := vocab[t]; !dup {
			vocab[t] = i
		}
	}
	var added []map[string]any
	for i, t := range v.Tokens {
		if typ := v.tokenType(int32(i)); typ == TokenControl || typ == TokenUserDefined || (typ == TokenUnknown && v.Model == "llama") {
			added = append(added, map[string]any{"id": i, "content": t, "single_word": false, "lstrip": false,
				"rstrip": false, "normalized": false, "special": typ != TokenUserDefined})
		}
	}
	doc := map[string]any{"version": "1.0", "truncation": nil, "padding": nil, "added_tokens": added}
	bos := ""
	if v.BOS >= 0 {
		bos = v.Tokens[v.BOS]
	}

	switch v.Model {
	case "llama":
		var norm []any
		if v.AddSpacePrefix {
			norm = append(norm, map[string]any{"type": "Prepend", "prepend": spaceMarker})
		}
		norm = append(norm, map[string]any{"type": "Replace", "pattern": map[string]string{"String": " "}, "content": spaceMarker})
		doc["normalizer"] = map[string]any{"type": "Sequence", "normalizers": norm}
		doc["pre_tokenizer"] = nil
		decoders := []any{
			map[string]any{"type": "Replace", "pattern": map[string]string{"String": spaceMarker}, "content": " "},
			map[string]any{"type": "ByteFallback"},
			map[string]any{"type": "Fuse"},
		}
		if v.AddSpacePrefix {
			decoders = append(decoders, map[string]any{"type": "Strip", "content": " ", "start": 1, "stop": 0})
		}
		doc["decoder"] = map[string]any{"type": "Sequence", "decoders": decoders}
		var unk any
		if v.UNK >= 0 {
			unk = v.Tokens[v.UNK]
		}
		doc["model"] = map[string]any{"type": "BPE", "dropout": nil, "unk_token": unk, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
			"vocab": vocab, "merges": v.spmMerges(vocab)}
	case "gpt2":
		byteLevel := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
		switch v.Pre {
		case "", "default", "gpt2", "gpt-2":
			doc["pre_tokenizer"] = byteLevel
		case "llama-bpe", "llama3", "qwen2":
			regex := cl100kRegex
			if v.Pre == "qwen2" {
				regex = qwen2Regex
			}
			doc["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]string{"Regex": regex}, "behavior": "Isolated", "invert": false},
				map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
			}}
		default:
			return nil, fmt.Errorf("%w: tokenizer.ggml.pre %q has no known pre-tokenizer (known: default, gpt2, llama-bpe, llama3, qwen2)", ErrUnsupported, v.Pre)
		}
		doc["normalizer"] = nil
		doc["decoder"] = map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}
		doc["model"] = map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
			"vocab": vocab, "merges": v.Merges}
	default:
		return nil, fmt.Errorf("%w: tokenizer model %q", ErrUnsupported, v.Model)
	}

	// The post-processor prepends BOS when the vocabulary requests it.
	doc["post_processor"] = nil
	if v.AddBOS && bos != "" {
		doc["post_processor"] = map[string]any{"type": "TemplateProcessing",
			"single":         []any{map[string]any{"SpecialToken": map[string]any{"id": bos, "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
			"pair":           []any{map[string]any{"SpecialToken": map[string]any{"id": bos, "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}, map[string]any{"SpecialToken": map[string]any{"id": bos, "type_id": 1}}, map[string]any{"Sequence": map[string]any{"id": "B", "type_id": 1}}},
			"special_tokens": map[string]any{bos: map[string]any{"id": bos, "ids": []int32{v.BOS}, "tokens": []string{bos}}},
		}
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding tokenizer.json: %w", err)
	}
	return js, nil
}

// spmMerges derives BPE merges from SentencePiece scores. Each split of a
// normal token into two tokens gives a merge. Merges are sorted by the merged
// token's score, highest first, then by token id, then by the halves' ids.
func (v *Vocab) spmMerges(vocab map[string]int) [][2]string {
	type merge struct {
		left, right string
		id          int
		lid, rid    int
	}
	var merges []merge
	for id, tok := range v.Tokens {
		if v.tokenType(int32(id)) != TokenNormal || vocab[tok] != id {
			continue
		}
		for i := 1; i < len(tok); i++ {
			if !utf8.RuneStart(tok[i]) {
				continue
			}
			l, okL := vocab[tok[:i]]
			r, okR := vocab[tok[i:]]
			if okL && okR {
				merges = append(merges, merge{left: tok[:i], right: tok[i:], id: id, lid: l, rid: r})
			}
		}
	}
	sort.SliceStable(merges, func(i, j int) bool {
		a, b := merges[i], merges[j]
		if sa, sb := v.score(int32(a.id)), v.score(int32(b.id)); sa != sb {
			return sa > sb
		}
		if a.id != b.id {
			return a.id < b.id
		}
		if a.lid != b.lid {
			return a.lid < b.lid
		}
		return a.rid < b.rid
	})
	out := make([][2]string, len(merges))
	for i, m := range merges {
		out[i] = [2]string{m.left, m.right}
	}
	return out
}
