package collect

// Domain relevance scoring. English terms are matched after stemming with
// the Snowball English (Porter2) stemmer of github.com/kljensen/snowball
// v0.10.0, the stemming algorithm described at
// https://snowballstem.org/algorithms/english/stemmer.html. Chinese has no
// word boundaries to stem, so Chinese terms are matched as substrings.

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
)

// ReasonOffDomain marks a document whose domain score is below
// Options.MinDomainScore.
const ReasonOffDomain = "off_domain"

// MetaDomainScore is the Document.Meta key of the domain score, formatted
// with two decimals.
const MetaDomainScore = "domain_score"

// domainTermFiles holds the term lists, named <domain>.<lang>.txt. Lines
// starting with "#" are comments, and every other non-blank line is one term.
//
//go:embed domainterms/*.txt
var domainTermFiles embed.FS

// domainTerms is the compiled term list of one domain.
type domainTerms struct {
	stems   map[string]bool // stemmed English terms
	chinese []string        // Chinese terms, matched as substrings
}

var (
	domainListsOnce sync.Once
	domainLists     map[string]*domainTerms
)

// loadDomainLists compiles the embedded term files once. A malformed
// embedded file is a build defect, so it panics.
func loadDomainLists() map[string]*domainTerms {
	domainListsOnce.Do(func() {
		domainLists = map[string]*domainTerms{}
		entries, err := domainTermFiles.ReadDir("domainterms")
		if err != nil {
			panic("collect: reading embedded domain terms: " + err.Error())
		}
		for _, e := range entries {
			domain, lang, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".txt"), ".")
			if !ok {
				panic("collect: domain term file " + e.Name() + " is not named <domain>.<lang>.txt")
			}
			data, _ := domainTermFiles.ReadFile("domainterms/" + e.Name())
			terms := domainLists[domain]
			if terms == nil {
				terms = &domainTerms{stems: map[string]bool{}}
				domainLists[domain] = terms
			}
			scanner := bufio.NewScanner(bytes.NewReader(data))
			for scanner.Scan() {
				term := strings.TrimSpace(scanner.Text())
				if term == "" || strings.HasPrefix(term, "#") {
					continue
				}
				switch lang {
				case "en":
					terms.stems[english.Stem(term, false)] = true
				case "zh":
					terms.chinese = append(terms.chinese, term)
				default:
					panic("collect: domain term file " + e.Name() + " has unknown language " + lang)
				}
			}
		}
	})
	return domainLists
}

// DomainNames returns the domains that have built-in term lists, sorted:
// "financial", "legal" and "medical".
func DomainNames() []string {
	lists := loadDomainLists()
	names := make([]string, 0, len(lists))
	for name := range lists {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// DomainScore returns how strongly text uses the vocabulary of domain, as
// term matches per 100 tokens:
//
//	score = 100 * (english_matches + chinese_matches) / tokens
//
// Tokens are the runs of letters and digits outside the Han script plus
// every Han character. english_matches counts the tokens whose lower-case
// Snowball stem is a stemmed term of the domain. chinese_matches counts the
// non-overlapping occurrences of each Chinese term in the text, summed over
// terms, so a term inside a longer term counts for both. Text without tokens
// scores 0. The second result is false when domain has no term list.
func DomainScore(domain, text string) (float64, bool) {
	terms := loadDomainLists()[domain]
	if terms == nil {
		return 0, false
	}
	var s domainScorer
	return s.score(terms, text), true
}

// maxStemCache bounds a domainScorer's stem cache; it is cleared when full.
const maxStemCache = 1 << 16

// domainScorer scores documents with a cache that records, per lower-case
// token, whether its stem is a term, which saves most of the stemming and
// one map lookup per token on real text. It is not safe for concurrent use:
// each extraction worker has its own.
type domainScorer struct {
	cache      map[string]bool
	cacheTerms *domainTerms // the list the cache was filled for
	token      []byte
}

func (s *domainScorer) score(terms *domainTerms, text string) float64 {
	if s.cache == nil || s.cacheTerms != terms {
		s.cache = make(map[string]bool, 1024)
		s.cacheTerms = terms
	}
	tokens, matches := 0, 0
	han := false

	// Split into Latin-script word tokens and single Han characters.
	s.token = s.token[:0]
	flush := func() {
		if len(s.token) == 0 {
			return
		}
		tokens++
		match, ok := s.cache[string(s.token)]
		if !ok {
			match = terms.stems[english.Stem(string(s.token), false)]
			if len(s.cache) >= maxStemCache {
				clear(s.cache)
			}
			s.cache[string(s.token)] = match
		}
		if match {
			matches++
		}
		s.token = s.token[:0]
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				s.token = append(s.token, c)
			case 'A' <= c && c <= 'Z':
				s.token = append(s.token, c+'a'-'A')
			default:
				flush()
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		switch {
		case unicode.Is(unicode.Han, r):
			flush()
			tokens++
			han = true
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			s.token = utf8.AppendRune(s.token, unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()

	// Count Chinese terms only in text that has Han characters.
	if han {
		for _, term := range terms.chinese {
			matches += strings.Count(text, term)
		}
	}
	if tokens == 0 {
		return 0
	}
	return 100 * float64(matches) / float64(tokens)
}

// formatDomainScore formats a score for Document.Meta.
func formatDomainScore(score float64) string {
	return strconv.FormatFloat(score, 'f', 2, 64)
}

// checkDomainOptions validates the domain scoring options.
func checkDomainOptions(opts *Options) error {
	if opts.MinDomainScore < 0 {
		return fmt.Errorf("%w: min domain score %g is negative", ErrInvalidOptions, opts.MinDomainScore)
	}
	if opts.MinDomainScore > 0 && loadDomainLists()[opts.Domain] == nil {
		return fmt.Errorf("%w: min domain score is set but domain %q has no term list (built-in: %s); set min_domain_score to 0",
			ErrInvalidOptions, opts.Domain, strings.Join(DomainNames(), ", "))
	}
	return nil
}
