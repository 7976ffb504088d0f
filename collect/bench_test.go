package collect

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
)

// benchCorpusBytes is the minimum size of the generated benchmark input.
const benchCorpusBytes = 200 << 20

// writeBenchCorpus copies the medical, legal and financial sample files into
// dir again and again, under new names, until they add up to at least
// benchCorpusBytes. It returns the total size.
func writeBenchCorpus(b *testing.B, dir string) int64 {
	var samples [][]byte
	var names []string
	for _, domain := range []string{"medical", "legal", "financial"} {
		root := sharedtest.Dir(b, "data", domain)
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			samples = append(samples, data)
			names = append(names, strings.ReplaceAll(strings.TrimPrefix(path, root), string(filepath.Separator), "_"))
			return nil
		})
	}
	var total int64
	for copyNo := 0; total < benchCorpusBytes; copyNo++ {
		sub := filepath.Join(dir, fmt.Sprintf("copy%03d", copyNo))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for i, data := range samples {
			if err := os.WriteFile(filepath.Join(sub, names[i]), data, 0o644); err != nil {
				b.Fatal(err)
			}
			total += int64(len(data))
		}
	}
	return total
}

// BenchmarkCollectLocal measures collect throughput in input MB/s on the
// shared domain samples repeated to at least 200 MiB of local files. Run it
// with -benchtime=1x: one iteration reads the whole corpus.
func BenchmarkCollectLocal(b *testing.B) {
	src := b.TempDir()
	total := writeBenchCorpus(b, src)
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		out := filepath.Join(b.TempDir(), fmt.Sprintf("collect%d", i))
		m, err := Run(b.Context(), Options{Sources: []Source{{Path: src}}, Domain: "medical", OutDir: out, ToolVersion: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(m.Stats["files"], "files/op")
		b.ReportMetric(float64(m.Counts.In), "docs/op")
		os.RemoveAll(out)
	}
}
