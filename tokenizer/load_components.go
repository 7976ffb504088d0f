package tokenizer

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Parsers for the normalizer, pre_tokenizer, post_processor and decoder
// objects of a tokenizer.json. Each returns ErrUnsupported, naming the JSON
// path and type, for a component this package does not implement.

// componentType returns the "type" field of a component object.
func componentType(raw json.RawMessage, name, path string) (string, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return "", fmt.Errorf("%s: %s is not a JSON object with a \"type\": %w", name, path, ErrInvalid)
	}
	return head.Type, nil
}

func unsupported(name, path, typ string) error {
	return fmt.Errorf("%s: %s type %q is not implemented: %w", name, path, typ, ErrUnsupported)
}

// stringPattern reads a {"String": "..."} pattern; a {"Regex": ...}
// pattern is unsupported.
func stringPattern(raw json.RawMessage, name, path string) (string, error) {
	var p struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	}
	if err := json.Unmarshal(raw, &p); err != nil || (p.String == nil && p.Regex == nil) {
		return "", fmt.Errorf("%s: %s.pattern is not {\"String\": ...} or {\"Regex\": ...}: %w", name, path, ErrInvalid)
	}
	if p.String == nil {
		return "", fmt.Errorf("%s: %s.pattern: regex patterns are not implemented here: %w", name, path, ErrUnsupported)
	}
	return *p.String, nil
}

func parseNormalizer(raw json.RawMessage, name, path string) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	typ, err := componentType(raw, name, path)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		var seq struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := json.Unmarshal(raw, &seq); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, path, ErrInvalid)
		}
		var out normalizerSequence
		for i, sub := range seq.Normalizers {
			n, err := parseNormalizer(sub, name, fmt.Sprintf("%s.normalizers[%d]", path, i))
			if err != nil {
				return nil, err
			}
			if n != nil {
				out = append(out, n)
			}
		}
		return out, nil
	case "Prepend":
		var p struct {
			Prepend string `json:"prepend"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("%s: %s.prepend: %w", name, path, ErrInvalid)
		}
		return prependNormalizer{prefix: p.Prepend}, nil
	case "Replace":
		var r struct {
			Pattern json.RawMessage `json:"pattern"`
			Content string          `json:"content"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, path, ErrInvalid)
		}
		pattern, err := stringPattern(r.Pattern, name, path)
		if err != nil {
			return nil, err
		}
		if pattern == "" {
			return nil, fmt.Errorf("%s: %s.pattern is empty: %w", name, path, ErrInvalid)
		}
		return replaceNormalizer{pattern: pattern, content: r.Content}, nil
	case "NFC":
		return unicodeNormalizer{norm.NFC}, nil
	case "NFD":
		return unicodeNormalizer{norm.NFD}, nil
	case "NFKC":
		return unicodeNormalizer{norm.NFKC}, nil
	case "NFKD":
		return unicodeNormalizer{norm.NFKD}, nil
	}
	return nil, unsupported(name, path, typ)
}

// knownSplitPatterns maps the split regexes that have a hand-written
// matcher to it.
var knownSplitPatterns = map[string]splitFunc{
	gpt2Pattern:   splitGPT2,
	cl100kPattern: splitCL100K,
	qwen2Pattern:  splitQwen2,
}

