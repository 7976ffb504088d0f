package clean

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/adapt-llm/adapt/clean/neardup"
	"github.com/adapt-llm/adapt/corpus"
)

func TestRepairMojibake(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"Spanish name", "NicolÃ¡s", "Nicolás"},
		{"Turkish dotted capital I", "Ä°stanbul", "İstanbul"},
		{"correct Portuguese stays", "São Paulo", "São Paulo"},
		{"correct text with en dash stays", "São Paulo – Brasil", "São Paulo – Brasil"},
		{"mojibake beside a correct en dash", "NicolÃ¡s – São Paulo", "Nicolás – São Paulo"},
		{"French", "Ã©tÃ© Ã\u00a0 la plage", "été à la plage"},
		{"correct French stays", "été à la plage, déjà vu", "été à la plage, déjà vu"},
		{"German", "GrÃ¶ÃŸe und MÃ¼ller", "Größe und Müller"},
		{"correct German stays", "Größe und Müller", "Größe und Müller"},
		{"Spanish eñe", "EspaÃ±a", "España"},
		{"Turkish cedilla via C1 byte", "ba\u00c5\u009fka", "başka"},
		{"Chinese", "ä¸\u00adæ–‡", "中文"},
		{"correct Chinese stays", "中文文本", "中文文本"},
		{"em dash mojibake", "word â€” word", "word — word"},
		{"correct em dash stays", "word — word", "word — word"},
		{"curly quotes mojibake", "â€œquotedâ€\u009d", "“quoted”"},
		{"correct curly quotes stay", "“quoted” and ‘single’", "“quoted” and ‘single’"},
		{"copyright mojibake", "Â© 2024", "© 2024"},
		{"correct copyright stays", "© 2024", "© 2024"},
		{"section sign", "U.S.C. Â§ 101", "U.S.C. § 101"},
		{"double encoding", "cafÃƒÂ©", "café"},
		{"ASCII stays", "plain ASCII text", "plain ASCII text"},
		{"lone capital A tilde stays", "Ã la carte", "Ã la carte"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, n := repairMojibake(tc.in)
			if got != tc.want {
				t.Errorf("repairMojibake(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if (n > 0) != (tc.in != tc.want) {
				t.Errorf("repaired count %d for %q -> %q", n, tc.in, tc.want)
			}
		})
	}
}

func TestDehyphenate(t *testing.T) {
	cases := []struct {
		name, in, want string
		joins          int
	}{
		{"broken word joined", "the treat-\nment of pain", "the treatment\nof pain", 1},
		{"word end alone on line", "the treat-\nment\nnext line", "the treatment\nnext line", 1},
		{"compound head keeps hyphen", "a long-\nterm plan", "a long-term\nplan", 1},
		{"document evidence keeps hyphen", "cost-benefit here. A cost-\nbenefit there", "cost-benefit here. A cost-benefit\nthere", 1},
		{"document evidence joins", "treatment is key. treat-\nment again", "treatment is key. treatment\nagain", 1},
		{"upper-case next line not joined", "see Smith-\nJones today", "see Smith-\nJones today", 0},
		{"paragraph break not joined", "treat-\n\nment", "treat-\n\nment", 0},
		{"dash after space not joined", "a list -\nitem", "a list -\nitem", 0},
		{"punctuation stays with word", "the treat-\nment, then", "the treatment,\nthen", 1},
		{"chained breaks", "in-\nter-\nnational", "international", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, joins := dehyphenate(tc.in)
			if got != tc.want || joins != tc.joins {
				t.Errorf("dehyphenate(%q) = %q, %d joins; want %q, %d", tc.in, got, joins, tc.want, tc.joins)
			}
		})
	}
}

