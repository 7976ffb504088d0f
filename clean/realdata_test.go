package clean

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/internal/sharedtest"
)

// realDataFiles are the JSON Lines corpora of the shared data folder, by
// path under it, with their domain.
var realDataFiles = []struct{ path, domain string }{
	{"legal/debian/debian_copyright_unique.jsonl", "legal"},
	{"legal/cap_illinois/cap_illinois_opinions_text.jsonl", "legal"},
	{"financial/fomc/fomc_statements_1994_2016.jsonl", "financial"},
	{"financial/sec10k/form10k_sample_2023.jsonl", "financial"},
	{"medical/medquad/medquad_subset.jsonl", "medical"},
}

// realDataDocs reads every corpus of the shared data folder as documents:
// the JSON Lines files (each record's string fields of 200 bytes or more,
// joined by blank lines) and the PubMedQA abstracts.
func realDataDocs(t testing.TB) []corpus.Document {
	root := sharedtest.Dir(t, "data")
	var docs []corpus.Document
	for _, f := range realDataFiles {
		file, err := os.Open(filepath.Join(root, f.path))
		if err != nil {
			t.Fatal(err)
		}
		scanner := bufio.NewScanner(file)
		scanner.Buffer(make([]byte, 1<<20), 1<<26)
		for line := 1; scanner.Scan(); line++ {
			var rec map[string]any
			if err := json.Unmarshal(scanner.Bytes(), &rec); err != nil {
				t.Fatalf("%s line %d: %v", f.path, line, err)
			}
			keys := make([]string, 0, len(rec))
			for k := range rec {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			var parts []string
			for _, k := range keys {
				if s, ok := rec[k].(string); ok && len(s) >= 200 {
					parts = append(parts, s)
				}
			}
			if len(parts) == 0 {
				continue
			}
			doc := inputDoc(fmt.Sprintf("%s-%d", filepath.Base(f.path), line), strings.Join(parts, "\n\n"))
			doc.Domain = f.domain
			doc.URL = filepath.Join("/data", f.path) + fmt.Sprintf("#%d", line)
			docs = append(docs, doc)
		}
		file.Close()
		if err := scanner.Err(); err != nil {
			t.Fatal(err)
		}
	}

	data, err := os.ReadFile(filepath.Join(root, "medical/pubmedqa/ori_pqal.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pubmed map[string]struct {
		Contexts   []string `json:"CONTEXTS"`
		LongAnswer string   `json:"LONG_ANSWER"`
	}
	if err := json.Unmarshal(data, &pubmed); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(pubmed))
	for id := range pubmed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		rec := pubmed[id]
		doc := inputDoc("pubmed-"+id, strings.Join(append(rec.Contexts, rec.LongAnswer), "\n\n"))
		doc.Domain = "medical"
		doc.URL = "https://pubmed.ncbi.nlm.nih.gov/" + id
		docs = append(docs, doc)
	}
	return docs
}

// referenceSampleBytes is the sample size the clean stage used before the
// sample was shortened for speed; the shorter sample must give the same
// languages on the shared corpora.
const referenceSampleBytes = 4096

// TestLanguageSampleSizeOnRealData checks that the sample size in use gives
// the same language as the reference sample size on every document of the
// shared corpora. Run with -v to see the agreement of other sizes.
func TestLanguageSampleSizeOnRealData(t *testing.T) {
	if testing.Short() {
		t.Skip("runs lingua-go on the shared corpora")
	}
	docs := realDataDocs(t)
	d := newLanguageDetector([]string{"en"})
	detectN := func(text string, n int) string {
		sample := languageSampleN(text, n)
		letters := countLetters(sample)
		if letters < minLangLetters {
			return Undetermined
		}
		if code, _ := scriptLanguage(sample, letters); code != "" {
			return code
		}
		code, _ := d.detectByModel(sample)
		return code
	}
	sizes := []int{512, 1024, 2048}
	differ := map[int]int{}
	for _, doc := range docs {
		text := normalizeWhitespace(doc.Text)
		want := detectN(text, referenceSampleBytes)
		for _, n := range sizes {
			if got := detectN(text, n); got != want {
				differ[n]++
				if n == langSampleBytes {
					t.Errorf("%s: %d-byte sample gives %s, %d-byte sample %s", doc.ID, n, got, referenceSampleBytes, want)
				}
			}
		}
	}
	for _, n := range sizes {
		t.Logf("sample %d bytes: %d of %d documents differ from the %d-byte sample", n, differ[n], len(docs), referenceSampleBytes)
	}
}

// TestLanguageFastPathOnRealData checks that the function-word fast path
// gives lingua-go's language on every document of the shared corpora that
// it decides, and logs how many it decides.
func TestLanguageFastPathOnRealData(t *testing.T) {
	if testing.Short() {
		t.Skip("runs lingua-go on the shared corpora")
	}
	docs := realDataDocs(t)
	d := newLanguageDetector([]string{"en"})
	decided := 0
	for _, doc := range docs {
		sample := languageSample(normalizeWhitespace(doc.Text))
		code, _ := fastLanguage(sample, d.fast)
		if code == "" {
			continue
		}
		decided++
		if want, _ := d.detectByModel(sample); code != want {
			t.Errorf("%s: fast path %s, lingua-go %s", doc.ID, code, want)
		}
	}
	t.Logf("fast path decided %d of %d documents", decided, len(docs))
}
