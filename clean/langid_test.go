package clean

import "testing"

func TestDetectByModelIsRepeatable(t *testing.T) {
	d := newLanguageDetector([]string{"en", "de"})
	// Mixed text that the fast paths leave to the lingua-go models.
	sample := languageSample("Der Vertrag endet am Monatsende, unless the licensee gives notice in writing before then.")
	code, first := d.detectByModel(sample)
	for i := 0; i < 50; i++ {
		if c, v := d.detectByModel(sample); c != code || v != first {
			t.Fatalf("run %d: detectByModel = %s %v, first run gave %s %v", i, c, v, code, first)
		}
	}
}
