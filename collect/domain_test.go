package collect

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
)

func TestDomainScore(t *testing.T) {
	cases := []struct {
		name, domain, text string
		want               float64
	}{
		// "patients" and "diagnosed" stem to listed terms: 2 of 4 tokens.
		{"english stems", "medical", "Patients were diagnosed quickly", 50},
		{"no tokens", "medical", "  ...  ", 0},
		// 患者 and 诊断 match, and the 5 Han characters are 5 tokens.
		{"chinese substrings", "medical", "患者诊断后", 40},
		{"other domain", "financial", "Patients were diagnosed quickly", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := DomainScore(tc.domain, tc.text)
			if !ok {
				t.Fatalf("domain %q has no term list", tc.domain)
			}
			// Tolerance: the scores are ratios of small integers.
			if diff := got - tc.want; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("got %g, want %g", got, tc.want)
			}
		})
	}
	if _, ok := DomainScore("astronomy", "x"); ok {
		t.Error("unknown domain: got a score, want ok=false")
	}
	if got, want := strings.Join(DomainNames(), ","), "financial,legal,medical"; got != want {
		t.Errorf("DomainNames: got %q, want %q", got, want)
	}
}

// sampleText concatenates the "text" (or answer) fields of a JSONL file.
func sampleText(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	scanner := bufio.NewScanner(f)
	scanner.Buffer(nil, 64<<20)
	for scanner.Scan() {
		var rec map[string]any
		if json.Unmarshal(scanner.Bytes(), &rec) != nil {
			continue
		}
		for _, key := range []string{"text", "answer", "question"} {
			if s, ok := rec[key].(string); ok {
				b.WriteString(s)
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

func TestDomainScoreOnSharedSamples(t *testing.T) {
	samples := map[string][]string{
		"medical":   {filepath.Join("medical", "medquad", "medquad_subset.jsonl")},
		"legal":     {filepath.Join("legal", "cap_illinois", "cap_illinois_opinions_text.jsonl")},
		"financial": {filepath.Join("financial", "fomc", "fomc_statements_1994_2016.jsonl"), filepath.Join("financial", "sec10k", "form10k_sample_2023.jsonl")},
	}
	for domain, files := range samples {
		t.Run(domain, func(t *testing.T) {
			var text strings.Builder
			for _, file := range files {
				text.WriteString(sampleText(t, sharedtest.Dir(t, "data", file)))
			}
			scores := map[string]float64{}
			for _, list := range DomainNames() {
				scores[list], _ = DomainScore(list, text.String())
			}
			t.Logf("%s sample scores: %v", domain, scores)
			for list, score := range scores {
				if list != domain && score >= scores[domain] {
					t.Errorf("%s sample: %s list scores %.2f, not below its own list's %.2f", domain, list, score, scores[domain])
				}
			}
		})
	}
}

func TestMinDomainScore(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.txt", "The plaintiff filed an appeal against the judgment of the court.")
	writeFile(t, dir, "b.txt", "The cat sat on the warm mat all afternoon.")
	out := filepath.Join(t.TempDir(), "collect")
	m, err := Run(t.Context(), Options{Sources: []Source{{Path: dir}}, Domain: "legal", OutDir: out, MinDomainScore: 5})
	if err != nil {
		t.Fatal(err)
	}
	docs := readDocs(t, out)
	if len(docs) != 1 || !strings.HasSuffix(docs[0].URL, "a.txt") {
		t.Fatalf("got %d docs, want only a.txt", len(docs))
	}
	if docs[0].Meta[MetaDomainScore] == "" {
		t.Error("kept document has no domain_score")
	}
	if got := m.RuleCounts[ReasonOffDomain]; got != 1 {
		t.Errorf("off_domain count: got %d, want 1", got)
	}

	_, err = Run(t.Context(), Options{Sources: []Source{{Path: dir}}, Domain: "astronomy", OutDir: out, MinDomainScore: 5})
	if err == nil {
		t.Error("min score with a domain without terms: got no error, want ErrInvalidOptions")
	}
}
