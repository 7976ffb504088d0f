package clean

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adapt-llm/adapt/clean/pii"
	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/internal/sharedtest"
)

// writeInput writes docs as a collect output (shards and manifest) under
// ws/collect and returns that folder.
func writeInput(t *testing.T, ws string, docs []corpus.Document) string {
	t.Helper()
	dir := filepath.Join(ws, "collect")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := corpus.NewShardWriter(dir, corpus.ShardOptions{MaxRows: 3})
	if err := w.Write(docs...); err != nil {
		t.Fatal(err)
	}
	shards, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	m := &corpus.Manifest{Stage: "collect", Shards: shards, Counts: corpus.Counts{In: int64(len(docs)), Kept: int64(len(docs))}}
	if err := corpus.WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	return dir
}

// proseWords are the words prose draws from.
var proseWords = strings.Fields(`tenant landlord shall pay rent first day each month keep premises
good repair notice writing party agreement terminate breach cure period
thirty days deposit return damage normal wear tear insurance property
occupant guest pet smoking permitted written consent assignment sublease
utility water electricity heating maintenance access inspection reasonable
hours emergency entry holdover rate late fee interest dispute court venue`)

// prose returns English text of about n words that differs with seed. The
// words are drawn by a fixed generator, so the text is not repetitive
// enough to fail the Gopher repetition rules.
func prose(seed, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Agreement number %d between the parties.\n\n", seed)
	state := uint64(seed)*0x9E3779B97F4A7C15 + 1
	for i := 0; i < n; i++ {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		switch {
		case i%12 == 0:
			b.WriteString("The ")
		case i%12 == 6:
			b.WriteString("and the ")
		}
		b.WriteString(proseWords[state%uint64(len(proseWords))])
		if i%12 == 11 {
			b.WriteString(". ")
		} else {
			b.WriteString(" ")
		}
	}
	return b.String()
}

func inputDoc(id, text string) corpus.Document {
	return corpus.Document{
		ID: id, Text: text, Domain: "legal", Source: "local", URL: "/data/" + id + ".txt",
		License: "CC0-1.0", CollectedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Meta: map[string]string{"format": "txt"},
	}
}

