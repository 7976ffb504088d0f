package gguf

// Export follows what llama.cpp's convert_hf_to_gguf.py (2025) does for the
// same folders: GPT2LMHeadModel becomes the "gpt2" architecture (see
// gpt2.go); Llama and Mistral become "llama" and Qwen2 "qwen2" (see
// llama.go). The tokenizer becomes tokenizer.ggml.* metadata: byte-level
// BPE as model "gpt2" with the merges and the pre-tokenizer name llama.cpp
// gives it ("gpt-2", "llama-bpe", "qwen2"), SentencePiece-style BPE with
// byte fallback as model "llama" with scores.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/tokenizer"
)

// ParseFileType returns the tensor type named by s: "f32", "f16", "bf16"
// or "q8_0" (case-insensitive). It returns an error wrapping
// ErrUnsupported for any other name.
func ParseFileType(s string) (GGMLType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "f32":
		return GGMLTypeF32, nil
	case "f16":
		return GGMLTypeF16, nil
	case "bf16":
		return GGMLTypeBF16, nil
	case "q8_0":
		return GGMLTypeQ8_0, nil
	}
	return 0, fmt.Errorf("%w: file type %q (want f32, f16, bf16 or q8_0)", ErrUnsupported, s)
}

// Export converts the Hugging Face model folder modelDir (config.json,
// model.safetensors, tokenizer.json, as finetune writes it) to a GGUF file
// at outPath that llama.cpp and Ollama load. Matrices are stored as typ
// (F32, F16, BF16 or Q8_0); one-dimensional tensors stay F32. The file is
// written under a temporary name in outPath's folder and renamed when
// complete, so a failed export leaves no partial file.
//
// It returns an error wrapping ErrUnsupported, naming modelDir, for a
// model_type other than gpt2, llama, mistral and qwen2, for rope_scaling,
// for a tokenizer whose pre-tokenizer has no llama.cpp name, and for typ
// outside the list above.
func Export(modelDir, outPath string, typ GGMLType) error {
	switch typ {
	case GGMLTypeF32, GGMLTypeF16, GGMLTypeBF16, GGMLTypeQ8_0:
	default:
		return fmt.Errorf("exporting %s: %w: tensor type %s (want F32, F16, BF16 or Q8_0)", modelDir, ErrUnsupported, typ)
	}

	m, err := model.Load(modelDir)
	if err != nil {
		return fmt.Errorf("exporting %s: %w", modelDir, err)
	}
	tok, err := tokenizer.LoadDir(modelDir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("exporting %s: %w: no tokenizer.json; llama.cpp needs the tokenizer inside the GGUF file", modelDir, ErrMissing)
	}
	if err != nil {
		return fmt.Errorf("exporting %s: %w", modelDir, err)
	}
	name := modelName(modelDir)

	switch m := m.(type) {
	case *model.GPT2:
		v, err := VocabFromTokenizer(tok, m.Config.VocabSize, []int{m.Config.BOSTokenID}, []int{m.Config.EOSTokenID})
		if err != nil {
			return fmt.Errorf("exporting %s: %w", modelDir, err)
		}
		if err := WriteGPT2(outPath, m, v, name, typ); err != nil {
			return fmt.Errorf("exporting %s: %w", modelDir, err)
		}
		return nil
	case *model.Llama:
		if s := m.Config.RopeScaling; s != nil && s.RopeType+s.Type != "" && s.RopeType+s.Type != "default" {
			// NOTE: LlamaMetadata writes no rope.scaling.* keys yet.
			return fmt.Errorf("exporting %s: %w: rope_scaling is not written to GGUF yet", modelDir, ErrUnsupported)
		}
		v, err := VocabFromTokenizer(tok, m.Config.VocabSize, m.Config.BOSTokenIDs(), m.Config.EOSTokenIDs())
		if err != nil {
			return fmt.Errorf("exporting %s: %w", modelDir, err)
		}
		// NOTE: Mistral's sliding_window is not written, so llama.cpp
		// attends over the whole context. Within the window the two agree.
		if err := WriteLlama(outPath, m, v, name, typ); err != nil {
			return fmt.Errorf("exporting %s: %w", modelDir, err)
		}
		return nil
	}
	return fmt.Errorf("exporting %s: %w: model type %T has no GGUF writer", modelDir, ErrUnsupported, m)
}

// modelName returns general.name for a model folder: its base name, or
// "<parent>-model" for the workspace layout <ws>/finetune/model.
func modelName(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	base := filepath.Base(abs)
	if base == "model" {
		if parent := filepath.Base(filepath.Dir(abs)); parent != "." && parent != string(filepath.Separator) {
			return parent + "-model"
		}
	}
	return base
}

