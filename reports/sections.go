package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/adapt-llm/adapt/compliance"
	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
	"github.com/adapt-llm/adapt/iterate"
)

// maxRuns is the number of newest runs listed in the run history.
const maxRuns = 20

// Stage counts.

type stagesSection struct {
	section
	Rows []stageRow
}

type stageRow struct {
	Stage    string
	Missing  string
	Error    string
	Counts   corpus.Counts
	Balanced bool // In == Kept + Rejected
	Reasons  []reasonCount
}

type reasonCount struct {
	Reason string
	Count  int64
}

// loadStages reads the collect and clean manifests, which always get a
// row, and the manifest of any other workspace folder that has one.
func loadStages(ws string) stagesSection {
	var s stagesSection
	stages := []string{"collect", "clean"}
	if entries, err := os.ReadDir(ws); err == nil {
		for _, entry := range entries {
			name := entry.Name()
			if !entry.IsDir() || name == "collect" || name == "clean" {
				continue
			}
			if _, err := os.Stat(filepath.Join(ws, name, corpus.ManifestName)); err == nil {
				stages = append(stages, name)
			}
		}
	}
	for _, stage := range stages {
		row := stageRow{Stage: stage}
		m, err := corpus.ReadManifest(filepath.Join(ws, stage))
		switch {
		case errors.Is(err, corpus.ErrNoManifest):
			row.Missing = "adapt " + stage
		case err != nil:
			row.Error = err.Error()
		default:
			row.Counts = m.Counts
			row.Balanced = m.Counts.Check() == nil
			row.Reasons = sortedReasons(m.RuleCounts)
		}
		s.Rows = append(s.Rows, row)
	}
	missing := 0
	for _, row := range s.Rows {
		if row.Missing != "" {
			missing++
		}
	}
	if missing == len(s.Rows) {
		s.Missing = "adapt collect"
	}
	return s
}

