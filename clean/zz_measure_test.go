package clean

import (
	"testing"
	"time"
)

func TestZZQuickSample(t *testing.T) {
	docs := realDataDocs(t)
	d := newLanguageDetector([]string{"en"})
	model := func(text string, n int) (string, float64) {
		sample := languageSampleN(text, n)
		if countLetters(sample) < minLangLetters {
			return Undetermined, 0
		}
		return d.detectByModel(sample)
	}
	for _, n := range []int{256, 512, 1024} {
		maxBad := 0.0
		var confs []float64
		var tq, tf time.Duration
		bad := 0
		for _, doc := range docs {
			text := normalizeWhitespace(doc.Text)
			s := time.Now()
			want, _ := model(text, referenceSampleBytes)
			tf += time.Since(s)
			s = time.Now()
			got, conf := model(text, n)
			tq += time.Since(s)
			confs = append(confs, conf)
			if got != want {
				bad++
				maxBad = max(maxBad, conf)
				t.Logf("n=%d %s: quick %s %.4f, ref %s", n, doc.ID, got, conf, want)
			}
		}
		above := 0
		for _, c := range confs {
			if c > maxBad {
				above++
			}
		}
		t.Logf("n=%d: %d differ, max conf of a differing quick answer %.4f; %d of %d docs above it; time quick %v ref %v", n, bad, maxBad, above, len(docs), tq, tf)
	}
}