func parsePreTokenizer(raw json.RawMessage, name string) (*preTokenizer, error) {
	p := &preTokenizer{}
	if isNull(raw) {
		return p, nil
	}
	typ, err := componentType(raw, name, "pre_tokenizer")
	if err != nil {
		return nil, err
	}
	steps := []json.RawMessage{raw}
	if typ == "Sequence" {
		var seq struct {
			PreTokenizers []json.RawMessage `json:"pretokenizers"`
		}
		if err := json.Unmarshal(raw, &seq); err != nil {
			return nil, fmt.Errorf("%s: pre_tokenizer: %w", name, ErrInvalid)
		}
		steps = seq.PreTokenizers
	}
	for i, step := range steps {
		path := "pre_tokenizer"
		if typ == "Sequence" {
			path = fmt.Sprintf("pre_tokenizer.pretokenizers[%d]", i)
		}
		if err := p.addStep(step, name, path); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// addStep adds one pre-tokenizer step. The supported chains are at most one
// splitting step (Split with a known pattern, or ByteLevel with use_regex)
// and at most one ByteLevel, which must come last.
func (p *preTokenizer) addStep(raw json.RawMessage, name, path string) error {
	typ, err := componentType(raw, name, path)
	if err != nil {
		return err
	}
	if p.byteLevel || p.metaspace != nil {
		return fmt.Errorf("%s: %s: a %s step after ByteLevel or Metaspace is not implemented: %w", name, path, typ, ErrUnsupported)
	}
	switch typ {
	case "Metaspace":
		if p.split != nil {
			return fmt.Errorf("%s: %s: Metaspace after a Split is not implemented: %w", name, path, ErrUnsupported)
		}
		m, err := parseMetaspace(raw, name, path)
		if err != nil {
			return err
		}
		p.metaspace = m
		return nil
	case "ByteLevel":
		cfg := struct {
			AddPrefixSpace bool  `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}{}
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return fmt.Errorf("%s: %s: %w", name, path, ErrInvalid)
		}
		useRegex := cfg.UseRegex == nil || *cfg.UseRegex
		if useRegex && p.split != nil {
			return fmt.Errorf("%s: %s: ByteLevel with use_regex after a Split is not implemented: %w", name, path, ErrUnsupported)
		}
		p.byteLevel = true
		p.prefixSpace = cfg.AddPrefixSpace
		p.prefixEachWord = p.split != nil
		if useRegex {
			p.split = splitGPT2
		}
		return nil
	case "Split":
		cfg := struct {
			Pattern  map[string]string `json:"pattern"`
			Behavior string            `json:"behavior"`
			Invert   bool              `json:"invert"`
		}{}
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return fmt.Errorf("%s: %s: %w", name, path, ErrInvalid)
		}
		if p.split != nil {
			return fmt.Errorf("%s: %s: a second splitting step is not implemented: %w", name, path, ErrUnsupported)
		}
		regex, ok := cfg.Pattern["Regex"]
		fn := knownSplitPatterns[regex]
		if !ok || fn == nil || cfg.Behavior != "Isolated" || cfg.Invert {
			return fmt.Errorf("%s: %s: Split with regex %q, behavior %q, invert %v is not implemented (only the GPT-2, cl100k and Qwen2 regexes, Isolated): %w",
				name, path, regex, cfg.Behavior, cfg.Invert, ErrUnsupported)
		}
		p.split = fn
		return nil
	}
	return unsupported(name, path, typ)
}

func parsePostProcessor(raw json.RawMessage, name, path string) ([]templatePiece, error) {
	if isNull(raw) {
		return nil, nil
	}
	typ, err := componentType(raw, name, path)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "ByteLevel":
		// Adjusts offsets only; the ids are unchanged.
		return nil, nil
	case "Sequence":
		var seq struct {
			Processors []json.RawMessage `json:"processors"`
		}
		if err := json.Unmarshal(raw, &seq); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, path, ErrInvalid)
		}
		var template []templatePiece
		for i, sub := range seq.Processors {
			tp, err := parsePostProcessor(sub, name, fmt.Sprintf("%s.processors[%d]", path, i))
			if err != nil {
				return nil, err
			}
			if tp != nil {
				if template != nil {
					return nil, fmt.Errorf("%s: %s: more than one TemplateProcessing is not implemented: %w", name, path, ErrUnsupported)
				}
				template = tp
			}
		}
		return template, nil
	case "TemplateProcessing":
		return parseTemplate(raw, name, path)
	}
	return nil, unsupported(name, path, typ)
}

func parseTemplate(raw json.RawMessage, name, path string) ([]templatePiece, error) {
	var cfg struct {
		Single []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int64 `json:"ids"`
		} `json:"special_tokens"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", name, path, ErrInvalid)
	}
	template := []templatePiece{}
	for i, item := range cfg.Single {
		switch {
		case item.Sequence != nil:
			if item.Sequence.ID != "A" {
				return nil, fmt.Errorf("%s: %s.single[%d]: sequence %q, but a single-sequence template can only use A: %w", name, path, i, item.Sequence.ID, ErrInvalid)
			}
			template = append(template, templatePiece{sequence: true})
		case item.SpecialToken != nil:
			st, ok := cfg.SpecialTokens[item.SpecialToken.ID]
			if !ok {
				return nil, fmt.Errorf("%s: %s.single[%d]: special token %q missing from special_tokens: %w", name, path, i, item.SpecialToken.ID, ErrInvalid)
			}
			piece := templatePiece{}
			for _, id := range st.IDs {
				if id < 0 || id >= maxVocabID {
					return nil, fmt.Errorf("%s: %s.special_tokens[%q]: id %d out of range: %w", name, path, item.SpecialToken.ID, id, ErrInvalid)
				}
				piece.ids = append(piece.ids, int32(id))
			}
			template = append(template, piece)
		default:
			return nil, fmt.Errorf("%s: %s.single[%d] is neither SpecialToken nor Sequence: %w", name, path, i, ErrInvalid)
		}
	}
	return template, nil
}

func parseDecoder(raw json.RawMessage, name, path string) (decoder, error) {
	if isNull(raw) {
		return nil, nil
	}
	typ, err := componentType(raw, name, path)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "ByteLevel":
		return byteLevelDecoder{}, nil
	case "Sequence":
		var seq struct {
			Decoders []json.RawMessage `json:"decoders"`
		}
		if err := json.Unmarshal(raw, &seq); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, path, ErrInvalid)
		}
		var out decoderSequence
		for i, sub := range seq.Decoders {
			d, err := parseDecoder(sub, name, fmt.Sprintf("%s.decoders[%d]", path, i))
			if err != nil {
				return nil, err
			}
			if d != nil {
				out = append(out, d)
			}
		}
		return out, nil
	case "Replace":
		var r struct {
			Pattern json.RawMessage `json:"pattern"`
			Content string          `json:"content"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, path, ErrInvalid)
		}
		pattern, err := stringPattern(r.Pattern, name, path)
		if err != nil {
			return nil, err
		}
		if pattern == "" {
			return nil, fmt.Errorf("%s: %s.pattern is empty: %w", name, path, ErrInvalid)
		}
		return replaceDecoder{pattern: pattern, content: r.Content}, nil
	case "Metaspace":
		return parseMetaspace(raw, name, path)
	case "ByteFallback":
		return byteFallbackDecoder{}, nil
	case "Fuse":
		return fuseDecoder{}, nil
	case "Strip":
		var s struct {
			Content string `json:"content"`
			Start   int    `json:"start"`
			Stop    int    `json:"stop"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, path, ErrInvalid)
		}
		if utf8.RuneCountInString(s.Content) != 1 || s.Start < 0 || s.Stop < 0 {
			return nil, fmt.Errorf("%s: %s: Strip needs one character and non-negative start and stop, got %q, %d, %d: %w", name, path, s.Content, s.Start, s.Stop, ErrInvalid)
		}
		r, _ := utf8.DecodeRuneInString(s.Content)
		return stripDecoder{content: r, start: s.Start, stop: s.Stop}, nil
	}
	return nil, unsupported(name, path, typ)
}

