package reports

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/adapt-llm/adapt/compliance"
	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
	"github.com/adapt-llm/adapt/iterate"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// fixedNow is the report time in tests, so goldens only change with the
// code.
var fixedNow = time.Date(2026, 12, 4, 20, 30, 0, 0, time.UTC)

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeStage writes docs and rejected rows into ws/stage with the corpus
// writers and a matching manifest.
func writeStage(t *testing.T, ws, stage string, docs []corpus.Document, rejected []corpus.Rejected) {
	t.Helper()
	dir := filepath.Join(ws, stage)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := corpus.NewShardWriter(dir, corpus.ShardOptions{})
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
}

func perplexityResult(model, taskSet string, ppl, low, high float64) eval.Result {
	r := eval.Result{
		Model:    model,
		TaskSet:  taskSet,
		Task:     "perplexity",
		Metrics:  map[string]float64{"perplexity": ppl, "nll_per_token": 2.5, "tokens": 12345},
		Examples: []eval.Example{{ID: "a", Tokens: 100, NLL: 250}},
	}
	if low != 0 {
		r.CI95 = map[string][2]float64{"perplexity": {low, high}}
	}
	return r
}

// fullWorkspace writes every stage's output: corpora, training metrics,
// eval results, an audit and two runs.
func fullWorkspace(t *testing.T) string {
	t.Helper()
	ws := t.TempDir()

	writeStage(t, ws, "collect", []corpus.Document{
		{ID: "d1", Source: "local", License: "GPL-2.0-only", Text: "Contact jane@example.com about the contract."},
		{ID: "d2", Source: "local", License: "unknown", Text: "Call (617) 253-1000 today."},
		{ID: "d3", Source: "web", License: "CC-BY-4.0", Text: "The lessee shall pay rent monthly."},
		{ID: "d4", Source: "web", License: "CC-BY-4.0", Text: "The lessor shall keep the premises in repair."},
	}, []corpus.Rejected{
		{Document: corpus.Document{ID: "r1", Source: "web"}, Stage: "collect", Reason: "empty"},
	})
	writeStage(t, ws, "clean", []corpus.Document{
		{ID: "d1", Source: "local", License: "GPL-2.0-only", Text: "Contact <EMAIL> about the contract.", Redactions: map[string]int64{"EMAIL": 1}},
		{ID: "d2", Source: "local", License: "unknown", Text: "Call 617-253-1000 today."},
		{ID: "d4", Source: "web", License: "CC-BY-4.0", Text: "The lessor shall keep the premises in repair."},
	}, []corpus.Rejected{
		{Document: corpus.Document{ID: "d3", Source: "web"}, Stage: "clean", Reason: "too_short"},
	})

	metrics := finetune.Metrics{
		BaseModel:      "models/stories260K",
		StartedAt:      fixedNow,
		ElapsedSeconds: 95,
		Steps:          40,
		TokensPerStep:  2048,
		TrainTokens:    81920,
		ValTokens:      8192,
		StopReason:     "completed",
		EpochsDone:     1.5,
		ReplayTokens:   16384,
		Config: map[string]any{
			"learning_rate": 3e-4,
			"warmup_steps":  4.0,
			"lr_schedule":   "linear",
			"lora":          map[string]any{"enabled": true, "r": 4.0, "dropout": 0.05, "target_modules": []any{"c_attn", "c_fc"}},
			"replay":        map[string]any{"path": "general/", "fraction": 0.1},
		},
	}
	for step := 1; step <= 40; step++ {
		metrics.Train = append(metrics.Train, finetune.LossPoint{Step: step, Loss: 2 + 3/float64(step), LR: 1e-3, Tokens: int64(step * 2048)})
		if step%10 == 0 {
			metrics.Val = append(metrics.Val, finetune.LossPoint{Step: step, Loss: 2.4 + 3/float64(step), Tokens: int64(step * 2048)})
		}
	}
	writeJSON(t, filepath.Join(ws, "finetune", "metrics.json"), metrics)

	writeJSON(t, filepath.Join(ws, "eval", "base__legal-heldout.json"), perplexityResult("base", "legal-heldout", 24.5, 22.1, 27.3))
	writeJSON(t, filepath.Join(ws, "eval", "tuned__legal-heldout.json"), perplexityResult("tuned", "legal-heldout", 14.2, 13.0, 15.6))
	writeJSON(t, filepath.Join(ws, "eval", "base__general-heldout.json"), perplexityResult("base", "general-heldout", 30.1, 0, 0))
	writeJSON(t, filepath.Join(ws, "eval", "tuned__general-heldout.json"), perplexityResult("tuned", "general-heldout", 31.7, 0, 0))

	_, err := compliance.Run(context.Background(), compliance.Options{
		CollectDir: filepath.Join(ws, "collect"),
		CleanDir:   filepath.Join(ws, "clean"),
		OutDir:     filepath.Join(ws, "audit"),
		Now:        fixedNow,
	})
	if err != nil {
		t.Fatal(err)
	}

	for i, minWords := range []int{5, 10} {
		_, err := iterate.Record(ws, iterate.RecordInput{
			ToolVersion: "v0.1.0",
			Config:      map[string]any{"clean": map[string]any{"min_words": minWords}},
			Now:         fixedNow.Add(time.Duration(i) * time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ws
}

// runIDPattern matches run ids, whose suffix is random.
var runIDPattern = regexp.MustCompile(`\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6}`)

// svgBody matches an inline chart from its opening tag to its end.
var svgBody = regexp.MustCompile(`(?s)(<svg [^>]*>).*?</svg>`)

// maskReport replaces the parts of a report that vary between runs (run id
// suffixes, the temporary workspace path, the generation time) and the
// chart bodies, which TestChartsContent checks instead.
func maskReport(html, ws string) string {
	html = strings.ReplaceAll(html, ws, "WORKSPACE")
	html = runIDPattern.ReplaceAllStringFunc(html, func(id string) string { return id[:len(id)-6] + "XXXXXX" })
	html = regexp.MustCompile(`generated \d{4}-\d\d-\d\dT[0-9:]+Z`).ReplaceAllString(html, "generated TIME")
	return svgBody.ReplaceAllString(html, "$1[chart]</svg>")
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("report differs from %s (run go test -update to accept, then review the diff):\ngot:\n%s", path, got)
	}
}

func renderReport(t *testing.T, ws string) string {
	t.Helper()
	out := filepath.Join(ws, "report", "report.html")
	if err := write(ws, out, fixedNow); err != nil {
		t.Fatalf("write: %v", err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestWriteGolden(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		ws     func(t *testing.T) string
	}{
		{name: "full workspace", golden: "full.golden.html", ws: fullWorkspace},
		{name: "empty workspace", golden: "empty.golden.html", ws: func(t *testing.T) string { return t.TempDir() }},
		{name: "collect only", golden: "collect-only.golden.html", ws: func(t *testing.T) string {
			ws := t.TempDir()
			writeStage(t, ws, "collect", []corpus.Document{{ID: "d1", Source: "local", License: "MIT", Text: "text"}}, nil)
			return ws
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := tt.ws(t)
			checkGolden(t, tt.golden, maskReport(renderReport(t, ws), ws))
		})
	}
}

func TestWriteMissingSectionsNameCommand(t *testing.T) {
	html := renderReport(t, t.TempDir())
	for _, command := range []string{"adapt collect", "adapt finetune", "adapt eval", "adapt audit", "adapt iterate"} {
		want := "Not run yet: run <code>" + command + "</code>"
		if !strings.Contains(html, want) {
			t.Errorf("empty-workspace report lacks %q", want)
		}
	}
}

func TestWriteNoExternalReferences(t *testing.T) {
	html := renderReport(t, fullWorkspace(t))
	forbidden := []struct {
		name    string
		pattern string
	}{
		{"http URL", `http://`},
		{"https URL", `https://`},
		{"protocol-relative URL", `(src|href)\s*=\s*["']?//`},
		{"src attribute", `\ssrc\s*=`},
		{"href attribute", `\shref\s*=\s*["']?[a-z]+:`},
		{"CSS import", `@import`},
		{"CSS url()", `url\(`},
		{"link element", `<link\b`},
		{"script element", `<script\b`},
	}
	for _, f := range forbidden {
		t.Run(f.name, func(t *testing.T) {
			if loc := regexp.MustCompile(f.pattern).FindStringIndex(html); loc != nil {
				start := max(0, loc[0]-60)
				t.Errorf("report contains %s at byte %d: ...%s...", f.name, loc[0], html[start:min(len(html), loc[1]+60)])
			}
		})
	}
}

func TestChartsContent(t *testing.T) {
	html := renderReport(t, fullWorkspace(t))
	charts := svgBody.FindAllString(html, -1)
	if got, want := len(charts), 2; got != want {
		t.Fatalf("report has %d charts, want %d", got, want)
	}
	checks := []struct {
		chart int
		want  string
	}{
		{0, "Loss"},
		{0, "validation"},
		{0, "optimizer step"},
		{1, "Held-out perplexity"},
		{1, "legal-heldout"},
		{1, "tuned"},
		{1, "<path"},
	}
	for _, c := range checks {
		if !strings.Contains(charts[c.chart], c.want) {
			t.Errorf("chart %d lacks %q", c.chart, c.want)
		}
	}
}

func TestWriteEscapesText(t *testing.T) {
	ws := t.TempDir()
	evil := `<script>alert("x")</script>`
	writeJSON(t, filepath.Join(ws, "eval", "base__x.json"), perplexityResult("base", evil, 10, 9, 11))
	html := renderReport(t, ws)
	if strings.Contains(html, "<script>") {
		t.Error("report contains an unescaped <script> element from a task set name")
	}
	if !strings.Contains(html, "&lt;script&gt;") {
		t.Error("report lacks the escaped task set name")
	}
}

func TestWriteShowsReadErrors(t *testing.T) {
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, "finetune"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "finetune", "metrics.json"), []byte(`{"steps": 3,`), 0o644); err != nil {
		t.Fatal(err)
	}
	html := renderReport(t, ws)
	if !strings.Contains(html, `<p class="error">decoding`) {
		t.Error("report does not show the metrics.json decoding error")
	}
	if !strings.Contains(html, "Not run yet: run <code>adapt eval</code>") {
		t.Error("a corrupt metrics.json hid the other sections")
	}
}

func TestWriteMissingWorkspace(t *testing.T) {
	err := Write(filepath.Join(t.TempDir(), "missing"), filepath.Join(t.TempDir(), "r.html"))
	if err == nil {
		t.Error("Write on a missing workspace returned no error")
	}
}

// TestRenderInChromium loads the report in headless Chromium and takes a
// screenshot, copied to $ADAPT_REPORT_SCREENSHOT when set so a person can
// look at it. It skips when Chromium is not installed.
func TestRenderInChromium(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			browser = path
			break
		}
	}
	if browser == "" {
		t.Skip("chromium not installed; skipping the browser rendering check")
	}

	ws := fullWorkspace(t)
	renderReport(t, ws)
	page := filepath.Join(ws, "report", "report.html")
	shot := filepath.Join(t.TempDir(), "screenshot.png")
	cmd := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--window-size=1100,3400", "--screenshot="+shot, "file://"+page)
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, output)
	}
	info, err := os.Stat(shot)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v\n%s", err, output)
	}
	if info.Size() < 10_000 {
		t.Errorf("screenshot is %d bytes, want a rendered page (over 10 kB)", info.Size())
	}
	if keep := os.Getenv("ADAPT_REPORT_SCREENSHOT"); keep != "" {
		data, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keep, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteListsOtherStageManifests(t *testing.T) {
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, "dedup"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := &corpus.Manifest{Stage: "dedup", Counts: corpus.Counts{In: 7, Kept: 5, Rejected: 2}}
	if err := corpus.WriteManifest(filepath.Join(ws, "dedup"), m); err != nil {
		t.Fatal(err)
	}
	html := renderReport(t, ws)
	if !strings.Contains(html, "<td>dedup</td>") {
		t.Error("report lacks a stage row for the dedup folder's manifest")
	}
}

// FuzzWriteEvalResult renders a report from an arbitrary eval result file:
// the report must be written (a bad file is shown as an error, not
// returned), and no text from the file may open an element.
func FuzzWriteEvalResult(f *testing.F) {
	seed, err := json.Marshal(perplexityResult("base", "legal", 12, 10, 14))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"model":"<b>","task_set":"<i>","metrics":{"perplexity":-1},"ci95":{"perplexity":[5,1]}}`))
	f.Add([]byte(`{"model":"tuned","metrics":{"perplexity":0}}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ws := t.TempDir()
		if err := os.MkdirAll(filepath.Join(ws, "eval"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, "eval", "base__x.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		html := renderReport(t, ws)
		for _, tag := range []string{"<b>", "<i>", "<script", "<img"} {
			if strings.Contains(html, tag) {
				t.Errorf("report contains %q from the eval result", tag)
			}
		}
	})
}

