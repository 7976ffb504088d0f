package pii

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// group is one run of ASCII digits, text[start:end], inside a digit
// sequence. sep is the separator byte before it (' ' or '-'), or 0 for the
// first group.
type group struct {
	start, end int
	sep        byte
}

func (g group) len() int { return g.end - g.start }

// forEachDigitSequence calls fn for every maximal sequence of digit groups
// in text[lo:hi] joined by single spaces or hyphens, as in
// "4111 1111 1111 1111" or "078-05-1120". The groups slice is reused
// between calls.
func forEachDigitSequence(text string, lo, hi int, fn func(groups []group)) {
	var groups []group
	for i := lo; i < hi; {
		if !isDigit(text[i]) {
			i++
			continue
		}
		groups = groups[:0]
		var sep byte
		for {
			start := i
			for i < hi && isDigit(text[i]) {
				i++
			}
			groups = append(groups, group{start: start, end: i, sep: sep})
			if i+1 < hi && (text[i] == ' ' || text[i] == '-') && isDigit(text[i+1]) {
				sep = text[i]
				i++
				continue
			}
			break
		}
		fn(groups)
	}
}

// digitsOf appends the digits of groups to dst.
func digitsOf(dst []byte, text string, groups []group) []byte {
	for _, g := range groups {
		dst = append(dst, text[g.start:g.end]...)
	}
	return dst
}

// sameSeparators reports whether every group after the first is joined by
// the same separator byte.
func sameSeparators(groups []group) bool {
	for _, g := range groups[1:] {
		if g.sep != groups[1].sep {
			return false
		}
	}
	return true
}

// windowBounded reports whether groups[from:to] may stand alone as a
// number inside the longer sequence groups. The neighbours left out must be
// joined by a space, not a hyphen. They must not be four-digit groups either,
// which would continue a number written in groups of four ("9400 1000 0000
// ..." tracking numbers).
func windowBounded(groups []group, from, to int) bool {
	if from > 0 && (groups[from].sep != ' ' || groups[from-1].len() == 4) {
		return false
	}
	if to < len(groups) && (groups[to].sep != ' ' || groups[to].len() == 4) {
		return false
	}
	return true
}

// separate reports whether text[start:end] is separate from its
// neighbours. Like isolated, it rejects a span glued to a letter, digit or
// underscore, or joined to one by ".-/#=@&?%_" before or ".-/@_:" after
// (identifiers, URLs, UUIDs, hashes). Unlike isolated, letters of scripts
// written without spaces (Han, Hiragana, Katakana, Hangul) count as
// separators, so "手机13812345678" is separate.
func separate(text string, start, end int) bool {
	before, size := utf8.DecodeLastRuneInString(text[:start])
	if size > 0 {
		if isGlueRune(before) {
			return false
		}
		if strings.ContainsRune(".-/#=@&?%_+", before) {
			beforeBefore, _ := utf8.DecodeLastRuneInString(text[:start-size])
			if isGlueRune(beforeBefore) {
				return false
			}
		}
	}
	after, size := utf8.DecodeRuneInString(text[end:])
	if size > 0 {
		if isGlueRune(after) {
			return false
		}
		if strings.ContainsRune(".-/@_:", after) {
			afterAfter, _ := utf8.DecodeRuneInString(text[end+size:])
			if isGlueRune(afterAfter) {
				return false
			}
		}
	}
	return true
}

// isGlueRune reports whether r joins the characters beside it into one
// word: a letter, digit or underscore, except letters of scripts that do
// not separate words with spaces.
func isGlueRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || isDigit(byte(r)) || isASCIILetter(byte(r))
	}
	if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
		return false
	}
	return !unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

func isDigit(c byte) bool       { return c >= '0' && c <= '9' }
func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isUpper(c byte) bool       { return c >= 'A' && c <= 'Z' }

// indexFoldASCII returns the index of the first occurrence of the
// lower-case ASCII word in s, ignoring ASCII case, or -1.
func indexFoldASCII(s, word string) int {
	first := word[0]
	for i := 0; i+len(word) <= len(s); i++ {
		if s[i]|0x20 != first {
			continue
		}
		if strings.EqualFold(s[i:i+len(word)], word) {
			return i
		}
	}
	return -1
}

// identifierWords mark a following number as an order, tracking or
// reference number. They are referenceWords without the generic "no",
// "number" and "account", which introduce card and social security numbers
// as often as identifiers ("card number 4111 ...").
var identifierWords = map[string]bool{
	"ref": true, "reference": true, "id": true, "isbn": true, "issn": true, "doi": true,
	"pmid": true, "pmcid": true, "invoice": true, "order": true, "case": true, "docket": true,
	"patent": true, "serial": true, "version": true, "ver": true, "v": true, "cve": true,
	"rfc": true, "bug": true, "ticket": true, "#": true, "tracking": true, "shipment": true,
	"waybill": true, "awb": true, "parcel": true, "transaction": true, "txn": true,
}

// followsIdentifierWord reports whether the word before start is one of
// identifierWords, or the Chinese text before it ends with one of
// chineseReferenceWords.
func followsIdentifierWord(text string, start int) bool {
	return identifierWords[previousWord(text, start)] || followsChineseReferenceWord(text, start)
}

// followsChineseReferenceWord reports whether text before start ends with
// a Chinese word that marks an identifier (order, waybill or serial
// number), ignoring spaces and colons.
func followsChineseReferenceWord(text string, start int) bool {
	prefix := strings.TrimRight(text[max(0, start-24):start], " \t:：")
	for _, w := range chineseReferenceWords {
		if strings.HasSuffix(prefix, w) {
			return true
		}
	}
	return false
}

var chineseReferenceWords = []string{"订单号", "单号", "编号", "流水号", "订单", "货号", "序列号"}
