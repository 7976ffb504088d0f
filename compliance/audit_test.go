package compliance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
	"github.com/adapt-llm/adapt/model/safetensors"
)

// writeStage writes docs and rejected rows with the corpus writers into
// ws/stage, with a manifest whose counts match, and returns the folder.
func writeStage(t *testing.T, ws, stage string, docs []corpus.Document, rejected []corpus.Rejected) string {
	t.Helper()
	dir := filepath.Join(ws, stage)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	w := corpus.NewShardWriter(dir, corpus.ShardOptions{MaxRows: 2})
	if err := w.Write(docs...); err != nil {
		t.Fatal(err)
	}
	shards, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	rw, err := corpus.NewRejectedWriter(dir, corpus.ShardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.Write(rejected...); err != nil {
		t.Fatal(err)
	}
	rejectedInfo, err := rw.Close()
	if err != nil {
		t.Fatal(err)
	}

	reasons := map[string]int64{}
	for _, r := range rejected {
		reasons[r.Reason]++
	}
	m := &corpus.Manifest{
		Stage:      stage,
		Shards:     shards,
		Rejected:   rejectedInfo,
		Counts:     corpus.Counts{In: int64(len(docs) + len(rejected)), Kept: int64(len(docs)), Rejected: int64(len(rejected))},
		RuleCounts: reasons,
	}
	if err := corpus.WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	return dir
}

func doc(id, source, license, text string) corpus.Document {
	return corpus.Document{ID: id, Source: source, License: license, Text: text}
}

const (
	secretEmail = "jane.doe@example.com"
	secretPhone = "(617) 253-1000"
)

// fixture writes a collect corpus with personal data and a clean corpus in
// which one phone number survived redaction.
func fixture(t *testing.T) (collectDir, cleanDir string) {
	ws := t.TempDir()
	collectDocs := []corpus.Document{
		doc("c1", "local", "GPL-2.0-only", "Contact "+secretEmail+" for details."),
		doc("c2", "local", "unknown", "Call "+secretPhone+" today."),
		doc("c3", "web", "CC-BY-4.0", "No personal data here."),
		doc("c4", "web", "", "Mail a@example.com or b@example.org, phone 617-253-1000."),
		doc("c5", "pubmed", "CC-BY-4.0", "Abstract text."),
	}
	collectRejected := []corpus.Rejected{
		{Document: doc("r1", "web", "unknown", ""), Stage: "collect", Reason: "empty"},
	}
	cleanDocs := []corpus.Document{
		{ID: "k1", Source: "local", License: "GPL-2.0-only", Text: "Contact <EMAIL> for details.", Redactions: map[string]int64{"EMAIL": 1}},
		{ID: "k2", Source: "local", License: "unknown", Text: "Call <PHONE> today.", Redactions: map[string]int64{"PHONE": 1}},
		{ID: "k3", Source: "web", License: "CC-BY-4.0", Text: "No personal data here."},
		{ID: "k4", Source: "web", License: "unknown", Text: "Mail <EMAIL> or <EMAIL>, phone 617-253-1000.", Redactions: map[string]int64{"EMAIL": 2}},
	}
	cleanRejected := []corpus.Rejected{
		{Document: doc("c5", "pubmed", "CC-BY-4.0", "Abstract text. Write to a@example.com."), Stage: "clean", Reason: "too_short"},
	}
	return writeStage(t, ws, "collect", collectDocs, collectRejected),
		writeStage(t, ws, "clean", cleanDocs, cleanRejected)
}

func TestRunFullAudit(t *testing.T) {
	collectDir, cleanDir := fixture(t)
	outDir := filepath.Join(t.TempDir(), "audit")
	now := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)

	report, err := Run(context.Background(), Options{CollectDir: collectDir, CleanDir: cleanDir, OutDir: outDir, Now: now})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	checks := []struct {
		name      string
		got, want any
	}{
		{"pii before", report.PII.Before, map[string]int64{"EMAIL": 3, "PHONE": 2}},
		{"pii redacted", report.PII.Redacted, map[string]int64{"EMAIL": 3, "PHONE": 1}},
		{"pii residual", report.PII.Residual, map[string]int64{"PHONE": 1}},
		{"residual documents", report.PII.ResidualDocuments, int64(1)},
		{"residual ids", report.PII.ResidualDocumentIDs, []string{"k4"}},
		{"collect documents with pii", report.Collect.DocumentsWithPII, int64(3)},
		{"collect licenses", report.Collect.Licenses, []LicenseCount{
			{"local", "GPL-2.0-only", 1}, {"local", "unknown", 1},
			{"pubmed", "CC-BY-4.0", 1},
			{"web", "CC-BY-4.0", 1}, {"web", "unknown", 1},
		}},
		{"collect license totals", report.Collect.LicenseTotals, map[string]int64{"GPL-2.0-only": 1, "CC-BY-4.0": 2, "unknown": 2}},
		{"collect unknown license", report.Collect.UnknownLicense, int64(2)},
		{"collect unknown sources", report.Collect.UnknownLicenseSources, []string{"local", "web"}},
		{"clean unknown license", report.Clean.UnknownLicense, int64(2)},
		{"collect counts", report.Collect.Counts, corpus.Counts{In: 6, Kept: 5, Rejected: 1}},
		{"clean counts", report.Clean.Counts, corpus.Counts{In: 5, Kept: 4, Rejected: 1}},
		{"collect rejected reasons", report.Collect.RejectedByReason, map[string]int64{"empty": 1}},
		{"clean rejected reasons", report.Clean.RejectedByReason, map[string]int64{"too_short": 1}},
		{"clean rule counts", report.Clean.RuleCounts, map[string]int64{"too_short": 1}},
		// Rejected rows keep their text as it came in, and the audit counts
		// the personal data in them apart from the kept documents'.
		{"clean rejected pii", report.Clean.RejectedPII, map[string]int64{"EMAIL": 1}},
		{"clean rejected rows with pii", report.Clean.RejectedWithPII, int64(1)},
		{"collect rejected rows with pii", report.Collect.RejectedWithPII, int64(0)},
		{"problems", report.Problems, []string(nil)},
		{"skipped", report.Skipped, []string(nil)},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}

	t.Run("audit file round trip", func(t *testing.T) {
		read, err := Read(outDir)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(read, report) {
			t.Errorf("Read = %+v\nwant %+v", read, report)
		}
	})

	t.Run("audit file contains no personal data", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(outDir, ReportFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{secretEmail, secretPhone, "617-253-1000", "a@example.com"} {
			if strings.Contains(string(data), secret) {
				t.Errorf("audit.json contains %q", secret)
			}
		}
	})

	t.Run("no temporary files left", func(t *testing.T) {
		entries, err := os.ReadDir(outDir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != ReportFile {
			t.Errorf("audit folder contains %v, want only %s", entries, ReportFile)
		}
	})
}

func TestRunSkipsMissingCorpus(t *testing.T) {
	collectDir, _ := fixture(t)
	report, err := Run(context.Background(), Options{
		CollectDir: collectDir,
		CleanDir:   filepath.Join(t.TempDir(), "clean"),
		OutDir:     t.TempDir(),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if report.Clean != nil {
		t.Errorf("Clean = %+v, want nil", report.Clean)
	}
	if len(report.Skipped) != 1 || !strings.Contains(report.Skipped[0], "run adapt clean") {
		t.Errorf("Skipped = %q, want one entry naming adapt clean", report.Skipped)
	}
	if got, want := report.PII.Before["EMAIL"], int64(3); got != want {
		t.Errorf("PII.Before[EMAIL] = %d, want %d", got, want)
	}
}

func TestRunNothingToAudit(t *testing.T) {
	empty := t.TempDir()
	_, err := Run(context.Background(), Options{CollectDir: empty, OutDir: t.TempDir()})
	if !errors.Is(err, ErrNothingToAudit) {
		t.Errorf("Run error = %v, want ErrNothingToAudit", err)
	}
	_, err = Run(context.Background(), Options{CollectDir: empty})
	if err == nil {
		t.Error("Run with no OutDir returned no error")
	}
}

func TestRunReportsProblems(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func(t *testing.T, cleanDir string)
		wantSub string
	}{
		{
			name: "shard changed after write",
			tamper: func(t *testing.T, cleanDir string) {
				m, err := corpus.ReadManifest(cleanDir)
				if err != nil {
					t.Fatal(err)
				}
				m.Shards[0].SHA256 = strings.Repeat("0", 64)
				if err := corpus.WriteManifest(cleanDir, m); err != nil {
					t.Fatal(err)
				}
			},
			wantSub: "differs from the manifest",
		},
		{
			name: "counts do not add up",
			tamper: func(t *testing.T, cleanDir string) {
				m, err := corpus.ReadManifest(cleanDir)
				if err != nil {
					t.Fatal(err)
				}
				m.Counts.In = 99
				if err := corpus.WriteManifest(cleanDir, m); err != nil {
					t.Fatal(err)
				}
			},
			wantSub: "do not add up",
		},
		{
			name: "shard missing",
			tamper: func(t *testing.T, cleanDir string) {
				if err := os.Remove(filepath.Join(cleanDir, "shard-00001.parquet")); err != nil {
					t.Fatal(err)
				}
			},
			wantSub: "manifest counts 4 kept",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			collectDir, cleanDir := fixture(t)
			tt.tamper(t, cleanDir)
			report, err := Run(context.Background(), Options{CollectDir: collectDir, CleanDir: cleanDir, OutDir: t.TempDir()})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			found := false
			for _, p := range report.Problems {
				found = found || strings.Contains(p, tt.wantSub)
			}
			if !found {
				t.Errorf("Problems = %q, want one containing %q", report.Problems, tt.wantSub)
			}
		})
	}
}

func TestRunDocumentIDLimit(t *testing.T) {
	collectDir, cleanDir := fixture(t)
	tests := []struct {
		name    string
		max     int
		wantIDs []string
	}{
		{name: "default", max: 0, wantIDs: []string{"c1", "c2", "c4"}},
		{name: "one", max: 1, wantIDs: []string{"c1"}},
		{name: "negative lists none", max: -1, wantIDs: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report, err := Run(context.Background(), Options{CollectDir: collectDir, CleanDir: cleanDir, OutDir: t.TempDir(), MaxDocumentIDs: tt.max})
			if err != nil {
				t.Fatal(err)
			}
			if got := report.Collect.DocumentIDsWithPII; !reflect.DeepEqual(got, tt.wantIDs) {
				t.Errorf("DocumentIDsWithPII = %q, want %q", got, tt.wantIDs)
			}
			if got, want := report.Collect.DocumentsWithPII, int64(3); got != want {
				t.Errorf("DocumentsWithPII = %d, want %d (the limit applies to ids only)", got, want)
			}
		})
	}
}

