package neardup

import (
	"context"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/adapt-llm/adapt/internal/sharedtest"
)

// benchBytes is the minimum corpus size of BenchmarkNearDedup.
const benchBytes = 50 << 20

// benchCorpus builds at least benchBytes of documents from the real text
// under the shared data folder. Every file is cut into documents of 600
// words (about 4 KB). Copies with 1 to 8 words replaced follow until the
// size is reached, so the corpus has many near-duplicates.
func benchCorpus(b *testing.B) (texts []string, size int64) {
	dir := sharedtest.Dir(b, "data")
	var base []string
	for _, sub := range []string{"legal", "medical", "financial"} {
		filepath.WalkDir(filepath.Join(dir, sub), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			words := strings.Fields(string(data))
			for len(words) > 0 {
				n := min(len(words), 600)
				base = append(base, strings.Join(words[:n], " "))
				words = words[n:]
			}
			return nil
		})
	}
	if len(base) == 0 {
		b.Skipf("no text under %s", dir)
	}

	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; size < benchBytes; i++ {
		text := base[i%len(base)]
		if i >= len(base) {
			words := strings.Fields(text)
			for range 1 + rng.IntN(8) {
				words[rng.IntN(len(words))] = words[rng.IntN(len(words))]
			}
			text = strings.Join(words, " ")
		}
		texts = append(texts, text)
		size += int64(len(text))
	}
	return texts, size
}

// BenchmarkNearDedup measures signatures (on GOMAXPROCS goroutines) plus
// clustering of the whole corpus with the default Config. MB/s is input
// text bytes per second. Run it with -benchtime=1x.
func BenchmarkNearDedup(b *testing.B) {
	texts, size := benchCorpus(b)
	b.SetBytes(size)
	start := cpuSeconds()
	for b.Loop() {
		records, err := Signatures(context.Background(), Config{}, "bench", seqOf(texts))
		if err != nil {
			b.Fatal(err)
		}
		d, err := Cluster(Config{}, records)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(texts)), "docs")
		b.ReportMetric(float64(d.Removed()), "removed")
	}
	// On a shared machine wall time overstates the cost, so also report
	// throughput per second of this process's CPU time.
	b.ReportMetric(float64(size)*float64(b.N)/1e6/(cpuSeconds()-start), "MB/cpu-s")
}

// cpuSeconds returns the user plus system CPU time of this process.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkSignature measures one goroutine hashing the corpus, without
// clustering.
func BenchmarkSignature(b *testing.B) {
	texts, size := benchCorpus(b)
	h, err := NewHasher(Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for b.Loop() {
		for _, text := range texts {
			h.Signature(text)
		}
	}
}