func TestBoilerplateRemovesSharedLines(t *testing.T) {
	cfg := DefaultConfig()
	b := newBoilerplate(cfg)
	var docs []corpus.Document
	for i := range 10 {
		doc := inputDoc("d", "Accept all cookies\n\nUnique body text number "+strings.Repeat("x", i)+"\n\nAccept all cookies\n\nFooter © Example")
		doc.URL = "https://example.org/page" + strings.Repeat("a", i)
		docs = append(docs, doc)
	}
	other := inputDoc("o", "Accept all cookies\nA different site")
	other.URL = "https://other.org/"
	for i := range docs {
		b.countDocument(&docs[i])
	}
	b.countDocument(&other)
	b.prune()

	got, removed := b.remove(&docs[0], normalizeWhitespace(docs[0].Text))
	if got != "Unique body text number" || removed != 3 {
		t.Errorf("remove = %q, %d lines; want the body only, 3 lines", got, removed)
	}
	if got, removed := b.remove(&other, other.Text); removed != 0 {
		t.Errorf("other source group lost %d lines: %q", removed, got)
	}
}

func TestTerminologyNormalize(t *testing.T) {
	maps, err := LoadTerminology("")
	if err != nil {
		t.Fatal(err)
	}
	med := newTermNormalizer(maps["medical"])
	cases := []struct {
		name, in, want string
		abbr, syn      int
	}{
		{"abbreviation as whole upper-case token", "History of MI in 2019.", "History of myocardial infarction in 2019.", 1, 0},
		{"lower-case mi untouched", "about 5 mi away", "about 5 mi away", 0, 0},
		{"mixed-case Mi untouched", "Mi casa", "Mi casa", 0, 0},
		{"abbreviation inside word untouched", "MIT and AMI", "MIT and AMI", 0, 0},
		{"plural abbreviation untouched", "two MIs", "two MIs", 0, 0},
		{"heart attacks untouched", "men have more heart attacks than women", "men have more heart attacks than women", 0, 0},
		{"blood clots untouched", "blood clots in the leg", "blood clots in the leg", 0, 0},
		{"Stroke untouched", "Stroke is a leading cause of death.", "Stroke is a leading cause of death.", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, counts := med.normalize(tc.in)
			if got != tc.want || counts.abbreviations != tc.abbr || counts.synonyms != tc.syn {
				t.Errorf("normalize(%q) = %q %+v; want %q {%d %d}", tc.in, got, counts, tc.want, tc.abbr, tc.syn)
			}
		})
	}
	for _, domain := range []string{"medical", "legal", "financial"} {
		if len(maps[domain].Abbreviations) == 0 {
			t.Errorf("built-in terminology of %s has no abbreviations", domain)
		}
		if n := len(maps[domain].Synonyms); n != 0 {
			t.Errorf("built-in terminology of %s has %d synonyms, want 0", domain, n)
		}
	}
}

func TestTerminologySynonymsExactWords(t *testing.T) {
	user := newTermNormalizer(TermMap{Synonyms: map[string]string{
		"heart attack":        "myocardial infarction",
		"heart attacks":       "myocardial infarctions",
		"high blood pressure": "hypertension",
		"high blood":          "unused",
	}})
	cases := []struct {
		name, in, want string
		syn            int
	}{
		{"singular", "a heart attack", "a myocardial infarction", 1},
		{"plural only by its own entry", "two heart attacks", "two myocardial infarctions", 1},
		{"keeps capital", "Heart attack risk", "Myocardial infarction risk", 1},
		{"not across lines", "heart\nattack", "heart\nattack", 0},
		{"longest phrase first", "high blood pressure", "hypertension", 1},
		{"other inflection untouched", "heart attacked", "heart attacked", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, counts := user.normalize(tc.in)
			if got != tc.want || counts.synonyms != tc.syn {
				t.Errorf("normalize(%q) = %q, %d synonyms; want %q, %d", tc.in, got, counts.synonyms, tc.want, tc.syn)
			}
		})
	}
}

// medicalProse is English medical text with lay terms and abbreviations
// that terminology normalization would rewrite.
const medicalProse = "Men have more heart attacks than women, and the risk of a heart attack rises with age. " +
	"Blood clots in the deep veins of the leg can travel to the lungs, which is why a patient with DVT is watched closely. " +
	"Stroke is one of the leading causes of death and disability, and high blood pressure is the most important risk that can be changed. " +
	"A patient with a prior MI and HTN should have the blood pressure checked at every visit and should be told about the signs of a stroke."

