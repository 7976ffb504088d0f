package pii

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
)

// benchCorpora are the real texts BenchmarkFind and BenchmarkRedact scan:
// Debian copyright files, 10-K filings, court opinions and FOMC statements.
var benchCorpora = [][]string{
	{"legal", "debian", "debian_copyright_unique.jsonl"},
	{"financial", "sec10k", "form10k_sample_2023.jsonl"},
	{"legal", "cap_illinois", "cap_illinois_opinions_text.jsonl"},
	{"financial", "fomc", "fomc_statements_1994_2016.jsonl"},
}

// loadBenchTexts returns every string field of at least 200 bytes in the
// JSONL files of benchCorpora, and their total size in bytes.
func loadBenchTexts(b *testing.B) ([]string, int64) {
	var texts []string
	var size int64
	for _, elem := range benchCorpora {
		path := sharedtest.Dir(b, append([]string{"data"}, elem...)...)
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		scanner := bufio.NewScanner(f)
		scanner.Buffer(make([]byte, 1<<20), 1<<26)
		for line := 1; scanner.Scan(); line++ {
			var rec map[string]any
			if err := json.Unmarshal(scanner.Bytes(), &rec); err != nil {
				b.Fatalf("%s line %d: %v", path, line, err)
			}
			for _, v := range rec {
				if s, ok := v.(string); ok && len(s) >= 200 {
					texts = append(texts, s)
					size += int64(len(s))
				}
			}
		}
		if err := scanner.Err(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	return texts, size
}

// BenchmarkFind measures Find on about 6 MB of real text; MB/s is input
// bytes per second. Run it with -benchtime=3x for a quick figure.
func BenchmarkFind(b *testing.B) {
	texts, size := loadBenchTexts(b)
	b.SetBytes(size)
	for b.Loop() {
		for _, text := range texts {
			Find(text)
		}
	}
}

// BenchmarkRedact measures Redact on the same texts as BenchmarkFind.
func BenchmarkRedact(b *testing.B) {
	texts, size := loadBenchTexts(b)
	b.SetBytes(size)
	for b.Loop() {
		for _, text := range texts {
			Redact(text)
		}
	}
}