func TestWriteNamesResultFromFileName(t *testing.T) {
	ws := t.TempDir()
	writeJSON(t, filepath.Join(ws, "eval", "tuned__medical-heldout.json"), eval.Result{Metrics: map[string]float64{"perplexity": 9}})
	html := renderReport(t, ws)
	if !strings.Contains(html, "<tr><td>tuned</td><td>medical-heldout</td>") {
		t.Error("report does not name a result without model and task set fields by its file name")
	}
}

func TestWriteOneRunSingular(t *testing.T) {
	ws := t.TempDir()
	writeJSON(t, filepath.Join(ws, "eval", "tuned__medical-heldout.json"), eval.Result{Metrics: map[string]float64{"perplexity": 9}})
	if _, err := iterate.Record(ws, iterate.RecordInput{ToolVersion: "v0.1.0", Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	html := renderReport(t, ws)
	if want := "<p>1 run recorded.</p>"; !strings.Contains(html, want) {
		t.Errorf("report does not contain %q", want)
	}
}

func TestFormatCountDoesNotBreak(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{
		{0, "0"}, {999, "999"}, {1057, "1\u202f057"}, {-1234567, "-1\u202f234\u202f567"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			if got := formatCount(tc.n); got != tc.want {
				t.Errorf("formatCount(%d): got %q, want %q", tc.n, got, tc.want)
			}
		})
	}
}

func TestTrainingSettingsFullRun(t *testing.T) {
	m := &finetune.Metrics{Config: map[string]any{"learning_rate": 1e-3}, StopReason: "early_stopping", EpochsDone: 2}
	want := []setting{
		{"method", "full fine-tuning (every weight trained)"},
		{"learning rate", "0.001, cosine schedule"},
		{"replay", "off"},
		{"stop reason", "early_stopping"},
		{"epochs done", "2.00"},
	}
	got := trainingSettings(m)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("trainingSettings:\ngot  %v\nwant %v", got, want)
	}
	if got := trainingSettings(&finetune.Metrics{}); len(got) != 0 {
		t.Errorf("trainingSettings without config: got %v, want none", got)
	}
}

