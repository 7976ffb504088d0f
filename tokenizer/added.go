package tokenizer

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is one entry of a tokenizer.json's added_tokens.
type addedToken struct {
	id         int32
	content    string
	pattern    string // the text matched: content, normalized when normalized is set
	special    bool
	normalized bool // matched in the normalized text rather than the raw text
	lstrip     bool // absorbs the whitespace before it
	rstrip     bool // absorbs the whitespace after it
	singleWord bool // matches only when not inside a word
}

// addedMatcher finds added tokens in text with leftmost-longest matching,
// as the AddedVocabulary of Hugging Face tokenizers 0.23 does.
type addedMatcher struct {
	byFirst [256][]*addedToken // candidates by first byte, longest first
	empty   bool
}

func newAddedMatcher(tokens []*addedToken) *addedMatcher {
	m := &addedMatcher{empty: true}
	for _, tok := range tokens {
		if tok.pattern == "" {
			continue
		}
		m.byFirst[tok.pattern[0]] = append(m.byFirst[tok.pattern[0]], tok)
		m.empty = false
	}
	for _, list := range m.byFirst {
		sort.SliceStable(list, func(i, j int) bool { return len(list[i].pattern) > len(list[j].pattern) })
	}
	return m
}

// split calls emit for each piece of text in order: text pieces with id -1
// and matched added tokens with their id. With skipSpecial, a matched
// special token stays in the text, and no other token is searched for
// inside it, as in the Rust library.
func (m *addedMatcher) split(text string, skipSpecial bool, emit func(piece string, id int32)) {
	if m.empty {
		emit(text, -1)
		return
	}
	last := 0 // end of the previous emitted piece
	for i := 0; i < len(text); {
		if m.byFirst[text[i]] == nil {
			i++
			continue
		}
		tok := m.longestAt(text, i)
		if tok == nil {
			i++
			continue
		}
		start, stop := i, i+len(tok.pattern)
		if (skipSpecial && tok.special) || (tok.singleWord && !isSingleWord(text, start, stop)) {
			i = stop
			continue
		}
		if tok.lstrip {
			start = trimSpaceLeft(text, last, start)
		}
		if tok.rstrip {
			stop = trimSpaceRight(text, stop)
		}
		if start > last {
			emit(text[last:start], -1)
		}
		emit(text[start:stop], tok.id)
		last, i = stop, stop
	}
	if last < len(text) {
		emit(text[last:], -1)
	}
}

func (m *addedMatcher) longestAt(text string, i int) *addedToken {
	for _, tok := range m.byFirst[text[i]] {
		if strings.HasPrefix(text[i:], tok.pattern) {
			return tok
		}
	}
	return nil
}

// isWordRune reports whether r continues a word for single_word tokens.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

func isSingleWord(text string, start, stop int) bool {
	if start > 0 {
		r, _ := utf8.DecodeLastRuneInString(text[:start])
		if isWordRune(r) {
			return false
		}
	}
	if stop < len(text) {
		r, _ := utf8.DecodeRuneInString(text[stop:])
		if isWordRune(r) {
			return false
		}
	}
	return true
}

// trimSpaceLeft moves start left over whitespace, but not before floor.
func trimSpaceLeft(text string, floor, start int) int {
	for start > floor {
		r, size := utf8.DecodeLastRuneInString(text[floor:start])
		if !unicode.IsSpace(r) {
			break
		}
		start -= size
	}
	return start
}

func trimSpaceRight(text string, stop int) int {
	for stop < len(text) {
		r, size := utf8.DecodeRuneInString(text[stop:])
		if !unicode.IsSpace(r) {
			break
		}
		stop += size
	}
	return stop
}
