package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The tokenizer.json layout read here is the one written by Hugging Face
// tokenizers 0.23 (tokenizers/src/tokenizer/serialization.rs).

// maxVocabID bounds the ids accepted from a file, so that a corrupt id
// cannot make Load allocate gigabytes.
const maxVocabID = 1 << 24

type fileJSON struct {
	Version       string           `json:"version"`
	Truncation    json.RawMessage  `json:"truncation"`
	Padding       json.RawMessage  `json:"padding"`
	AddedTokens   []addedTokenJSON `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	PostProcessor json.RawMessage  `json:"post_processor"`
	Decoder       json.RawMessage  `json:"decoder"`
	Model         json.RawMessage  `json:"model"`
}

type addedTokenJSON struct {
	ID         int64  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type modelJSON struct {
	Type                    string           `json:"type"`
	Dropout                 *float64         `json:"dropout"`
	UnkToken                *string          `json:"unk_token"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
	FuseUnk                 bool             `json:"fuse_unk"`
	ByteFallback            bool             `json:"byte_fallback"`
	IgnoreMerges            bool             `json:"ignore_merges"`
	Vocab                   map[string]int64 `json:"vocab"`
	Merges                  json.RawMessage  `json:"merges"`
}

// Load reads a Hugging Face tokenizer.json file. It supports the BPE model
// with the components listed in the package documentation and returns an
// error wrapping ErrUnsupported for anything else, and ErrInvalid for an
// inconsistent file.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading tokenizer: %w", err)
	}
	return parse(data, path)
}

// LoadDir reads dir/tokenizer.json, the layout of a Hugging Face model
// folder.
func LoadDir(dir string) (*Tokenizer, error) {
	return Load(filepath.Join(dir, "tokenizer.json"))
}

// parse builds a tokenizer from the contents of a tokenizer.json; name
// appears in errors.
func parse(data []byte, name string) (*Tokenizer, error) {
	var file fileJSON
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, jsonError(name, err)
	}
	if isNull(file.Model) {
		return nil, fmt.Errorf("%s: missing \"model\": %w", name, ErrInvalid)
	}
	if !isNull(file.Truncation) || !isNull(file.Padding) {
		return nil, fmt.Errorf("%s: truncation and padding settings are not implemented; set them to null: %w", name, ErrUnsupported)
	}

	t := &Tokenizer{
		rawNormalizer:    file.Normalizer,
		rawPreTokenizer:  file.PreTokenizer,
		rawPostProcessor: file.PostProcessor,
		rawDecoder:       file.Decoder,
	}
	var err error
	if t.model, err = parseModel(file.Model, name); err != nil {
		return nil, err
	}
	if t.normalizer, err = parseNormalizer(file.Normalizer, name, "normalizer"); err != nil {
		return nil, err
	}
	if err := t.addTokens(file.AddedTokens, name); err != nil {
		return nil, err
	}
	if t.pre, err = parsePreTokenizer(file.PreTokenizer, name); err != nil {
		return nil, err
	}
	t.model.byteLevel = t.pre.byteLevel
	if t.template, err = parsePostProcessor(file.PostProcessor, name, "post_processor"); err != nil {
		return nil, err
	}
	if t.decoder, err = parseDecoder(file.Decoder, name, "decoder"); err != nil {
		return nil, err
	}
	_, t.byteLevelDecode = t.decoder.(byteLevelDecoder)
	return t, nil
}

// jsonError describes a JSON decoding error with its byte offset.
func jsonError(name string, err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Errorf("%s: invalid JSON at byte offset %d: %w; the file is corrupt, download or save it again", name, syntax.Offset, err)
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Errorf("%s: unexpected JSON %s for field %q at byte offset %d: %w", name, typeErr.Value, typeErr.Field, typeErr.Offset, ErrInvalid)
	}
	return fmt.Errorf("%s: decoding JSON: %w", name, err)
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