func TestRunCanceled(t *testing.T) {
	collectDir, cleanDir := fixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Options{CollectDir: collectDir, CleanDir: cleanDir, OutDir: t.TempDir()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run error = %v, want context.Canceled", err)
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"schema_version":1,"pii":{"before":{"EMAIL":1}},"clean":{"licenses":[{"source":"web"}]}}`))
	f.Add([]byte(`{"problems":["x"],"skipped":null}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ReportFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		report, err := Read(dir)
		if err == nil && report == nil {
			t.Fatal("Read returned neither a report nor an error")
		}
	})
}

// BenchmarkRun audits a collect and a clean corpus of 1,000 documents of
// about 1.6 kB each, with an e-mail address and a phone number in every
// tenth document. Bytes per operation count the text of both corpora.
func BenchmarkRun(b *testing.B) {
	ws := b.TempDir()
	paragraph := strings.Repeat("The lessee shall pay the rent on the first day of each month without demand. ", 20)
	var docs []corpus.Document
	var textBytes int64
	for i := range 1000 {
		text := paragraph
		if i%10 == 0 {
			text += " Contact jane.doe@example.com or call (617) 253-1000."
		}
		docs = append(docs, corpus.Document{ID: corpus.HashText(strconv.Itoa(i) + text), Source: "local", License: "MIT", Text: text})
		textBytes += int64(len(text))
	}
	for _, stage := range []string{"collect", "clean"} {
		dir := filepath.Join(ws, stage)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		w := corpus.NewShardWriter(dir, corpus.ShardOptions{})
		if err := w.Write(docs...); err != nil {
			b.Fatal(err)
		}
		shards, err := w.Close()
		if err != nil {
			b.Fatal(err)
		}
		rw, err := corpus.NewRejectedWriter(dir, corpus.ShardOptions{})
		if err != nil {
			b.Fatal(err)
		}
		rejected, err := rw.Close()
		if err != nil {
			b.Fatal(err)
		}
		m := &corpus.Manifest{Stage: stage, Shards: shards, Rejected: rejected, Counts: corpus.Counts{In: 1000, Kept: 1000}}
		if err := corpus.WriteManifest(dir, m); err != nil {
			b.Fatal(err)
		}
	}

	b.SetBytes(2 * textBytes)
	b.ResetTimer()
	for b.Loop() {
		_, err := Run(context.Background(), Options{
			CollectDir: filepath.Join(ws, "collect"),
			CleanDir:   filepath.Join(ws, "clean"),
			OutDir:     filepath.Join(ws, "audit"),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// setInputs rewrites the manifest in dir with the given Inputs.
func setInputs(t *testing.T, dir string, inputs []corpus.ShardInfo) {
	t.Helper()
	m, err := corpus.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.Inputs = inputs
	if err := corpus.WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
}

func TestRunReportsStaleOutputs(t *testing.T) {
	collectDir, cleanDir := fixture(t)
	collectManifest, err := corpus.ReadManifest(collectDir)
	if err != nil {
		t.Fatal(err)
	}
	finetuneDir := filepath.Join(filepath.Dir(cleanDir), "finetune")
	writeMetrics := func(shards []corpus.ShardInfo) {
		data, _ := json.Marshal(finetune.Metrics{DataShards: shards})
		os.MkdirAll(finetuneDir, 0o755)
		if err := os.WriteFile(filepath.Join(finetuneDir, finetune.MetricsFileName), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cleanManifest, err := corpus.ReadManifest(cleanDir)
	if err != nil {
		t.Fatal(err)
	}
	other := []corpus.ShardInfo{{Path: "collect/shard-00000.parquet", SHA256: "0123"}}

	cases := []struct {
		name         string
		cleanInputs  []corpus.ShardInfo
		dataShards   []corpus.ShardInfo
		wantProblems []string
	}{
		{"current outputs", collectManifest.Shards, cleanManifest.Shards, nil},
		{"stale clean", other, cleanManifest.Shards, []string{"clean output is stale: made from a different collect output; re-run adapt clean"}},
		{"stale finetune", collectManifest.Shards, other, []string{"finetune output is stale: trained on a different clean output; re-run adapt finetune"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			setInputs(t, cleanDir, tc.cleanInputs)
			writeMetrics(tc.dataShards)
			report, err := Run(context.Background(), Options{CollectDir: collectDir, CleanDir: cleanDir, OutDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(report.Problems, tc.wantProblems) {
				t.Errorf("problems: got %q, want %q", report.Problems, tc.wantProblems)
			}
		})
	}
}

func TestRunReportsStaleEval(t *testing.T) {
	collectDir, cleanDir := fixture(t)
	ws := filepath.Dir(cleanDir)
	modelDir := filepath.Join(ws, "finetune", finetune.ModelDirName)
	if err := os.MkdirAll(modelDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// HashFolder hashes model.safetensors as bytes, so any content will do.
	if err := os.WriteFile(filepath.Join(modelDir, "model.safetensors"), []byte("current weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	current, err := safetensors.HashFolder(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	const stale = "eval results are stale: scored a different model; re-run adapt eval"

	cases := []struct {
		name         string
		model        string
		modelSHA256  string
		wantProblems []string
	}{
		{"current tuned result", "tuned", current, nil},
		{"tuned result of other weights", "tuned", strings.Repeat("0", 64), []string{stale}},
		{"tuned result without hash", "tuned", "", nil},
		{"base result of other weights", "base", strings.Repeat("0", 64), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evalDir := filepath.Join(ws, "eval")
			os.RemoveAll(evalDir)
			if err := os.MkdirAll(evalDir, 0o755); err != nil {
				t.Fatal(err)
			}
			data, _ := json.Marshal(eval.Result{Model: tc.model, TaskSet: "legal", ModelSHA256: tc.modelSHA256})
			if err := os.WriteFile(filepath.Join(evalDir, tc.model+"__legal.json"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			report, err := Run(context.Background(), Options{CollectDir: collectDir, CleanDir: cleanDir, OutDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(report.Problems, tc.wantProblems) {
				t.Errorf("problems: got %q, want %q", report.Problems, tc.wantProblems)
			}
		})
	}
}

func TestRunNothingToAuditLogsNothing(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	_, err := Run(context.Background(), Options{CollectDir: t.TempDir(), CleanDir: t.TempDir(), OutDir: t.TempDir(), Logger: logger})
	if !errors.Is(err, ErrNothingToAudit) {
		t.Fatalf("Run error = %v, want ErrNothingToAudit", err)
	}
	if logs.Len() != 0 {
		t.Errorf("log: got %q, want nothing besides the returned error", logs.String())
	}
}

func TestRunReportFileMode(t *testing.T) {
	collectDir, cleanDir := fixture(t)
	out := t.TempDir()
	if _, err := Run(context.Background(), Options{CollectDir: collectDir, CleanDir: cleanDir, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(out, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	// The test process umask may clear group and other write bits only.
	if got := info.Mode().Perm() &^ 0o022; got != 0o644 {
		t.Errorf("audit.json mode: got %v, want 0644 under umask", info.Mode().Perm())
	}
}