func TestRunEndToEnd(t *testing.T) {
	ws := t.TempDir()
	docs := []corpus.Document{
		inputDoc("kept-1", prose(1, 80)+"\nContact: Jane Roe <jane.roe@example.com>, tel. +1 617 253 1000.\r\n"),
		inputDoc("dup-of-1", prose(1, 80)+"\nContact: Jane Roe <jane.roe@example.com>, tel. +1 617 253 1000.\n\n\n"),
		inputDoc("short", "This sentence about the tenant and the landlord is far too short to keep."),
		inputDoc("german", germanText+" "+germanText+" "+germanText),
		inputDoc("symbols", strings.Repeat("### $$ %% ^^ && ** ", 30)+englishText),
		inputDoc("kept-2", "\ufeff"+prose(2, 80)+"\x00 caf\xe9"),
		inputDoc("empty", " \n\t \r\n"),
	}
	in := writeInput(t, ws, docs)
	out := filepath.Join(ws, "clean")

	var progressCalls int
	var lastDone, lastTotal int64
	m, err := Run(context.Background(), Options{
		InDir: in, OutDir: out, Config: DefaultConfig(), ToolVersion: "0.0.0-test",
		Progress: func(done, total int64) { progressCalls++; lastDone, lastTotal = done, total },
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	// Manifest counts and rule counts.
	wantCounts := corpus.Counts{In: 7, Kept: 2, Rejected: 5}
	if m.Counts != wantCounts {
		t.Errorf("counts = %+v, want %+v", m.Counts, wantCounts)
	}
	wantRules := map[string]int64{
		ReasonDuplicateExact: 1, ReasonTooShort: 1, ReasonLang: 1, ReasonSymbolRatio: 1, ReasonEmpty: 1,
		RuleInvalidUTF8: 1, RuleControls: 1, RulePIIRedacted: 2,
	}
	for rule, want := range wantRules {
		if got := m.RuleCounts[rule]; got != want {
			t.Errorf("RuleCounts[%s] = %d, want %d", rule, got, want)
		}
	}
	if m.Stats["redactions_EMAIL"] < 1 || m.Stats["redactions_PHONE"] < 1 {
		t.Errorf("redaction stats = %v, want at least one of each type", m.Stats)
	}
	if m.Stats["bytes_in"] <= m.Stats["bytes_out"] {
		t.Errorf("bytes_in %g <= bytes_out %g", m.Stats["bytes_in"], m.Stats["bytes_out"])
	}
	if len(m.Inputs) != 3 {
		t.Errorf("manifest lists %d inputs, want 3 shards", len(m.Inputs))
	}
	if progressCalls == 0 || lastDone != 7 || lastTotal != 7 {
		t.Errorf("progress: %d calls, last (%d, %d), want last (7, 7)", progressCalls, lastDone, lastTotal)
	}

	// The manifest on disk matches the returned one.
	onDisk, err := corpus.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if onDisk.Counts != m.Counts || onDisk.Stage != StageName || len(onDisk.Shards) != len(m.Shards) {
		t.Errorf("manifest on disk %+v differs from returned %+v", onDisk, m)
	}
	for _, s := range m.Shards {
		if !strings.HasPrefix(s.Path, "clean/") {
			t.Errorf("shard path %s, want it under clean/", s.Path)
		}
	}

	// Kept documents: redacted, normalized, ID recomputed, own cluster.
	paths, err := corpus.ListShards(out)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := corpus.Collect(corpus.ReadShards(paths...))
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 2 {
		t.Fatalf("read %d kept documents, want 2", len(kept))
	}
	for _, d := range kept {
		if d.ID != corpus.HashText(d.Text) {
			t.Errorf("kept ID %s is not the hash of its text", d.ID)
		}
		if d.DedupCluster != d.ID {
			t.Errorf("kept DedupCluster %s, want own ID %s", d.DedupCluster, d.ID)
		}
		if d.Lang != "en" || d.LangConfidence <= 0.5 {
			t.Errorf("kept Lang %s (%.2f), want en above 0.5", d.Lang, d.LangConfidence)
		}
		if left := pii.Find(d.Text); len(left) != 0 {
			t.Errorf("kept text still has %d PII matches", len(left))
		}
		if strings.Contains(d.Text, "\r") || strings.Contains(d.Text, "\x00") || strings.Contains(d.Text, "\ufeff") {
			t.Errorf("kept text has a carriage return, NUL or byte-order mark")
		}
		if d.Quality[QualityWordCount] < 50 {
			t.Errorf("kept Quality = %v, want word_count >= 50", d.Quality)
		}
		if d.Domain != "legal" || d.Meta["format"] != "txt" {
			t.Errorf("kept document lost its provenance: domain %q meta %v", d.Domain, d.Meta)
		}
	}
	first := kept[0]
	if first.Redactions[pii.TypeEmail] != 1 || first.Redactions[pii.TypePhone] != 1 {
		t.Errorf("first kept Redactions = %v, want one EMAIL and one PHONE", first.Redactions)
	}
	if !strings.Contains(first.Text, "<EMAIL>") || !strings.Contains(first.Text, "<PHONE>") {
		t.Errorf("first kept text lacks placeholders")
	}

	// Rejected rows: stage, reason, detail without text, duplicate cluster.
	rejected, err := corpus.Collect(corpus.ReadRejected(filepath.Join(out, corpus.RejectedName)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rejected) != 5 {
		t.Fatalf("read %d rejected rows, want 5", len(rejected))
	}
	for _, r := range rejected {
		if r.Stage != StageName || r.Reason == "" || r.Detail == "" {
			t.Errorf("rejected %s: stage %q reason %q detail %q", r.ID, r.Stage, r.Reason, r.Detail)
		}
		if strings.Contains(r.Detail, "jane") || strings.Contains(r.Detail, "tenant") {
			t.Errorf("rejected %s: detail %q contains document text", r.ID, r.Detail)
		}
		if strings.Contains(r.Text, "jane.roe@example.com") {
			t.Errorf("rejected %s: text not redacted", r.ID)
		}
		if r.ID == "dup-of-1" {
			if r.Reason != ReasonDuplicateExact || r.DedupCluster != first.ID {
				t.Errorf("duplicate: reason %s cluster %s, want %s and %s", r.Reason, r.DedupCluster, ReasonDuplicateExact, first.ID)
			}
		}
	}

	// No temporary folders left beside the output.
	entries, err := os.ReadDir(ws)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary entry %s left in the workspace", e.Name())
		}
	}
}

func TestRunReplacesPreviousOutput(t *testing.T) {
	ws := t.TempDir()
	in := writeInput(t, ws, []corpus.Document{inputDoc("a", prose(1, 80))})
	out := filepath.Join(ws, "clean")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(out, "shard-00009.parquet")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), Options{InDir: in, OutDir: out, Config: DefaultConfig()}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale shard from the previous run still present: %v", err)
	}
}

