package clean

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// De-hyphenation joins words that a PDF or a typeset page broke across two
// lines ("treat-\nment" becomes "treatment"). The rule, applied to text
// that normalizeWhitespace already cleaned:
//
//   - A candidate is a line that ends in a hyphen ("-", U+2010 or the soft
//     hyphen U+00AD) directly after a letter. The next line must not be
//     blank, so paragraphs stay apart. Its first token must be lower-case
//     letters, optionally followed by closing punctuation.
//   - The evidence of the document decides first. When the joined word
//     occurs elsewhere in the document, the parts are joined. When the
//     hyphenated form occurs elsewhere, the hyphen stays and only the line
//     break goes ("long-term").
//   - Without evidence, the hyphen stays when the part before it is one of
//     compoundHeads, common English words that start compounds ("long-",
//     "well-", "self-"). Otherwise the parts are joined.
//   - The joined word stays on the first line and the rest of the second
//     line moves to its own line, so the number of lines changes only when
//     the second line held nothing but the word's end.
//
// NOTE: the rule has no dictionary. A compound whose first part is not in
// compoundHeads and that the document does not repeat ("cost-\nbenefit")
// loses its hyphen, and a word broken after an upper-case or non-letter
// character is never joined.

// compoundHeads are first parts of common English hyphenated compounds.
var compoundHeads = map[string]bool{
	"all": true, "cross": true, "full": true, "half": true, "high": true,
	"ill": true, "long": true, "low": true, "non": true, "old": true,
	"part": true, "self": true, "short": true, "well": true, "first": true,
	"second": true, "third": true, "one": true, "two": true, "three": true,
	"four": true, "five": true, "top": true, "open": true, "so": true,
	"state": true, "end": true, "life": true, "time": true, "large": true,
	"small": true, "follow": true, "peer": true, "year": true, "day": true,
	"case": true, "anti": true, "ex": true, "mid": true,
}

// dehyphenate applies the de-hyphenation rule to s until nothing changes
// (a join can make the line before a new candidate, as in "in-\nter-\nnational")
// and returns the text and the number of line breaks removed.
func dehyphenate(s string) (string, int) {
	total := 0
	for {
		joined, n := dehyphenateOnce(s)
		if n == 0 {
			return s, total
		}
		s = joined
		total += n
	}
}

// dehyphenateOnce makes one pass over the lines of s.
func dehyphenateOnce(s string) (string, int) {
	if !strings.Contains(s, "-\n") && !strings.Contains(s, "\u2010\n") && !strings.Contains(s, "\u00ad\n") {
		return s, 0
	}

	lines := strings.Split(s, "\n")
	var words map[string]bool // lower-case tokens of s, built on first use
	joins := 0
	for i := 0; i+1 < len(lines); i++ {
		head, hyphen, ok := brokenWordHead(lines[i])
		if !ok {
			continue
		}
		tail, rest, ok := brokenWordTail(lines[i+1])
		if !ok {
			continue
		}
		if words == nil {
			words = documentWords(s)
		}

		joined := strings.ToLower(head) + tail
		keepHyphen := false
		switch {
		case words[joined]:
		case words[strings.ToLower(head)+"-"+tail]:
			keepHyphen = true
		case compoundHeads[strings.ToLower(head)]:
			keepHyphen = true
		}
		if hyphen == "\u00ad" {
			keepHyphen = false // a soft hyphen only marks a break
		}

		line := lines[i][:len(lines[i])-len(hyphen)]
		if keepHyphen {
			line += hyphen
		}
		lines[i] = line + strings.TrimRight(lines[i+1][:len(lines[i+1])-len(rest)], " ")
		joins++
		if rest == "" {
			lines = append(lines[:i+1], lines[i+2:]...)
			i-- // the joined line now faces the next line
		} else {
			lines[i+1] = rest
		}
	}
	return strings.Join(lines, "\n"), joins
}

// brokenWordHead returns the letters before the hyphen that ends line and
// the hyphen, or false when line does not end in a letter and a hyphen.
func brokenWordHead(line string) (head, hyphen string, ok bool) {
	last, size := utf8.DecodeLastRuneInString(line)
	if last != '-' && last != '\u2010' && last != '\u00ad' {
		return "", "", false
	}
	hyphen = line[len(line)-size:]
	body := line[:len(line)-size]
	start := len(body)
	for start > 0 {
		r, n := utf8.DecodeLastRuneInString(body[:start])
		if !unicode.IsLetter(r) {
			break
		}
		start -= n
	}
	if start == len(body) {
		return "", "", false
	}
	return body[start:], hyphen, true
}

// brokenWordTail returns the lower-case letters that start line, which end
// a broken word, and the rest of the line after them, any closing
// punctuation and one space. It returns false when line does not start
// with a lower-case letter or the first token holds other characters.
func brokenWordTail(line string) (tail, rest string, ok bool) {
	end := 0
	for end < len(line) {
		r, n := utf8.DecodeRuneInString(line[end:])
		if !unicode.IsLower(r) {
			break
		}
		end += n
	}
	if end == 0 {
		return "", "", false
	}
	tail = line[:end]

	// Closing punctuation stays with the word.
	after := end
	for after < len(line) && strings.IndexByte(".,;:!?)]'\"", line[after]) >= 0 {
		after++
	}
	switch {
	case after == len(line):
		return tail, "", true
	case line[after] == ' ':
		return tail, line[after+1:], true
	}
	return "", "", false
}

// documentWords returns the set of lower-case letter runs in s, hyphenated
// runs included as one word ("long-term").
func documentWords(s string) map[string]bool {
	words := map[string]bool{}
	for _, field := range strings.Fields(s) {
		word := strings.TrimFunc(field, func(r rune) bool { return !unicode.IsLetter(r) })
		if word != "" {
			words[strings.ToLower(word)] = true
		}
	}
	return words
}
