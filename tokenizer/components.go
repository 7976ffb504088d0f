package tokenizer

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The pipeline components of a tokenizer.json that this package implements,
// each following the component of the same name in Hugging Face tokenizers
// 0.23 (tokenizers/src/{normalizers,pre_tokenizers,processors,decoders}).

// normalizer rewrites a text segment before pre-tokenization.
type normalizer interface {
	normalize(s string) string
}

type normalizerSequence []normalizer

func (seq normalizerSequence) normalize(s string) string {
	for _, n := range seq {
		s = n.normalize(s)
	}
	return s
}

// prependNormalizer adds a prefix to every non-empty segment.
type prependNormalizer struct{ prefix string }

func (p prependNormalizer) normalize(s string) string {
	if s == "" {
		return s
	}
	return p.prefix + s
}

// replaceNormalizer replaces every occurrence of a literal string.
type replaceNormalizer struct{ pattern, content string }

func (r replaceNormalizer) normalize(s string) string {
	return strings.ReplaceAll(s, r.pattern, r.content)
}

// unicodeNormalizer applies one of the Unicode normalization forms.
type unicodeNormalizer struct{ form norm.Form }

func (u unicodeNormalizer) normalize(s string) string { return u.form.String(s) }

// preTokenizer splits a normalized segment into words. It is the ByteLevel
// pre-tokenizer, a Split with one of the known patterns, or a Sequence of a
// Split followed by ByteLevel(use_regex=false).
type preTokenizer struct {
	split splitFunc // nil: the segment is one word
	// prefixSpace adds a space in front of every segment (or, when the
	// ByteLevel step follows a Split, every word) that does not start
	// with one: ByteLevel's add_prefix_space.
	prefixSpace    bool
	prefixEachWord bool
	// byteLevel marks a chain that ends with ByteLevel. The model then maps
	// each byte of a word to its byte-level rune.
	byteLevel bool
	// metaspace, when set, is the only step.
	metaspace *metaspace
}

// words calls emit for each word of segment. atStart is true when the
// segment begins at offset 0 of the input text.
func (p *preTokenizer) words(segment string, atStart bool, emit func(word string)) {
	if p.metaspace != nil {
		p.metaspace.words(segment, atStart, emit)
		return
	}
	if p.prefixSpace && !p.prefixEachWord && !strings.HasPrefix(segment, " ") {
		segment = " " + segment
	}
	if p.split == nil {
		emit(segment)
		return
	}
	for i := 0; i < len(segment); {
		end := p.split(segment, i)
		word := segment[i:end]
		if p.prefixSpace && p.prefixEachWord && !strings.HasPrefix(word, " ") {
			word = " " + word
		}
		emit(word)
		i = end
	}
}

// Metaspace prepend schemes.
const (
	prependAlways = "always"
	prependFirst  = "first"
	prependNever  = "never"
)

// metaspace is the Metaspace pre-tokenizer and decoder of Hugging Face
// tokenizers 0.23 (tokenizers/src/pre_tokenizers/metaspace.rs). It replaces
// every space with the replacement rune and prepends one to a segment that
// does not start with it. The scheme "always" prepends to every segment,
// "first" only to the segment at offset 0. With split, the text is cut
// before every replacement rune.
type metaspace struct {
	replacement   rune
	prependScheme string
	split         bool
}

func (m *metaspace) words(segment string, atStart bool, emit func(word string)) {
	rep := string(m.replacement)
	segment = strings.ReplaceAll(segment, " ", rep)
	prepend := m.prependScheme == prependAlways || (m.prependScheme == prependFirst && atStart)
	if prepend && !strings.HasPrefix(segment, rep) {
		segment = rep + segment
	}
	if !m.split {
		emit(segment)
		return
	}
	start := 0
	for i, r := range segment {
		if r == m.replacement && i > start {
			emit(segment[start:i])
			start = i
		}
	}
	if start < len(segment) {
		emit(segment[start:])
	}
}

// decodeChain turns replacement runes back into spaces, dropping them from
// the first token unless the prepend scheme is "never".
func (m *metaspace) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		replacement := " "
		if i == 0 && m.prependScheme != prependNever {
			replacement = ""
		}
		out[i] = strings.ReplaceAll(t, string(m.replacement), replacement)
	}
	return out
}

// templatePiece is one item of a TemplateProcessing "single" template:
// either the input sequence or a special token's ids.
type templatePiece struct {
	sequence bool
	ids      []int32
}

// decoder is one step of the decoder chain; it maps the token strings to new
// strings, which the tokenizer concatenates at the end.
type decoder interface {
	decodeChain(tokens []string) []string
}

type decoderSequence []decoder

func (seq decoderSequence) decodeChain(tokens []string) []string {
	for _, d := range seq {
		tokens = d.decodeChain(tokens)
	}
	return tokens
}

// byteLevelDecoder maps byte-level runes back to bytes and decodes the
// concatenation as UTF-8, replacing invalid sequences with U+FFFD.
type byteLevelDecoder struct{}

func (byteLevelDecoder) decodeChain(tokens []string) []string {
	var buf []byte
	for _, t := range tokens {
		buf = byteLevelBytes(buf, t)
	}
	return []string{string(appendLossyUTF8(nil, buf))}
}

// replaceDecoder replaces a literal string in every token.
type replaceDecoder struct{ pattern, content string }

func (r replaceDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i] = strings.ReplaceAll(t, r.pattern, r.content)
	}
	return out
}

// byteFallbackDecoder turns runs of <0xNN> tokens into text. A run that is
// not valid UTF-8 as a whole becomes one U+FFFD per byte token, as the Rust
// ByteFallback decoder does.
type byteFallbackDecoder struct{}

func (byteFallbackDecoder) decodeChain(tokens []string) []string {
	out := make([]string, 0, len(tokens))
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		if utf8.Valid(run) {
			out = append(out, string(run))
		} else {
			for range run {
				out = append(out, "\uFFFD")
			}
		}
		run = run[:0]
	}
	for _, t := range tokens {
		if b, ok := parseByteToken(t); ok {
			run = append(run, b)
			continue
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

// parseByteToken parses a token of the form <0xNN> (hex digits in either
// case).
func parseByteToken(t string) (byte, bool) {
	if len(t) != 6 || !strings.HasPrefix(t, "<0x") || t[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexDigit(t[3])
	lo, ok2 := hexDigit(t[4])
	return hi<<4 | lo, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// fuseDecoder joins all tokens into one.
type fuseDecoder struct{}

func (fuseDecoder) decodeChain(tokens []string) []string {
	return []string{strings.Join(tokens, "")}
}

// stripDecoder removes up to start leading and stop trailing copies of
// content from every token.
type stripDecoder struct {
	content     rune
	start, stop int
}

func (s stripDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		runes := []rune(t)
		lo := 0
		for lo < s.start && lo < len(runes) && runes[lo] == s.content {
			lo++
		}
		hi := len(runes)
		for k := 0; k < s.stop && hi > lo && runes[hi-1] == s.content; k++ {
			hi--
		}
		out[i] = string(runes[lo:hi])
	}
	return out
}
