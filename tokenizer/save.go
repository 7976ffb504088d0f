package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/adapt-llm/adapt/internal/atomicfile"
)

// Save writes the tokenizer to path as a tokenizer.json in the layout of
// Hugging Face tokenizers 0.23: version, truncation, padding, added_tokens,
// normalizer, pre_tokenizer, post_processor, decoder and a BPE model with
// the vocabulary in id order. Merges are written as legacy "a b" strings,
// which every transformers version reads. When a merged token contains a
// space, they are written as [a, b] pairs instead. The file is written to a
// temporary name in the same folder and renamed, so path never holds a
// partial file.
func (t *Tokenizer) Save(path string) error {
	data, err := t.marshal()
	if err != nil {
		return fmt.Errorf("encoding tokenizer for %s: %w", path, err)
	}
	return writeFileAtomic(path, data)
}

func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("saving tokenizer %s: %w", path, err)
	}
	return nil
}

// marshal returns the tokenizer.json encoding of t.
func (t *Tokenizer) marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	writeValue := func(v any) error {
		if err := enc.Encode(v); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode appends a newline
		return nil
	}
	writeRaw := func(raw json.RawMessage) error {
		if isNull(raw) {
			buf.WriteString("null")
			return nil
		}
		return json.Compact(&buf, raw)
	}

	buf.WriteString(`{"version":"1.0","truncation":null,"padding":null,"added_tokens":[`)
	for i, tok := range t.added {
		if i > 0 {
			buf.WriteByte(',')
		}
		err := writeValue(addedTokenJSON{
			ID: int64(tok.id), Content: tok.content, SingleWord: tok.singleWord,
			LStrip: tok.lstrip, RStrip: tok.rstrip, Normalized: tok.normalized, Special: tok.special,
		})
		if err != nil {
			return nil, err
		}
	}
	buf.WriteString(`]`)
	for _, part := range []struct {
		key string
		raw json.RawMessage
	}{
		{"normalizer", t.rawNormalizer},
		{"pre_tokenizer", t.rawPreTokenizer},
		{"post_processor", t.rawPostProcessor},
		{"decoder", t.rawDecoder},
	} {
		buf.WriteString(`,"` + part.key + `":`)
		if err := writeRaw(part.raw); err != nil {
			return nil, fmt.Errorf("%s: %w", part.key, err)
		}
	}

	m := t.model
	buf.WriteString(`,"model":{"type":"BPE","dropout":null,"unk_token":`)
	for _, field := range []struct {
		key   string
		value *string
	}{
		{"", m.unkToken},
		{"continuing_subword_prefix", m.continuingSubwordPrefix},
		{"end_of_word_suffix", m.endOfWordSuffix},
	} {
		if field.key != "" {
			buf.WriteString(`,"` + field.key + `":`)
		}
		if field.value == nil {
			buf.WriteString("null")
		} else if err := writeValue(*field.value); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(&buf, `,"fuse_unk":%t,"byte_fallback":%t,"ignore_merges":%t,"vocab":{`, m.fuseUnk, m.byteFallback, m.ignoreMerges)
	first := true
	for id, tok := range m.idToToken {
		if tok == "" || m.vocab[tok] != int32(id) {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		if err := writeValue(tok); err != nil {
			return nil, err
		}
		fmt.Fprintf(&buf, ":%d", id)
	}
	buf.WriteString(`},"merges":[`)
	legacy := true
	for _, pair := range m.mergeOrder {
		if strings.Contains(m.idToToken[pair[0]], " ") || strings.Contains(m.idToToken[pair[1]], " ") {
			legacy = false
			break
		}
	}
	for i, pair := range m.mergeOrder {
		if i > 0 {
			buf.WriteByte(',')
		}
		var v any = [2]string{m.idToToken[pair[0]], m.idToToken[pair[1]]}
		if legacy {
			v = m.idToToken[pair[0]] + " " + m.idToToken[pair[1]]
		}
		if err := writeValue(v); err != nil {
			return nil, err
		}
	}
	buf.WriteString(`]}}`)
	return buf.Bytes(), nil
}