// parseMetaspace reads a Metaspace pre-tokenizer or decoder. Files from
// before prepend_scheme existed use add_prefix_space; as in the Rust
// library, add_prefix_space false requires prepend_scheme "never".
func parseMetaspace(raw json.RawMessage, name, path string) (*metaspace, error) {
	var cfg struct {
		Replacement    string  `json:"replacement"`
		AddPrefixSpace *bool   `json:"add_prefix_space"`
		PrependScheme  *string `json:"prepend_scheme"`
		Split          *bool   `json:"split"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", name, path, ErrInvalid)
	}
	if utf8.RuneCountInString(cfg.Replacement) != 1 {
		return nil, fmt.Errorf("%s: %s.replacement %q is not one character: %w", name, path, cfg.Replacement, ErrInvalid)
	}
	m := &metaspace{prependScheme: prependAlways, split: true}
	m.replacement, _ = utf8.DecodeRuneInString(cfg.Replacement)
	if cfg.Split != nil {
		m.split = *cfg.Split
	}
	if cfg.PrependScheme != nil {
		m.prependScheme = *cfg.PrependScheme
	}
	switch m.prependScheme {
	case prependAlways, prependFirst, prependNever:
	default:
		return nil, fmt.Errorf("%s: %s.prepend_scheme %q is not always, first or never: %w", name, path, m.prependScheme, ErrInvalid)
	}
	if cfg.AddPrefixSpace != nil && !*cfg.AddPrefixSpace {
		if m.prependScheme != prependNever {
			return nil, fmt.Errorf("%s: %s: add_prefix_space false contradicts prepend_scheme %q: %w", name, path, m.prependScheme, ErrInvalid)
		}
	}
	return m, nil
}