func TestGateSummary(t *testing.T) {
	limit := 50.0
	gate := iterate.Gate{Metric: "tuned/legal/perplexity", Max: &limit}
	cases := []struct {
		name  string
		gates []iterate.GateResult
		want  string
	}{
		{"none", nil, "–"},
		{"all passed", []iterate.GateResult{{Gate: gate, Passed: true}, {Gate: gate, Passed: true}}, "2 passed"},
		{"one failed", []iterate.GateResult{{Gate: gate, Passed: true}, {Gate: gate}}, "1 of 2 failed: tuned/legal/perplexity<=50"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := gateSummary(c.gates); got != c.want {
				t.Errorf("gateSummary = %q, want %q", got, c.want)
			}
		})
	}
}

func TestReportFailedGatesBanner(t *testing.T) {
	ws := t.TempDir()
	limit := 41.0
	run := iterate.Run{ID: "20261204T000001.000Z-aaaaaa", Gates: []iterate.GateResult{{
		Gate:     iterate.Gate{Metric: "tuned/legal/perplexity", Max: &limit},
		Value:    45,
		Failures: []string{"tuned/legal/perplexity is 45, above the maximum 41"},
	}}}

	// Write the run record where iterate puts it.
	data, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(ws, iterate.RunsDir, run.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, iterate.RecordFile), data, 0o644); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "report.html")
	if err := Write(ws, out); err != nil {
		t.Fatalf("Write: %v", err)
	}
	html, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Regression gates failed in run <code>" + run.ID, "above the maximum 41"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
