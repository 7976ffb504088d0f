package clean

import (
	_ "embed"
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Terminology normalization replaces the abbreviations and synonyms of a
// domain by one preferred term, so a fine-tuned model is trained on one name per
// concept. It is off by default (Config.Terminology) because it rewrites
// the text. Abbreviations match only as whole tokens written exactly as in
// the map, because a lower-case "mi" or a "Mi" at the start of a sentence
// is seldom the abbreviation. Synonyms match whole words case-insensitively
// but otherwise exactly, with no stemming, so "heart attacks" never
// matches an entry for "heart attack" and a plural never becomes a
// singular term.

//go:embed terminology.yaml
var builtinTerminology []byte

// maxSynonymWords is the largest number of words in a synonym phrase.
const maxSynonymWords = 6

// TermMap is the terminology of one domain, as stored in terminology.yaml.
type TermMap struct {
	// Abbreviations maps a case-sensitive whole token to its expansion.
	Abbreviations map[string]string `yaml:"abbreviations" json:"abbreviations"`
	// Synonyms maps a phrase, matched case-insensitively on whole words
	// with no stemming, to the preferred term.
	Synonyms map[string]string `yaml:"synonyms" json:"synonyms"`
}

// LoadTerminology returns the built-in terminology maps per domain, with
// the domains of the YAML file at path (if path is not empty) replacing
// built-in domains of the same name.
func LoadTerminology(path string) (map[string]TermMap, error) {
	maps := map[string]TermMap{}
	if err := yaml.Unmarshal(builtinTerminology, &maps); err != nil {
		panic("clean: built-in terminology.yaml is invalid: " + err.Error())
	}
	if path == "" {
		return maps, nil
	}

	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading terminology file: %w", err)
	}
	var user map[string]TermMap
	if err := yaml.Unmarshal(data, &user); err != nil {
		return nil, fmt.Errorf("%w: decoding terminology file %s: %v; see the layout of the built-in terminology.yaml", ErrInvalidConfig, path, err)
	}
	for domain, m := range user {
		for phrase := range m.Synonyms {
			if n := len(strings.Fields(phrase)); n == 0 || n > maxSynonymWords {
				return nil, fmt.Errorf("%w: terminology file %s: synonym %q of domain %s has %d words, want 1 to %d", ErrInvalidConfig, path, phrase, domain, n, maxSynonymWords)
			}
		}
		maps[domain] = m
	}
	return maps, nil
}

// termNormalizer applies the terminology of one domain.
type termNormalizer struct {
	abbreviations map[string]string
	// synonyms maps the lower-case words of a phrase, joined by one space,
	// to the preferred term.
	synonyms map[string]string
	// firstWords contains the lower-case first word of each phrase, so
	// other words skip the phrase lookup.
	firstWords map[string]bool
	maxWords   int
}

func newTermNormalizer(m TermMap) *termNormalizer {
	t := &termNormalizer{abbreviations: m.Abbreviations, synonyms: map[string]string{}, firstWords: map[string]bool{}}
	for phrase, term := range m.Synonyms {
		words := strings.Fields(strings.ToLower(phrase))
		t.synonyms[strings.Join(words, " ")] = term
		t.firstWords[words[0]] = true
		t.maxWords = max(t.maxWords, len(words))
	}
	return t
}

// termCounts counts the replacements in one document.
type termCounts struct {
	abbreviations, synonyms int
}

// wordSpan is one run of letters and digits in a text, by byte offsets.
type wordSpan struct{ start, end int }

// normalize returns text with abbreviations expanded and synonyms
// replaced, and the counts.
func (t *termNormalizer) normalize(text string) (string, termCounts) {
	var counts termCounts
	spans := wordSpans(text)
	if len(spans) == 0 {
		return text, counts
	}
	lower := make([]string, len(spans)) // filled on demand
	lowerWord := func(i int) string {
		if lower[i] == "" {
			lower[i] = strings.ToLower(text[spans[i].start:spans[i].end])
		}
		return lower[i]
	}

	var b strings.Builder
	last := 0
	for i := 0; i < len(spans); i++ {
		word := text[spans[i].start:spans[i].end]

		// Abbreviations: exact whole tokens.
		if expansion, ok := t.abbreviations[word]; ok {
			b.WriteString(text[last:spans[i].start])
			b.WriteString(expansion)
			last = spans[i].end
			counts.abbreviations++
			continue
		}

		// Synonyms: the longest phrase of lower-case words that starts here.
		if len(t.synonyms) == 0 || !t.firstWords[lowerWord(i)] {
			continue
		}
		for n := min(t.maxWords, len(spans)-i); n >= 1; n-- {
			if !sameLine(text, spans[i:i+n]) {
				continue
			}
			parts := make([]string, n)
			for k := range n {
				parts[k] = lowerWord(i + k)
			}
			term, ok := t.synonyms[strings.Join(parts, " ")]
			if !ok {
				continue
			}
			replacement := matchCase(word, term)
			if replacement == text[spans[i].start:spans[i+n-1].end] {
				i += n - 1 // already the preferred term
				break
			}
			b.WriteString(text[last:spans[i].start])
			b.WriteString(replacement)
			last = spans[i+n-1].end
			counts.synonyms++
			i += n - 1
			break
		}
	}
	if last == 0 {
		return text, counts
	}
	b.WriteString(text[last:])
	return b.String(), counts
}

// sameLine reports whether the words are separated by spaces and hyphens
// only, so a phrase does not match across a line break or punctuation.
func sameLine(text string, spans []wordSpan) bool {
	for k := 1; k < len(spans); k++ {
		gap := text[spans[k-1].end:spans[k].start]
		if strings.Trim(gap, " -") != "" || gap == "" {
			return false
		}
	}
	return true
}

// matchCase capitalizes term when the replaced word starts with an upper-case
// letter and term starts with a lower-case one.
func matchCase(word, term string) string {
	w, _ := utf8.DecodeRuneInString(word)
	r, size := utf8.DecodeRuneInString(term)
	if unicode.IsUpper(w) && unicode.IsLower(r) {
		return string(unicode.ToUpper(r)) + term[size:]
	}
	return term
}

// wordSpans returns the runs of letters and digits in text.
func wordSpans(text string) []wordSpan {
	var spans []wordSpan
	start := -1
	for i, r := range text {
		inWord := unicode.IsLetter(r) || unicode.IsDigit(r)
		switch {
		case inWord && start < 0:
			start = i
		case !inWord && start >= 0:
			spans = append(spans, wordSpan{start, i})
			start = -1
		}
	}
	if start >= 0 {
		spans = append(spans, wordSpan{start, len(text)})
	}
	return spans
}
