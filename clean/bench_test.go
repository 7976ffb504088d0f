package clean

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/adapt-llm/adapt/corpus"

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
	meter := newQualityMeter()
	maps, err := LoadTerminology("")
	if err != nil {
		b.Fatal(err)
	}
	terms := newTermNormalizer(maps["legal"])

	rules := []struct {
		name string
		run  func(string)
	}{
		{"repair", func(s string) { repairText(s) }},
		{"unicode_normalization", func(s string) { normalizeUnicode(s, NFC) }},
		{"whitespace", func(s string) { normalizeWhitespace(s) }},
		{"lang", func(s string) { detector.detect(s) }},
		{"mojibake", func(s string) { repairMojibake(s) }},
		{"dehyphenation", func(s string) { dehyphenate(s) }},
		{"quality", func(s string) { meter.measure(s, "en") }},
		{"terminology", func(s string) { terms.normalize(s) }},
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

// benchCorpusBytes is the size of the input BenchmarkChain200MB builds.
const benchCorpusBytes = 200 << 20

// BenchmarkChain200MB runs Run, the full chain without near-dedup, on the
// shared corpora repeated to about 200 MB. It writes the input as collect
// shards in a temporary folder first. It reports MB/s of input text, MB/s
// per rule from the manifest's timings, and the peak resident memory
// (VmHWM).
// Each repetition gets a distinct first line, so exact dedup keeps them.
// Run it with -benchtime=1x.
func BenchmarkChain200MB(b *testing.B) {
	docs := realDataDocs(b)
	ws := b.TempDir()
	in := filepath.Join(ws, "collect")
	if err := os.MkdirAll(in, 0o755); err != nil {
		b.Fatal(err)
	}
	w := corpus.NewShardWriter(in, corpus.ShardOptions{MaxRows: 20_000})
	var size, rows int64
	for rep := 0; size < benchCorpusBytes; rep++ {
		for _, d := range docs {
			d.Text = fmt.Sprintf("Copy %d of %s.\n\n%s", rep, d.ID, d.Text)
			size += int64(len(d.Text))
			rows++
			if err := w.Write(d); err != nil {
				b.Fatal(err)
			}
		}
	}
	shards, err := w.Close()
	if err != nil {
		b.Fatal(err)
	}
	m := &corpus.Manifest{Stage: "collect", Shards: shards, Counts: corpus.Counts{In: rows, Kept: rows}}
	if err := corpus.WriteManifest(in, m); err != nil {
		b.Fatal(err)
	}
	runtime.GC()

	// The repetitions are near-duplicates of each other by construction, so
	// near-dedup, which BenchmarkNearDedup in clean/neardup measures, is off.
	cfg := DefaultConfig()
	cfg.NearDedup.Enabled = false

	b.SetBytes(size)
	for b.Loop() {
		start := time.Now()
		cpuStart := cpuSeconds()
		out, err := Run(context.Background(), Options{InDir: in, OutDir: filepath.Join(ws, "clean"), Config: cfg})
		if err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start).Seconds()
		b.ReportMetric(float64(size)/1e6/elapsed, "chain_MB/s")
		b.ReportMetric(float64(size)/1e6/(cpuSeconds()-cpuStart), "chain_MB/cpu_s")
		for _, name := range stepNames {
			if sec := out.Stats["seconds_"+name]; sec > 0 {
				b.ReportMetric(float64(size)/1e6/sec, name+"_MB/s")
			}
		}
		b.Logf("input %d documents, %.1f MB; kept %d; %.1f s", rows, float64(size)/1e6, out.Counts.Kept, elapsed)
	}
	b.ReportMetric(float64(peakRSS(b))/(1<<20), "peak_MiB")
}

// cpuSeconds returns the user and system CPU time of the process so far.
func cpuSeconds() float64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano()).Seconds()
}

// peakRSS returns the process's peak resident set size in bytes, read from
// VmHWM in /proc/self/status, or 0 where that file is missing.
func peakRSS(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb)
			return kb << 10
		}
	}
	b.Log("VmHWM not found in /proc/self/status")
	return 0
}