func TestDefaultConfigLeavesMedicalProse(t *testing.T) {
	maps, err := LoadTerminology("")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if cfg.Terminology {
		t.Errorf("DefaultConfig().Terminology = true, want false")
	}
	doc := inputDoc("med", medicalProse)
	doc.Domain = "medical"

	r := newChain(cfg, maps).process(doc)
	if r.Reason != "" {
		t.Fatalf("document rejected: %s %s", r.Reason, r.Detail)
	}
	if r.Doc.Text != medicalProse {
		t.Errorf("text changed\n got  %q\n want %q", r.Doc.Text, medicalProse)
	}
}

// chineseText is ordinary Chinese prose about contract law, without spaces.
const chineseText = "合同是当事人之间设立、变更、终止民事权利义务关系的协议。依法成立的合同，对当事人具有法律约束力。当事人应当按照约定履行自己的义务，不得擅自变更或者解除合同。" +
	"当事人一方不履行合同义务或者履行合同义务不符合约定的，应当承担继续履行、采取补救措施或者赔偿损失等违约责任。" +
	"人民法院在审理合同纠纷案件时，应当根据合同的条款、交易习惯以及诚实信用原则，确定当事人的真实意思。"

func TestChineseDetectedAndKept(t *testing.T) {
	d := newLanguageDetector([]string{"zh"})
	if code, conf := d.detect(chineseText); code != "zh" {
		t.Errorf("detect(Chinese) = %s (%.2f), want zh", code, conf)
	}
	if code, _ := newLanguageDetector([]string{"en"}).detect(chineseText); code != "zh" {
		t.Errorf("detect(Chinese) with English configured = %s, want zh", code)
	}
	q := measureQuality(chineseText)
	cfg := DefaultConfig()
	cfg.MinWords = 50
	if reason, detail := checkQuality(q, cfg, "zh"); reason != "" {
		t.Errorf("Chinese prose rejected: %s (%s)", reason, detail)
	}
	if q.words < 150 {
		t.Errorf("Chinese word count %d, want each Han character counted", q.words)
	}
	if n := countTokens("中文 text"); n != 3 {
		t.Errorf("countTokens = %d, want 3", n)
	}
}

func TestQualityRepetitionRules(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinWords = 0
	cases := []struct {
		name, text, want string
	}{
		{"repeated lines", strings.Repeat("Click here to subscribe now\n", 10) + prose(1, 60), ReasonDuplicateLines},
		{"bullet list", strings.Repeat("• item number one two three\n", 1) + strings.Repeat("• another point with words\n• yet more words here\n", 5), ReasonBulletLines},
		{"ellipsis lines", strings.Repeat("and then the story went on and on for a long while...\nwhat happened next was\n", 5) + "read more about it here...", ReasonEllipsisLines},
		{"varied prose passes", prose(3, 200), ""},
		{"blank lines are not duplicates", strings.ReplaceAll(prose(4, 200), ". ", ".\n\n"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := normalizeWhitespace(tc.text)
			reason, detail := checkQuality(newQualityMeter().measure(text, "en"), cfg, "en")
			if reason != tc.want {
				t.Errorf("checkQuality = %q (%s), want %q", reason, detail, tc.want)
			}
		})
	}
}

// TestRunResumesAfterInterrupt cancels a run after its first part and
// checks that a second run resumes and writes the same output as an
// uninterrupted run.
func TestRunResumesAfterInterrupt(t *testing.T) {
	var docs []corpus.Document
	for i := range 9 {
		docs = append(docs, inputDoc("d", prose(i%7, 80)))
	}
	docs = append(docs, inputDoc("short", "too short"))

	runOnce := func(ws string, stopAfter int) (*corpus.Manifest, error) {
		in := filepath.Join(ws, "collect")
		if _, err := os.Stat(in); err != nil {
			in = writeInput(t, ws, docs)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		afterPartHook = func(index int) {
			if index == stopAfter {
				cancel()
			}
		}
		defer func() { afterPartHook = nil }()
		return Run(ctx, Options{InDir: in, OutDir: filepath.Join(ws, "clean"), Config: DefaultConfig()})
	}

	full, err := runOnce(t.TempDir(), -1)
	if err != nil {
		t.Fatal(err)
	}
	ws := t.TempDir()
	if _, err := runOnce(ws, 0); err == nil {
		t.Fatal("interrupted run returned no error")
	}
	if _, err := os.Stat(filepath.Join(ws, ".clean.partial", partName(0))); err != nil {
		t.Fatalf("first part not kept after the interrupt: %v", err)
	}
	resumed, err := runOnce(ws, -1)
	if err != nil {
		t.Fatal(err)
	}

	checkSameOutput(t, resumed, full)
	if _, err := os.Stat(filepath.Join(ws, ".clean.partial")); !os.IsNotExist(err) {
		t.Errorf("work folder left after a finished run: %v", err)
	}
}

func FuzzRepairMojibake(f *testing.F) {
	for _, s := range []string{"NicolÃ¡s", "Ä°stanbul", "São Paulo – x", "ä¸\u00adæ–‡", "cafÃƒÂ©", "Â"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		valid, _ := replaceInvalidUTF8(in)
		out, _ := repairMojibake(valid)
		if !utf8.ValidString(out) {
			t.Fatalf("repairMojibake(%q) = %q, not valid UTF-8", valid, out)
		}
		if again, n := repairMojibake(out); n != 0 || again != out {
			t.Fatalf("repairMojibake is not idempotent: %q then %q", out, again)
		}
	})
}