func TestRunEmptyCorpusWritesRejections(t *testing.T) {
	ws := t.TempDir()
	in := writeInput(t, ws, []corpus.Document{
		inputDoc("a", "Short text here, far below the minimum."),
		inputDoc("b", prose(2, 20)),
	})
	out := filepath.Join(ws, "clean")
	m, err := Run(context.Background(), Options{InDir: in, OutDir: out, Config: DefaultConfig()})
	if !errors.Is(err, ErrEmptyCorpus) {
		t.Fatalf("Run error = %v, want ErrEmptyCorpus", err)
	}
	for _, want := range []string{"too_short=", "min_words (now 50)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// Every document is still accounted for: no shards, and each one in
	// the rejected file with its reason.
	if m == nil {
		t.Fatal("Run returned no manifest with ErrEmptyCorpus")
	}
	if want := (corpus.Counts{In: 2, Kept: 0, Rejected: 2}); m.Counts != want || len(m.Shards) != 0 {
		t.Errorf("manifest counts %+v with %d shards, want %+v and none", m.Counts, len(m.Shards), want)
	}
	kept, rejected := readOutput(t, out, m)
	if len(kept) != 0 || len(rejected) != 2 {
		t.Errorf("output has %d kept and %d rejected rows, want 0 and 2", len(kept), len(rejected))
	}
	for _, row := range rejected {
		if row.Reason == "" {
			t.Errorf("rejected %s has no reason", row.URL)
		}
	}
	entries, _ := os.ReadDir(ws)
	if len(entries) != 2 {
		t.Errorf("workspace has %d entries, want collect and clean only", len(entries))
	}
}

func TestRunDetectsChangedInput(t *testing.T) {
	ws := t.TempDir()
	in := writeInput(t, ws, []corpus.Document{inputDoc("a", prose(1, 80))})
	m, err := corpus.ReadManifest(in)
	if err != nil {
		t.Fatal(err)
	}
	m.Shards[0].SHA256 = strings.Repeat("0", 64)
	if err := corpus.WriteManifest(in, m); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Options{InDir: in, OutDir: filepath.Join(ws, "clean"), Config: DefaultConfig()})
	if !errors.Is(err, ErrInputMismatch) {
		t.Errorf("Run error = %v, want ErrInputMismatch", err)
	}
}

func TestRunMissingManifest(t *testing.T) {
	ws := t.TempDir()
	_, err := Run(context.Background(), Options{InDir: filepath.Join(ws, "collect"), OutDir: filepath.Join(ws, "clean"), Config: DefaultConfig()})
	if !errors.Is(err, corpus.ErrNoManifest) {
		t.Errorf("Run error = %v, want ErrNoManifest", err)
	}
}