// sortedReasons orders reason codes by count, largest first, then by name.
func sortedReasons(counts map[string]int64) []reasonCount {
	out := make([]reasonCount, 0, len(counts))
	for reason, n := range counts {
		out = append(out, reasonCount{Reason: reason, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

// Training.

type trainingSection struct {
	section
	Metrics   *finetune.Metrics
	Chart     template.HTML
	FinalLoss string
	FinalVal  string
	// Settings lists the training method, schedule, replay and how the
	// run ended, from metrics.json.
	Settings []setting
}

// setting is one labeled value of a summary list.
type setting struct {
	Name, Value string
}

func loadTraining(ws string) trainingSection {
	var s trainingSection
	var m finetune.Metrics
	if err := readJSON(filepath.Join(ws, "finetune", "metrics.json"), &m); err != nil {
		s.setErr(err, "adapt finetune")
		return s
	}
	s.Metrics = &m
	s.Settings = trainingSettings(&m)
	if n := len(m.Train); n > 0 {
		s.FinalLoss = formatFloat(m.Train[n-1].Loss)
	}
	if n := len(m.Val); n > 0 {
		s.FinalVal = formatFloat(m.Val[n-1].Loss)
	}
	if len(m.Train)+len(m.Val) == 0 {
		return s
	}

	chart, err := lossChart(&m)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	s.Chart = chart
	return s
}

// trainingSettings describes the run's LoRA, learning-rate schedule and
// replay settings from m.Config, which holds finetune.Config as JSON, and
// its stop reason and epochs. Settings that metrics.json lacks are left
// out, so a file written before they existed shows fewer rows.
func trainingSettings(m *finetune.Metrics) []setting {
	var out []setting
	cfg := m.Config
	if cfg != nil {
		out = append(out, setting{"method", trainingMethod(cfg)})
		schedule, _ := cfg["lr_schedule"].(string)
		if schedule == "" {
			schedule = "cosine" // finetune.Config's default for an empty lr_schedule
		}
		lr := schedule + " schedule"
		if rate, ok := cfg["learning_rate"].(float64); ok {
			lr = formatFloat(rate) + ", " + lr
		}
		if warmup, ok := cfg["warmup_steps"].(float64); ok && warmup > 0 {
			lr += fmt.Sprintf(", %s warm-up steps", formatFloat(warmup))
		}
		out = append(out, setting{"learning rate", lr})
		out = append(out, setting{"replay", replayText(cfg, m.ReplayTokens)})
	}
	if m.StopReason != "" {
		out = append(out, setting{"stop reason", m.StopReason})
	}
	if m.EpochsDone > 0 {
		out = append(out, setting{"epochs done", strconv.FormatFloat(m.EpochsDone, 'f', 2, 64)})
	}
	return out
}

// trainingMethod describes full fine-tuning or the LoRA settings, filling
// in finetune.LoRAConfig's defaults for zero fields (r 8, alpha 2r).
func trainingMethod(cfg map[string]any) string {
	lora, _ := cfg["lora"].(map[string]any)
	if enabled, _ := lora["enabled"].(bool); !enabled {
		return "full fine-tuning (every weight trained)"
	}
	r, _ := lora["r"].(float64)
	if r == 0 {
		r = 8
	}
	alpha, _ := lora["alpha"].(float64)
	if alpha == 0 {
		alpha = 2 * r
	}
	dropout, _ := lora["dropout"].(float64)
	targets := "the architecture's default"
	if list, ok := lora["target_modules"].([]any); ok && len(list) > 0 {
		names := make([]string, len(list))
		for i, t := range list {
			names[i] = fmt.Sprint(t)
		}
		targets = strings.Join(names, ", ")
	}
	return fmt.Sprintf("LoRA: r %s, alpha %s, dropout %s, targets %s",
		formatFloat(r), formatFloat(alpha), formatFloat(dropout), targets)
}

// replayText describes the replay data and the fraction of sequences
// drawn from it, or "off".
func replayText(cfg map[string]any, tokens int64) string {
	replay, _ := cfg["replay"].(map[string]any)
	fraction, _ := replay["fraction"].(float64)
	if fraction <= 0 {
		return "off"
	}
	path, _ := replay["path"].(string)
	text := fmt.Sprintf("%s of sequences from %s", strconv.FormatFloat(100*fraction, 'g', 4, 64)+"%", path)
	if tokens > 0 {
		text += fmt.Sprintf(" (%s tokens)", formatCount(tokens))
	}
	return text
}

// Evaluation.

type evalSection struct {
	section
	Chart template.HTML
	Rows  []evalRow
	// Changes compares tuned with base per task set.
	Changes []evalChange
}

type evalRow struct {
	Model, TaskSet, Task string
	Perplexity           string
	CI                   string
	NLLPerToken          string
	Tokens               string
	Examples             int
	Other                string
}

type evalChange struct {
	TaskSet          string
	Base, Tuned      string
	Relative         string
	Better, Worse    bool
	OverlappingCI    bool
	HasIntervalCheck bool
}

func loadEval(ws string) evalSection {
	var s evalSection
	paths, err := filepath.Glob(filepath.Join(ws, "eval", "*.json"))
	if err != nil {
		s.Error = err.Error()
		return s
	}
	if len(paths) == 0 {
		s.Missing = "adapt eval"
		return s
	}
	sort.Strings(paths)

	// Read every result and index perplexities by task set and model.
	var errs []string
	groups := map[string]*perplexityGroup{}
	var taskSets []string
	modelSeen := map[string]bool{}
	for _, path := range paths {
		var r eval.Result
		if err := readJSON(path, &r); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		// The file name <model>__<task_set>.json names a result whose
		// fields are empty.
		fileModel, fileTaskSet, _ := strings.Cut(strings.TrimSuffix(filepath.Base(path), ".json"), "__")
		if r.Model == "" {
			r.Model = fileModel
		}
		if r.TaskSet == "" {
			r.TaskSet = fileTaskSet
		}
		s.Rows = append(s.Rows, newEvalRow(&r))

		ppl, ok := r.Metrics["perplexity"]
		if !ok || math.IsNaN(ppl) || math.IsInf(ppl, 0) {
			continue
		}
		g := groups[r.TaskSet]
		if g == nil {
			g = &perplexityGroup{TaskSet: r.TaskSet, Models: map[string]perplexityValue{}}
			groups[r.TaskSet] = g
			taskSets = append(taskSets, r.TaskSet)
		}
		v := perplexityValue{Value: ppl}
		if ci, ok := r.CI95["perplexity"]; ok {
			v.Low, v.High, v.HasRange = ci[0], ci[1], true
		}
		g.Models[r.Model] = v
		modelSeen[r.Model] = true
	}
	s.Error = strings.Join(errs, "\n")

	// Chart and base-versus-tuned table.
	sort.Strings(taskSets)
	models := orderModels(modelSeen)
	var ordered []perplexityGroup
	for _, name := range taskSets {
		ordered = append(ordered, *groups[name])
		if change, ok := compareBaseTuned(groups[name]); ok {
			s.Changes = append(s.Changes, change)
		}
	}
	if len(ordered) > 0 {
		chart, err := perplexityChart(ordered, models)
		if err != nil {
			s.Error = strings.TrimSpace(s.Error + "\n" + err.Error())
		}
		s.Chart = chart
	}
	return s
}

func newEvalRow(r *eval.Result) evalRow {
	row := evalRow{Model: r.Model, TaskSet: r.TaskSet, Task: r.Task, Examples: len(r.Examples)}
	if v, ok := r.Metrics["perplexity"]; ok {
		row.Perplexity = formatFloat(v)
	}
	if ci, ok := r.CI95["perplexity"]; ok {
		row.CI = formatFloat(ci[0]) + " – " + formatFloat(ci[1])
	}
	if v, ok := r.Metrics["nll_per_token"]; ok {
		row.NLLPerToken = formatFloat(v)
	}
	if v, ok := r.Metrics["tokens"]; ok {
		row.Tokens = formatCount(int64(v))
	}

	var other []string
	for name, v := range r.Metrics {
		switch name {
		case "perplexity", "nll_per_token", "tokens":
		default:
			other = append(other, name+" "+formatFloat(v))
		}
	}
	sort.Strings(other)
	row.Other = strings.Join(other, ", ")
	return row
}

// orderModels puts "base" and "tuned" first and other models after, by
// name.
func orderModels(seen map[string]bool) []string {
	var models []string
	for _, name := range []string{"base", "tuned"} {
		if seen[name] {
			models = append(models, name)
		}
	}
	var rest []string
	for name := range seen {
		if name != "base" && name != "tuned" {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	return append(models, rest...)
}

// compareBaseTuned returns the relative perplexity change from base to
// tuned when the group has both.
func compareBaseTuned(g *perplexityGroup) (evalChange, bool) {
	base, okBase := g.Models["base"]
	tuned, okTuned := g.Models["tuned"]
	if !okBase || !okTuned || base.Value == 0 {
		return evalChange{}, false
	}
	rel := (tuned.Value - base.Value) / base.Value
	change := evalChange{
		TaskSet:  g.TaskSet,
		Base:     formatFloat(base.Value),
		Tuned:    formatFloat(tuned.Value),
		Relative: formatPercent(rel),
		Better:   rel < 0,
		Worse:    rel > 0,
	}
	if base.HasRange && tuned.HasRange {
		change.HasIntervalCheck = true
		change.OverlappingCI = tuned.Low <= base.High && base.Low <= tuned.High
	}
	return change, true
}

// Audit.

type auditSection struct {
	section
	Report *compliance.Report
	PII    []piiRow
	// Licenses is the table of the cleaned corpus, or of the collected one
	// when clean was not audited; LicenseStage says which.
	Licenses      []compliance.LicenseCount
	LicenseTotals []reasonCount
	LicenseStage  string
	// ShowTotals is set when the corpus has more than one source, because
	// with one source the totals repeat the per-source table.
	ShowTotals  bool
	Unknown     int64
	UnknownFrom string
}

type piiRow struct {
	Type                       string
	Before, Redacted, Residual int64
	HasBefore, HasAfter        bool
}

func loadAudit(ws string) auditSection {
	var s auditSection
	report, err := compliance.Read(filepath.Join(ws, "audit"))
	if err != nil {
		s.setErr(err, "adapt audit")
		return s
	}
	s.Report = report

	// Personal data by type.
	types := map[string]bool{}
	for _, m := range []map[string]int64{report.PII.Before, report.PII.Redacted, report.PII.Residual} {
		for t := range m {
			types[t] = true
		}
	}
	var names []string
	for t := range types {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		s.PII = append(s.PII, piiRow{
			Type:      t,
			Before:    report.PII.Before[t],
			Redacted:  report.PII.Redacted[t],
			Residual:  report.PII.Residual[t],
			HasBefore: report.Collect != nil,
			HasAfter:  report.Clean != nil,
		})
	}

	// Licenses of the corpus that training reads.
	audit := report.Clean
	if audit == nil {
		audit = report.Collect
	}
	if audit != nil {
		s.LicenseStage = audit.Stage
		s.Licenses = audit.Licenses
		s.LicenseTotals = sortedReasons(audit.LicenseTotals)
		sources := map[string]bool{}
		for _, row := range audit.Licenses {
			sources[row.Source] = true
		}
		s.ShowTotals = len(sources) > 1
		s.Unknown = audit.UnknownLicense
		s.UnknownFrom = strings.Join(audit.UnknownLicenseSources, ", ")
	}
	return s
}

// Runs.

type runsSection struct {
	section
	Rows []runRow
	// Total is the number of runs; Rows lists at most maxRuns of them.
	Total int
	// Diff compares the newest run with its parent, as iterate prints it.
	Diff     string
	DiffFrom string
	// FailedGates lists each failure of the newest run's regression gates,
	// in words, for the banner at the top of the report.
	FailedGates []string
	// NewestID is the newest run's id.
	NewestID string
}

type runRow struct {
	ID, Parent, CreatedAt, ToolVersion string
	Inputs                             int
	Metrics                            string
	// Gates summarizes the regression gates checked on the run ("–" when
	// none were), and GatesFailed is true when any failed.
	Gates       string
	GatesFailed bool
}

func loadRuns(ws string) runsSection {
	var s runsSection
	runs, err := iterate.List(ws)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	if len(runs) == 0 {
		s.Missing = "adapt iterate"
		return s
	}
	s.Total = len(runs)

	// Newest first.
	for i := len(runs) - 1; i >= 0 && len(s.Rows) < maxRuns; i-- {
		r := runs[i]
		s.Rows = append(s.Rows, runRow{
			ID:          r.ID,
			Parent:      r.Parent,
			CreatedAt:   r.CreatedAt.UTC().Format("2006-01-02 15:04:05Z"),
			ToolVersion: r.ToolVersion,
			Inputs:      len(r.Inputs),
			Metrics:     headlineMetrics(r.Metrics),
			Gates:       gateSummary(r.Gates),
			GatesFailed: !r.GatesPassed(),
		})
	}

	latest := runs[len(runs)-1]
	s.NewestID = latest.ID
	for _, g := range latest.Gates {
		s.FailedGates = append(s.FailedGates, g.Failures...)
	}
	if latest.Parent == "" {
		return s
	}
	for _, r := range runs {
		if r.ID != latest.Parent {
			continue
		}
		var b strings.Builder
		if err := iterate.Compare(r, latest).Write(&b); err != nil {
			s.Error = err.Error()
			return s
		}
		s.Diff = b.String()
		s.DiffFrom = r.ID
	}
	return s
}

// gateSummary counts a run's gate results and names each failed gate.
func gateSummary(gates []iterate.GateResult) string {
	if len(gates) == 0 {
		return "–"
	}
	var failed []string
	for _, g := range gates {
		if !g.Passed {
			failed = append(failed, g.Gate.String())
		}
	}
	if len(failed) == 0 {
		return fmt.Sprintf("%d passed", len(gates))
	}
	return fmt.Sprintf("%d of %d failed: %s", len(failed), len(gates), strings.Join(failed, "; "))
}

// headlineMetrics lists a run's perplexities, the metrics a reader scans
// the history for, as "name value" pairs.
func headlineMetrics(metrics map[string]float64) string {
	var parts []string
	for name, v := range metrics {
		if strings.HasSuffix(name, "/perplexity") {
			parts = append(parts, strings.TrimSuffix(name, "/perplexity")+" "+formatFloat(v))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// Helpers.

// readJSON decodes the file at path into v. The error keeps fs.ErrNotExist
// in its chain for a missing file and names the byte offset of a syntax
// error.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		var syntaxErr *json.SyntaxError
		if errors.As(err, &syntaxErr) {
			return fmt.Errorf("decoding %s at byte %d: %w; rerun the stage that wrote it", path, syntaxErr.Offset, err)
		}
		return fmt.Errorf("decoding %s: %w; rerun the stage that wrote it", path, err)
	}
	return nil
}

// formatCount writes n with narrow no-break spaces (U+202F) as thousands
// separators ("12 345"), so a count never wraps inside a table cell.
// pluralWord returns singular when n is 1 and plural otherwise, so that a
// count reads "1 run" and "2 runs".
func pluralWord(n int, singular, plural string) string {
	if n == 1 {
		return singular
	}
	return plural
}

func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteRune('\u202f')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatFloat writes v with 4 significant digits.
func formatFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// formatPercent writes a fraction as a signed percentage ("-12.3%").
func formatPercent(v float64) string {
	return fmt.Sprintf("%+.1f%%", 100*v)
}

func formatSeconds(v float64) string {
	if v >= 120 {
		return fmt.Sprintf("%.1f min", v/60)
	}
	return fmt.Sprintf("%.1f s", v)
}