func FuzzDehyphenate(f *testing.F) {
	for _, s := range []string{"treat-\nment of", "long-\nterm", "in-\nter-\nnational", "a-\n\nb", "x\u00ad\ny"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		valid, _ := replaceInvalidUTF8(in)
		text := normalizeWhitespace(valid)
		out, _ := dehyphenate(text)
		if !utf8.ValidString(out) {
			t.Fatalf("dehyphenate(%q) = %q, not valid UTF-8", text, out)
		}
		if again, n := dehyphenate(out); n != 0 || again != out {
			t.Fatalf("dehyphenate is not idempotent: %q then %q", out, again)
		}
	})
}

func FuzzTerminology(f *testing.F) {
	maps, err := LoadTerminology("")
	if err != nil {
		f.Fatal(err)
	}
	med := newTermNormalizer(maps["medical"])
	for _, s := range []string{"MI and heart attacks", "high blood pressure.", "HTN\nCOPD"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		valid, _ := replaceInvalidUTF8(in)
		out, _ := med.normalize(valid)
		if !utf8.ValidString(out) {
			t.Fatalf("normalize(%q) = %q, not valid UTF-8", valid, out)
		}
	})
}

func FuzzQuality(f *testing.F) {
	for _, s := range []string{chineseText, "a\n\nb\n\na", "• x\n• x...", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		q := newQualityMeter().measure(in, "en")
		for key, v := range q.qualityMap() {
			if v < 0 || v != v {
				t.Fatalf("%s = %g for %q", key, v, in)
			}
		}
	})
}

// shortText is English with enough letters for language ID but too few
// words for the default MinWords.
const shortText = "This sentence about the tenant and the landlord is far too short to keep."