func parseModel(raw json.RawMessage, name string) (*bpeModel, error) {
	typ, err := componentType(raw, name, "model")
	if err != nil {
		return nil, err
	}
	if typ != "BPE" {
		return nil, fmt.Errorf("%s: model type %q is not implemented (only BPE): %w", name, typ, ErrUnsupported)
	}
	mj := new(modelJSON)
	if err := json.Unmarshal(raw, mj); err != nil {
		// Offsets in err count from the start of the model object.
		return nil, fmt.Errorf("%s: decoding model: %v: %w", name, err, ErrInvalid)
	}
	if mj.Dropout != nil && *mj.Dropout > 0 {
		return nil, fmt.Errorf("%s: model.dropout %g: BPE dropout is not implemented: %w", name, *mj.Dropout, ErrUnsupported)
	}
	if p := mj.ContinuingSubwordPrefix; p != nil && *p != "" {
		return nil, fmt.Errorf("%s: model.continuing_subword_prefix %q is not implemented: %w", name, *p, ErrUnsupported)
	}
	if s := mj.EndOfWordSuffix; s != nil && *s != "" {
		return nil, fmt.Errorf("%s: model.end_of_word_suffix %q is not implemented: %w", name, *s, ErrUnsupported)
	}

	m := &bpeModel{
		vocab:                   make(map[string]int32, len(mj.Vocab)),
		unkID:                   -1,
		unkToken:                mj.UnkToken,
		continuingSubwordPrefix: mj.ContinuingSubwordPrefix,
		endOfWordSuffix:         mj.EndOfWordSuffix,
		fuseUnk:                 mj.FuseUnk,
		byteFallback:            mj.ByteFallback,
		ignoreMerges:            mj.IgnoreMerges,
	}
	maxID := int64(-1)
	for tok, id := range mj.Vocab {
		if id < 0 || id >= maxVocabID {
			return nil, fmt.Errorf("%s: model.vocab[%q] = %d: ids must be in [0, %d): %w", name, tok, id, maxVocabID, ErrInvalid)
		}
		m.vocab[tok] = int32(id)
		maxID = max(maxID, id)
	}
	m.idToToken = make([]string, maxID+1)
	for tok, id := range m.vocab {
		m.idToToken[id] = tok
	}
	if mj.UnkToken != nil {
		id, ok := m.vocab[*mj.UnkToken]
		if !ok {
			return nil, fmt.Errorf("%s: model.unk_token %q is not in model.vocab: %w", name, *mj.UnkToken, ErrInvalid)
		}
		m.unkID = id
	}

	pairs, err := parseMerges(mj.Merges, name)
	if err != nil {
		return nil, err
	}
	m.merges = make(map[uint64]uint64, len(pairs))
	m.mergeOrder = make([][2]int32, 0, len(pairs))
	for rank, p := range pairs {
		a, okA := m.vocab[p[0]]
		b, okB := m.vocab[p[1]]
		merged, okM := m.vocab[p[0]+p[1]]
		if !okA || !okB || !okM {
			return nil, fmt.Errorf("%s: model.merges[%d] (%q, %q) names a token missing from model.vocab: %w", name, rank, p[0], p[1], ErrInvalid)
		}
		m.merges[pairKey(a, b)] = uint64(rank)<<32 | uint64(uint32(merged))
		m.mergeOrder = append(m.mergeOrder, [2]int32{a, b})
	}
	m.initTables()
	return m, nil
}

// parseMerges reads merges in either format: legacy "a b" strings or
// ["a", "b"] pairs.
func parseMerges(raw json.RawMessage, name string) ([][2]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err == nil {
		return pairs, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return nil, fmt.Errorf("%s: model.merges is neither a list of \"a b\" strings nor of [a, b] pairs: %w", name, ErrInvalid)
	}
	pairs = make([][2]string, len(lines))
	for i, line := range lines {
		a, b, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("%s: model.merges[%d] %q has no space between its two tokens: %w", name, i, line, ErrInvalid)
		}
		pairs[i] = [2]string{a, b}
	}
	return pairs, nil
}

// addTokens registers the added tokens. A token whose content is in the
// model vocabulary takes that id. Any other token is numbered after the
// vocabulary and the id in the file is ignored, because the Rust library
// does the same.
func (t *Tokenizer) addTokens(list []addedTokenJSON, name string) error {
	t.addedByID = make(map[int32]*addedToken)
	t.addedByContent = make(map[string]*addedToken)
	vocabSize := int64(len(t.model.vocab))
	maxAdded := int64(-1)
	for _, aj := range list {
		if aj.Content == "" {
			continue
		}
		if prev, dup := t.addedByContent[aj.Content]; dup {
			// A repeated token keeps its id and takes the later flags.
			*prev = addedToken{id: prev.id, content: prev.content, special: aj.Special || prev.special,
				normalized: aj.Normalized, lstrip: aj.LStrip, rstrip: aj.RStrip, singleWord: aj.SingleWord}
			continue
		}
		var id int64
		switch vid, ok := t.model.vocab[aj.Content]; {
		case ok:
			id = int64(vid)
		case maxAdded < 0:
			id = vocabSize
		case maxAdded >= vocabSize || vocabSize == 0:
			id = maxAdded + 1
		default:
			id = vocabSize
		}
		if id >= maxVocabID {
			return fmt.Errorf("%s: added token %q would get id %d, above the limit %d: %w", name, aj.Content, id, maxVocabID, ErrInvalid)
		}
		maxAdded = max(maxAdded, id)
		tok := &addedToken{
			id:         int32(id),
			content:    aj.Content,
			special:    aj.Special,
			normalized: aj.Normalized,
			lstrip:     aj.LStrip,
			rstrip:     aj.RStrip,
			singleWord: aj.SingleWord,
		}
		t.added = append(t.added, tok)
		t.addedByContent[tok.content] = tok
		if _, exists := t.addedByID[tok.id]; !exists {
			t.addedByID[tok.id] = tok
		}
	}
	t.buildMatchers()
	return nil
}

// buildMatchers builds the two added-token matchers. A normalized token is
// searched for in its normalized form, as the Rust library does.
func (t *Tokenizer) buildMatchers() {
	var raw, normalized []*addedToken
	for _, tok := range t.added {
		tok.pattern = tok.content
		if tok.normalized && t.normalizer != nil {
			tok.pattern = t.normalizer.normalize(tok.content)
		}
		if tok.normalized {
			normalized = append(normalized, tok)
		} else {
			raw = append(raw, tok)
		}
	}
	t.rawMatcher = newAddedMatcher(raw)
	t.normMatcher = newAddedMatcher(normalized)
}
