package llama2c

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/adapt-llm/adapt/model/gguf"
)

// Special token ids of llama2.c's SentencePiece vocabularies (run.c treats
// 1 as BOS and 2 as EOS; tokenizer.py exports <unk>, <s>, </s> first).
const (
	unkID = 0
	bosID = 1
	eosID = 2
)

// ReadTokenizer reads a llama2.c tokenizer file (tokenizer.bin, tok512.bin)
// and returns it as a SentencePiece vocabulary whose Encode and Decode
// match run.c's: BOS, a space before the text, byte fallback through the
// <0xNN> tokens, merges by score.
func ReadTokenizer(path string) (*gguf.Vocab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading llama2.c tokenizer: %w", err)
	}
	return ParseTokenizer(data, path)
}

// ParseTokenizer parses a whole tokenizer file held in data; name
// identifies it in errors. It returns an error wrapping ErrCorrupt for a
// truncated file or an invalid record.
func ParseTokenizer(data []byte, name string) (*gguf.Vocab, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("%s: %w: %d bytes, shorter than the 4-byte max_token_length", name, ErrCorrupt, len(data))
	}
	maxLen := int32(binary.LittleEndian.Uint32(data))
	if maxLen <= 0 {
		return nil, fmt.Errorf("%s: %w: max_token_length %d at byte offset 0 is not positive", name, ErrCorrupt, maxLen)
	}

	// A record is at least 8 bytes, so the file bounds the token count.
	v := &gguf.Vocab{Model: "llama", BOS: -1, EOS: -1, UNK: -1, PAD: -1, AddBOS: true, AddSpacePrefix: true}
	v.Tokens = make([]string, 0, (len(data)-4)/8)
	v.Scores = make([]float32, 0, (len(data)-4)/8)
	for off := 4; off < len(data); {
		if len(data)-off < 8 {
			return nil, fmt.Errorf("%s: %w: token %d at byte offset %d: record header needs 8 bytes, %d remain", name, ErrCorrupt, len(v.Tokens), off, len(data)-off)
		}
		score := math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
		n := int32(binary.LittleEndian.Uint32(data[off+4:]))
		if n < 0 || n > maxLen || int64(n) > int64(len(data)-off-8) {
			return nil, fmt.Errorf("%s: %w: token %d at byte offset %d: length %d is negative, above max_token_length %d, or past the end of the file",
				name, ErrCorrupt, len(v.Tokens), off+4, n, maxLen)
		}
		text := string(data[off+8 : off+8+int(n)])
		// llama2.c writes SentencePiece's U+2581 as a space; restore it so
		// that the vocabulary has the SentencePiece form GGUF uses.
		v.Tokens = append(v.Tokens, strings.ReplaceAll(text, " ", "\u2581"))
		v.Scores = append(v.Scores, score)
		off += 8 + int(n)
	}

	// Token types: the first three are <unk>, <s>, </s>; <0xNN> are bytes.
	// llama2.c's tokenizer.py writes BOS and EOS as "\n<s>\n" and
	// "\n</s>\n" so that run.c prints them on lines of their own; they are
	// renamed to the SentencePiece names.
	v.Types = make([]int32, len(v.Tokens))
	for i, t := range v.Tokens {
		switch {
		case i == unkID && t == "<unk>":
			v.Types[i], v.UNK = gguf.TokenUnknown, unkID
		case i == bosID && (t == "<s>" || t == "\n<s>\n"):
			v.Tokens[i], v.Types[i] = "<s>", gguf.TokenControl
		case i == eosID && (t == "</s>" || t == "\n</s>\n"):
			v.Tokens[i], v.Types[i] = "</s>", gguf.TokenControl
		case len(t) == 6 && strings.HasPrefix(t, "<0x") && t[5] == '>':
			v.Types[i] = gguf.TokenByte
		default:
			v.Types[i] = gguf.TokenNormal
		}
	}
	if len(v.Tokens) > eosID {
		v.BOS, v.EOS = bosID, eosID
	}
	return v, nil
}