// VocabFromTokenizer returns the GGUF vocabulary of a Hugging Face BPE
// tokenizer for a model with vocabSize embeddings. Ids the tokenizer does
// not use, up to vocabSize, become "[PADn]" tokens of type unused, as
// llama.cpp's converter writes them. bos and eos are the config.json token
// ids (the first in range is used; none means -1).
//
// A byte-level tokenizer (ByteLevel pre-tokenizer, alone or after a Split
// with the cl100k or Qwen2 pattern) becomes model "gpt2" with its merges.
// A tokenizer with byte fallback and either no pre-tokenizer or Metaspace
// becomes model "llama", and each merged token is scored minus its merge
// rank. Added
// tokens are control tokens when special and user-defined otherwise.
// AddBOS and AddSpacePrefix are measured by encoding a probe text. It
// returns an error wrapping ErrUnsupported for another layout and
// ErrCorrupt when the tokenizer has more ids than vocabSize.
func VocabFromTokenizer(tok *tokenizer.Tokenizer, vocabSize int, bos, eos []int) (*Vocab, error) {
	tokens := tok.Tokens()
	if len(tokens) > vocabSize {
		return nil, fmt.Errorf("%w: tokenizer has %d ids, the model only %d embeddings", ErrCorrupt, len(tokens), vocabSize)
	}
	_, pre, _, _ := tok.Components()
	kind, err := preTokenizerKind(pre, tok.ByteFallback())
	if err != nil {
		return nil, err
	}

	v := &Vocab{Tokens: make([]string, vocabSize), Types: make([]int32, vocabSize), BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	for id := range vocabSize {
		v.Types[id] = TokenNormal
		if id < len(tokens) && tokens[id] != "" {
			v.Tokens[id] = tokens[id]
		} else {
			v.Tokens[id] = fmt.Sprintf("[PAD%d]", id)
			v.Types[id] = TokenUnused
		}
	}
	for _, a := range tok.AddedTokens() {
		v.Types[a.ID] = TokenUserDefined
		if a.Special {
			v.Types[a.ID] = TokenControl
		}
	}
	v.BOS, v.EOS = firstID(bos, vocabSize), firstID(eos, vocabSize)
	if id, ok := tok.UnknownID(); ok {
		v.UNK = id
		v.Types[id] = TokenUnknown
	}

	merges := tok.Merges()
	if kind == "llama" {
		// NOTE: SentencePiece merges by score, not by merge rank. Scoring
		// each token by its first merge's rank reproduces the Mistral-7B
		// tokenizer on the probe texts tested, not on every input.
		v.Model = "llama"
		v.Scores = make([]float32, vocabSize)
		seen := make(map[string]bool, len(merges))
		for rank, mg := range merges {
			merged := mg[0] + mg[1]
			if id, ok := tok.TokenToID(merged); ok && !seen[merged] {
				seen[merged] = true
				v.Scores[id] = -float32(rank + 1)
			}
		}
		for id, t := range v.Tokens {
			if len(t) == 6 && strings.HasPrefix(t, "<0x") && strings.HasSuffix(t, ">") && v.Types[id] == TokenNormal {
				v.Types[id] = TokenByte
			}
		}
		probe := tok.EncodeWithOptions("a", tokenizer.EncodeOptions{})
		if len(probe) > 0 {
			first, _ := tok.IDToToken(probe[0])
			v.AddSpacePrefix = strings.HasPrefix(first, spaceMarker)
		}
	} else {
		v.Model, v.Pre = "gpt2", kind
		v.Merges = make([]string, len(merges))
		for i, mg := range merges {
			if strings.Contains(mg[0], " ") || strings.Contains(mg[1], " ") {
				return nil, fmt.Errorf("%w: merge %q %q contains a space, which GGUF's \"left right\" merges cannot hold", ErrUnsupported, mg[0], mg[1])
			}
			v.Merges[i] = mg[0] + " " + mg[1]
		}
	}

	// The post-processor adds BOS when encoding with special tokens gives
	// BOS first and plain encoding does not.
	if v.BOS >= 0 {
		with := tok.Encode("a")
		without := tok.EncodeWithOptions("a", tokenizer.EncodeOptions{})
		v.AddBOS = len(with) > len(without) && with[0] == v.BOS
	}
	return v, nil
}

func firstID(ids []int, n int) int32 {
	for _, id := range ids {
		if id >= 0 && id < n {
			return int32(id)
		}
	}
	return -1
}

// preTokenizerKind returns "llama" for a SentencePiece-style tokenizer, or
// the tokenizer.ggml.pre name of a byte-level one.
func preTokenizerKind(raw json.RawMessage, byteFallback bool) (string, error) {
	var p struct {
		Type          string            `json:"type"`
		UseRegex      *bool             `json:"use_regex"`
		Pattern       map[string]string `json:"pattern"`
		PreTokenizers []json.RawMessage `json:"pretokenizers"`
	}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if byteFallback {
			return "llama", nil
		}
		return "", fmt.Errorf("%w: a tokenizer without pre-tokenizer or byte fallback has no GGUF tokenizer model", ErrUnsupported)
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", fmt.Errorf("%w: pre_tokenizer: %v", ErrCorrupt, err)
	}
	switch p.Type {
	case "Metaspace":
		if byteFallback {
			return "llama", nil
		}
	case "ByteLevel":
		if p.UseRegex == nil || *p.UseRegex {
			return "gpt-2", nil
		}
	case "Sequence":
		if len(p.PreTokenizers) == 2 {
			var split, bl struct {
				Type    string            `json:"type"`
				Pattern map[string]string `json:"pattern"`
			}
			json.Unmarshal(p.PreTokenizers[0], &split)
			json.Unmarshal(p.PreTokenizers[1], &bl)
			if split.Type == "Split" && bl.Type == "ByteLevel" {
				switch split.Pattern["Regex"] {
				case cl100kRegex:
					return "llama-bpe", nil
				case qwen2Regex:
					return "qwen2", nil
				}
			}
		}
	}
	return "", fmt.Errorf("%w: pre_tokenizer %s has no llama.cpp pre-tokenizer name (known: ByteLevel as gpt-2, Split cl100k + ByteLevel as llama-bpe, Split Qwen2 + ByteLevel as qwen2, Metaspace or none with byte fallback as llama)", ErrUnsupported, compactJSON(raw))
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil || b.Len() > 200 {
		return "(" + fmt.Sprint(len(raw)) + " bytes)"
	}
	return b.String()
}