func TestRunCanceled(t *testing.T) {
	ws := t.TempDir()
	in := writeInput(t, ws, []corpus.Document{inputDoc("a", prose(1, 80))})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(ws, "clean")
	_, err := Run(ctx, Options{InDir: in, OutDir: out, Config: DefaultConfig()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run error = %v, want context.Canceled", err)
	}
	if _, statErr := os.Stat(out); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("output folder exists after cancellation: %v", statErr)
	}
}

func TestChainRedactionCollision(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Languages = nil
	cfg.MinWords = 0
	c := newChain(cfg, nil)
	a := c.process(inputDoc("a", prose(1, 60)+" Mail alice@example.com."))
	b := c.process(inputDoc("b", prose(1, 60)+" Mail bob@example.org."))
	if a.Reason != "" {
		t.Fatalf("first document rejected: %s %s", a.Reason, a.Detail)
	}
	if b.Reason != ReasonDuplicateExact || b.Doc.DedupCluster != a.Doc.ID {
		t.Errorf("second document: reason %q cluster %s, want %s and %s", b.Reason, b.Doc.DedupCluster, ReasonDuplicateExact, a.Doc.ID)
	}
}

func TestChainKeepsDuplicatesWhenDedupOff(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DedupExact = false
	c := newChain(cfg, nil)
	for i := range 2 {
		if r := c.process(inputDoc("a", prose(1, 80))); r.Reason != "" {
			t.Errorf("copy %d rejected: %s", i, r.Reason)
		}
	}
}

// debianCopyrightDocs reads the Debian copyright texts staged with the
// shared data as documents.
func debianCopyrightDocs(t testing.TB) []corpus.Document {
	path := sharedtest.Dir(t, "data", "legal", "debian", "debian_copyright_unique.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs []corpus.Document
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	for scanner.Scan() {
		var rec struct {
			Package string `json:"package"`
			Text    string `json:"text"`
		}
		if err := json.Unmarshal(scanner.Bytes(), &rec); err != nil {
			t.Fatalf("%s record %d: %v", path, len(docs)+1, err)
		}
		docs = append(docs, inputDoc(rec.Package, rec.Text))
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	return docs
}

// TestRunDebianCopyright runs the stage on real copyright files, which are
// English and full of e-mail addresses, and checks that most are kept and
// every address is gone.
func TestRunDebianCopyright(t *testing.T) {
	docs := debianCopyrightDocs(t)
	ws := t.TempDir()
	in := writeInput(t, ws, docs)
	out := filepath.Join(ws, "clean")
	// DEP-5 copyright files repeat license stanzas per file group, which
	// the Gopher repetition rules reject as designed; this test is about
	// language ID and redaction on real text, so they are off.
	cfg := DefaultConfig()
	cfg.MaxDuplicateLineFraction, cfg.MaxDuplicateLineCharFraction = 0, 0
	cfg.MaxDuplicateParagraphFraction, cfg.MaxDuplicateParagraphCharFraction = 0, 0
	cfg.MaxTopNgramCharFraction, cfg.MaxDuplicateNgramCharFraction = nil, nil
	m, err := Run(context.Background(), Options{InDir: in, OutDir: out, Config: cfg})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("counts %+v, rules %v", m.Counts, m.RuleCounts)
	t.Logf("stats %v", m.Stats)
	if m.Counts.Kept < m.Counts.In*3/4 {
		t.Errorf("kept %d of %d English copyright files, want at least three quarters", m.Counts.Kept, m.Counts.In)
	}
	if m.Stats["redactions_EMAIL"] < float64(m.Counts.Kept) {
		t.Errorf("%g e-mail redactions in %d kept files, want at least one per file on average", m.Stats["redactions_EMAIL"], m.Counts.Kept)
	}
}
