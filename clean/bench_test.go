package clean

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/adapt-llm/adapt/clean/pii"
)

// BenchmarkRules measures the throughput of each rule on the Debian
// copyright texts (about 3.3 MB). Run it with -benchtime=1x for a quick
// figure; MB/s is input text bytes per second.
func BenchmarkRules(b *testing.B) {
	docs := debianCopyrightDocs(b)
	texts := make([]string, len(docs))
	var size int64
	for i, d := range docs {
		texts[i] = normalizeWhitespace(normalizeUnicode(d.Text, NFC))
		size += int64(len(texts[i]))
	}
	detector := newLanguageDetector([]string{"en"})

	rules := []struct {
		name string
		run  func(string)
	}{
		{"repair", func(s string) { repairText(s) }},
		{"unicode_normalization", func(s string) { normalizeUnicode(s, NFC) }},
		{"whitespace", func(s string) { normalizeWhitespace(s) }},
		{"lang", func(s string) { detector.detect(s) }},
		{"quality", func(s string) { measureQuality(s) }},
		{"pii", func(s string) { pii.Redact(s) }},
	}
	for _, rule := range rules {
		b.Run(rule.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				for _, text := range texts {
					rule.run(text)
				}
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"a\r\n\r\n\r\nb", "\xff\xfe \t x", "\uFEFF\x00caf\u0065\u0301\n\n\n", " \u00a0\u2028 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		repaired, _ := repairText(in)
		if !utf8.ValidString(repaired) {
			t.Fatalf("repairText(%q) = %q, not valid UTF-8", in, repaired)
		}
		out := normalizeWhitespace(normalizeUnicode(repaired, NFC))
		if strings.Contains(out, "\r") || strings.Contains(out, "\n\n\n") || strings.Contains(out, "  ") {
			t.Fatalf("normalized text %q has CR, three newlines or two spaces", out)
		}
		if out != strings.TrimSpace(out) {
			t.Fatalf("normalized text %q has space at an end", out)
		}
		if again := normalizeWhitespace(out); again != out {
			t.Fatalf("normalizeWhitespace is not idempotent: %q then %q", out, again)
		}
	})
}