func TestRunRecordsRuleStats(t *testing.T) {
	ws := t.TempDir()
	chinese := inputDoc("zh", chineseText)
	in := writeInput(t, ws, []corpus.Document{
		inputDoc("kept", prose(1, 80)),
		inputDoc("short", shortText),
		inputDoc("mojibake", "NicolÃ¡s said: "+prose(2, 80)),
		chinese,
	})
	cfg := DefaultConfig()
	cfg.Languages = []string{"en", "zh"}
	m, err := Run(context.Background(), Options{InDir: in, OutDir: filepath.Join(ws, "clean"), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if m.Counts.Kept != 3 {
		t.Errorf("kept %d documents, want 3 (two English, one Chinese); rules %v", m.Counts.Kept, m.RuleCounts)
	}
	checks := []struct {
		key  string
		want float64
	}{
		{"documents_" + ReasonTooShort, 1},
		{"bytes_removed_" + ReasonTooShort, float64(len(shortText))},
		{"documents_" + RuleMojibake, 1},
		{"mojibake_characters_repaired", 1},
	}
	for _, c := range checks {
		if got := m.Stats[c.key]; got != c.want {
			t.Errorf("Stats[%s] = %g, want %g", c.key, got, c.want)
		}
	}
	if m.Stats["tokens_in"] <= m.Stats["tokens_out"] || m.Stats["tokens_out"] < 150 {
		t.Errorf("tokens_in %g, tokens_out %g; want in > out >= 150", m.Stats["tokens_in"], m.Stats["tokens_out"])
	}
	if m.RuleCounts[RuleMojibake] != 1 {
		t.Errorf("RuleCounts[%s] = %d, want 1", RuleMojibake, m.RuleCounts[RuleMojibake])
	}
}

func TestConfigValidateNewFields(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"fraction above one", func(c *Config) { c.MaxBulletLineFraction = 1.5 }, "clean.max_bullet_line_fraction"},
		{"negative stop words", func(c *Config) { c.MinStopWords = -1 }, "clean.min_stop_words"},
		{"too many top n-gram limits", func(c *Config) { c.MaxTopNgramCharFraction = []float64{0.2, 0.2, 0.2, 0.2} }, "clean.max_top_ngram_char_fraction"},
		{"n-gram limit out of range", func(c *Config) { c.MaxDuplicateNgramCharFraction = []float64{0.1, 2} }, "clean.max_duplicate_ngram_char_fraction[1]"},
		{"negative boilerplate docs", func(c *Config) { c.BoilerplateMinDocs = -1 }, "clean.boilerplate_min_docs"},
		{"boilerplate fraction NaN", func(c *Config) { c.BoilerplateMinFraction = math.NaN() }, "clean.boilerplate_min_fraction"},
		{"Chinese is a valid language", func(c *Config) { c.Languages = []string{"zh"} }, ""},
		{"near-dedup threshold above one", func(c *Config) { c.NearDedup.Threshold = 1.5 }, "clean.near_dedup.threshold"},
		{"near-dedup negative permutations", func(c *Config) { c.NearDedup.NumPerm = -1 }, "clean.near_dedup.num_perm"},
		{"near-dedup zero fields mean defaults", func(c *Config) { c.NearDedup = neardup.Config{Enabled: true} }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Validate = %v, want an error wrapping ErrInvalidConfig", err)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate = %v, want an error naming %s", err, tc.wantErr)
			}
		})
	}
}

func FuzzBoilerplateRemove(f *testing.F) {
	for _, s := range []string{"Accept cookies\nbody", "a\n\nAccept cookies\n\n\nb", "\u00a0Accept\tcookies ", ""} {
		f.Add(s)
	}
	b := newBoilerplate(DefaultConfig())
	for i := range 6 {
		doc := inputDoc("d", "Accept cookies\nbody "+strings.Repeat("x", i))
		b.countDocument(&doc)
	}
	b.prune()
	f.Fuzz(func(t *testing.T, in string) {
		valid, _ := replaceInvalidUTF8(in)
		doc := inputDoc("d", valid)
		text := normalizeWhitespace(valid)
		out, _ := b.remove(&doc, text)
		if !utf8.ValidString(out) {
			t.Fatalf("remove(%q) = %q, not valid UTF-8", text, out)
		}
		if again, n := b.remove(&doc, out); n != 0 || again != out {
			t.Fatalf("remove is not idempotent: %q then %q", out, again)
		}
	})
}

// checkSameOutput checks that a resumed run wrote what an uninterrupted
// run wrote: the same counts, shard and rejected file hashes and rule
// counts.
func checkSameOutput(t *testing.T, resumed, full *corpus.Manifest) {
	t.Helper()
	if resumed.Counts != full.Counts {
		t.Errorf("resumed counts %+v, uninterrupted %+v", resumed.Counts, full.Counts)
	}
	if len(resumed.Shards) != len(full.Shards) {
		t.Fatalf("resumed run wrote %d shards, uninterrupted %d", len(resumed.Shards), len(full.Shards))
	}
	for i := range full.Shards {
		if resumed.Shards[i].SHA256 != full.Shards[i].SHA256 {
			t.Errorf("shard %d differs: %s vs %s", i, resumed.Shards[i].SHA256, full.Shards[i].SHA256)
		}
	}
	if resumed.Rejected.SHA256 != full.Rejected.SHA256 {
		t.Errorf("rejected file differs")
	}
	for rule, n := range full.RuleCounts {
		if resumed.RuleCounts[rule] != n {
			t.Errorf("RuleCounts[%s] = %d resumed, %d uninterrupted", rule, resumed.RuleCounts[rule], n)
		}
	}
}
