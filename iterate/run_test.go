package iterate

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
	"github.com/adapt-llm/adapt/model/safetensors"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// writeJSON writes v as JSON to ws/rel, creating folders.
func writeJSON(t *testing.T, ws, rel string, v any) {
	t.Helper()
	path := filepath.Join(ws, rel)
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

func writeFile(t *testing.T, ws, rel, content string) {
	t.Helper()
	path := filepath.Join(ws, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func manifest(stage string, in, kept int64, shards ...corpus.ShardInfo) corpus.Manifest {
	return corpus.Manifest{
		SchemaVersion: corpus.SchemaVersion,
		Stage:         stage,
		Shards:        shards,
		Rejected:      corpus.ShardInfo{Path: stage + "/rejected.parquet", SHA256: strings.Repeat("0", 64), Rows: in - kept},
		Counts:        corpus.Counts{In: in, Kept: kept, Rejected: in - kept},
		RuleCounts:    map[string]int64{"too_short": in - kept},
		Stats:         map[string]float64{"seconds": 1.5},
	}
}

func shard(path string, hashDigit string, rows int64) corpus.ShardInfo {
	return corpus.ShardInfo{Path: path, SHA256: strings.Repeat(hashDigit, 64), Rows: rows, Bytes: rows * 100}
}

func evalResult(model, taskSet string, perplexity float64) eval.Result {
	return eval.Result{
		Model:   model,
		TaskSet: taskSet,
		Task:    "perplexity",
		Metrics: map[string]float64{"perplexity": perplexity, "tokens": 5000},
		Config:  map[string]any{"context_length": 128, "stride": 64},
	}
}

// fillWorkspace writes the first run's stage outputs.
func fillWorkspace(t *testing.T, ws string) {
	writeJSON(t, ws, "collect/manifest.json", manifest("collect", 120, 110,
		shard("collect/shard-00000.parquet", "a", 110)))
	cleanManifest := manifest("clean", 110, 100, shard("clean/shard-00000.parquet", "b", 100))
	cleanManifest.Stats = map[string]float64{"seconds_total": 2.5, "seconds_lang": 1}
	writeJSON(t, ws, "clean/manifest.json", cleanManifest)
	writeFile(t, ws, "finetune/model/config.json", `{"model_type":"llama"}`)
	writeFile(t, ws, "finetune/model/model.safetensors", "weights v1")
	writeJSON(t, ws, "finetune/metrics.json", finetune.Metrics{
		ElapsedSeconds: 42,
		Steps:          10,
		Train:          []finetune.LossPoint{{Step: 1, Loss: 3}, {Step: 10, Loss: 2.5}},
		Val:            []finetune.LossPoint{{Step: 10, Loss: 2.75}},
		Config:         map[string]any{"max_steps": 10, "lr_schedule": "cosine", "learning_rate": 3e-4},
	})
	writeJSON(t, ws, "eval/base__legal-heldout.json", evalResult("base", "legal-heldout", 20))
	writeJSON(t, ws, "eval/tuned__legal-heldout.json", evalResult("tuned", "legal-heldout", 12))
}

// changeWorkspace rewrites the outputs as a second run would.
func changeWorkspace(t *testing.T, ws string) {
	writeJSON(t, ws, "clean/manifest.json", manifest("clean", 110, 95,
		shard("clean/shard-00000.parquet", "c", 60),
		shard("clean/shard-00001.parquet", "d", 35)))
	writeFile(t, ws, "finetune/model/model.safetensors", "weights v2")
	writeJSON(t, ws, "finetune/metrics.json", finetune.Metrics{
		ElapsedSeconds: 42,
		Steps:          20,
		Train:          []finetune.LossPoint{{Step: 1, Loss: 3}, {Step: 20, Loss: 2.5}},
		Val:            []finetune.LossPoint{{Step: 20, Loss: 2.75}},
		Config: map[string]any{"max_steps": 20, "lr_schedule": "linear", "learning_rate": 3e-4,
			"replay": map[string]any{"path": "general", "fraction": 0.1}},
	})
	writeJSON(t, ws, "eval/tuned__legal-heldout.json", evalResult("tuned", "legal-heldout", 10))
	writeJSON(t, ws, "eval/tuned__general-heldout.json", evalResult("tuned", "general-heldout", 30))
}

func TestRecordTwoRuns(t *testing.T) {
	ws := t.TempDir()
	fillWorkspace(t, ws)
	t0 := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)

	first, err := Record(ws, RecordInput{
		ToolVersion: "v0.1.0",
		Config:      map[string]any{"clean": map[string]any{"min_words": 5}, "domain": "legal"},
		Now:         t0,
	})
	if err != nil {
		t.Fatalf("Record first: %v", err)
	}
	changeWorkspace(t, ws)
	second, err := Record(ws, RecordInput{
		ToolVersion: "v0.1.0",
		Config:      map[string]any{"clean": map[string]any{"min_words": 10}, "domain": "legal", "seed": 7},
		Seconds:     map[string]float64{"eval": 3},
		Now:         t0.Add(time.Hour),
	})
	if err != nil {
		t.Fatalf("Record second: %v", err)
	}

	t.Run("parent linkage", func(t *testing.T) {
		if first.Parent != "" {
			t.Errorf("first.Parent = %q, want empty", first.Parent)
		}
		if second.Parent != first.ID {
			t.Errorf("second.Parent = %q, want %q", second.Parent, first.ID)
		}
	})

	t.Run("ids sort in creation order", func(t *testing.T) {
		if !(first.ID < second.ID) {
			t.Errorf("first.ID %q does not sort before second.ID %q", first.ID, second.ID)
		}
		if !strings.HasPrefix(first.ID, "20261204T200000.000Z-") {
			t.Errorf("first.ID = %q, want prefix 20261204T200000.000Z-", first.ID)
		}
	})

	t.Run("load returns what record wrote", func(t *testing.T) {
		loaded, err := Load(ws, second.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(loaded, second) {
			t.Errorf("Load = %+v\nwant %+v", loaded, second)
		}
	})

	t.Run("latest and list", func(t *testing.T) {
		latest, err := Latest(ws)
		if err != nil {
			t.Fatal(err)
		}
		if latest.ID != second.ID {
			t.Errorf("Latest().ID = %q, want %q", latest.ID, second.ID)
		}
		runs, err := List(ws)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		if want := []string{first.ID, second.ID}; !reflect.DeepEqual(ids, want) {
			t.Errorf("List ids = %v, want %v", ids, want)
		}
	})

	t.Run("record contents", func(t *testing.T) {
		if got, want := first.Metrics["base/legal-heldout/perplexity"], 20.0; got != want {
			t.Errorf("metric base/legal-heldout/perplexity = %v, want %v", got, want)
		}
		if got, want := first.Metrics["finetune/val_loss"], 2.75; got != want {
			t.Errorf("metric finetune/val_loss = %v, want %v", got, want)
		}
		var stages []string
		for _, s := range first.Stages {
			stages = append(stages, s.Name)
		}
		if want := []string{"collect", "clean", "finetune", "eval"}; !reflect.DeepEqual(stages, want) {
			t.Errorf("stages = %v, want %v", stages, want)
		}
		// 2 shards + 2 rejected files + 2 model files.
		if got, want := len(first.Inputs), 6; got != want {
			t.Errorf("len(Inputs) = %d, want %d: %+v", got, want, first.Inputs)
		}
		if got, want := first.Stages[1].Seconds, 2.5; got != want {
			t.Errorf("clean seconds = %v, want %v (from stats seconds_total)", got, want)
		}
		if got, want := first.Stages[2].Seconds, 42.0; got != want {
			t.Errorf("finetune seconds = %v, want %v (from metrics.json)", got, want)
		}
		finetuneSettings, _ := second.Effective["finetune"].(map[string]any)
		if got, want := finetuneSettings["max_steps"], 20.0; got != want {
			t.Errorf("effective finetune max_steps = %v, want %v (from metrics.json)", got, want)
		}
		if _, ok := second.Effective["clean"]; ok {
			t.Errorf("effective clean = %v, want no entry for a manifest without config", second.Effective["clean"])
		}
		if got, want := second.Stages[3].Seconds, 3.0; got != want {
			t.Errorf("eval seconds = %v, want %v (from RecordInput.Seconds)", got, want)
		}
	})

	t.Run("compare golden", func(t *testing.T) {
		var buf bytes.Buffer
		if err := Compare(first, second).Write(&buf); err != nil {
			t.Fatal(err)
		}
		got := strings.NewReplacer(first.ID, "RUN-1", second.ID, "RUN-2").Replace(buf.String())
		checkGolden(t, filepath.Join("testdata", "compare.golden"), got)
	})
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
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
		t.Errorf("output differs from %s (run go test -update to accept):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestCompareMetrics(t *testing.T) {
	tests := []struct {
		name     string
		old, new map[string]float64
		want     MetricDelta
	}{
		{
			name: "decrease",
			old:  map[string]float64{"m": 20},
			new:  map[string]float64{"m": 15},
			want: MetricDelta{Name: "m", Old: 20, New: 15, InOld: true, InNew: true, Delta: -5, Relative: -0.25, HasRelative: true},
		},
		{
			name: "old zero has no relative change",
			old:  map[string]float64{"m": 0},
			new:  map[string]float64{"m": 1},
			want: MetricDelta{Name: "m", Old: 0, New: 1, InOld: true, InNew: true, Delta: 1},
		},
		{
			name: "negative old uses absolute value",
			old:  map[string]float64{"m": -2},
			new:  map[string]float64{"m": -1},
			want: MetricDelta{Name: "m", Old: -2, New: -1, InOld: true, InNew: true, Delta: 1, Relative: 0.5, HasRelative: true},
		},
		{
			name: "added",
			old:  map[string]float64{},
			new:  map[string]float64{"m": 3},
			want: MetricDelta{Name: "m", New: 3, InNew: true},
		},
		{
			name: "removed",
			old:  map[string]float64{"m": 3},
			new:  nil,
			want: MetricDelta{Name: "m", Old: 3, InOld: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compareMetrics(tt.old, tt.new)
			if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("compareMetrics = %+v, want [%+v]", got, tt.want)
			}
		})
	}
}

func TestCompareConfig(t *testing.T) {
	tests := []struct {
		name     string
		old, new any
		want     []ConfigChange
		sections []SectionChange
	}{
		{
			name: "nested key changed",
			old:  map[string]any{"clean": map[string]any{"min_words": 5.0}},
			new:  map[string]any{"clean": map[string]any{"min_words": 10.0}},
			want: []ConfigChange{{Key: "clean.min_words", Old: "5", New: "10"}},
		},
		{
			name: "array element and added key",
			old:  map[string]any{"sources": []any{"a"}},
			new:  map[string]any{"sources": []any{"b"}, "seed": 1.0},
			want: []ConfigChange{{Key: "seed", Old: "", New: "1"}, {Key: "sources[0]", Old: `"a"`, New: `"b"`}},
		},
		{
			name:     "section added",
			old:      map[string]any{"seed": 1.0},
			new:      map[string]any{"seed": 1.0, "replay": map[string]any{"path": "g", "fraction": 0.1}},
			want:     []ConfigChange{{Key: "replay.fraction", Old: "", New: "0.1"}, {Key: "replay.path", Old: "", New: `"g"`}},
			sections: []SectionChange{{Key: "replay", Keys: 2, Added: true}},
		},
		{
			name:     "whole config removed",
			old:      map[string]any{"seed": 1.0, "clean": map[string]any{"min_words": 5.0}},
			want:     []ConfigChange{{Key: "clean.min_words", Old: "5", New: ""}, {Key: "seed", Old: "1", New: ""}},
			sections: []SectionChange{{Key: "", Keys: 2}},
		},
		{
			name: "go struct against decoded map",
			old:  struct{ Seed int }{Seed: 1},
			new:  map[string]any{"Seed": 1.0},
			want: nil,
		},
		{
			name: "scalar configs",
			old:  "a",
			new:  "b",
			want: []ConfigChange{{Key: "(config)", Old: `"a"`, New: `"b"`}},
		},
		{
			name: "both nil",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, sections := compareConfig("", tt.old, tt.new)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("compareConfig changes = %+v, want %+v", got, tt.want)
			}
			if !reflect.DeepEqual(sections, tt.sections) {
				t.Errorf("compareConfig sections = %+v, want %+v", sections, tt.sections)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	ws := t.TempDir()
	writeFile(t, ws, "runs/20261204T200000.000Z-aaaaaa/run.json", `{"id": "20261204T200000.000Z-aaaaaa", "metrics": [}`)
	writeFile(t, ws, "runs/20261204T200001.000Z-bbbbbb/run.json", `{"id": "other"}`)

	tests := []struct {
		name    string
		id      string
		wantIs  error
		wantSub string
	}{
		{name: "empty id", id: "", wantIs: ErrInvalidRunID},
		{name: "path escape", id: "../x", wantIs: ErrInvalidRunID},
		{name: "missing run", id: "20990101T000000.000Z-000000", wantIs: ErrRunNotFound},
		{name: "corrupt json names offset", id: "20261204T200000.000Z-aaaaaa", wantSub: "at byte"},
		{name: "id mismatch", id: "20261204T200001.000Z-bbbbbb", wantSub: "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(ws, tt.id)
			if err == nil {
				t.Fatal("Load returned no error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Load error = %v, want errors.Is %v", err, tt.wantIs)
			}
			if tt.wantSub != "" && !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("Load error = %v, want it to contain %q", err, tt.wantSub)
			}
		})
	}
}

func TestLatestEmptyWorkspace(t *testing.T) {
	_, err := Latest(t.TempDir())
	if !errors.Is(err, ErrNoRuns) {
		t.Errorf("Latest error = %v, want ErrNoRuns", err)
	}
	runs, err := List(t.TempDir())
	if err != nil || len(runs) != 0 {
		t.Errorf("List = %v, %v; want empty, nil", runs, err)
	}
}

func TestRecordEmptyWorkspace(t *testing.T) {
	ws := t.TempDir()
	run, err := Record(ws, RecordInput{ToolVersion: "dev"})
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	if len(run.Inputs) != 0 || len(run.Stages) != 0 || len(run.Metrics) != 0 {
		t.Errorf("Record on an empty workspace = %+v, want no inputs, stages or metrics", run)
	}
	if _, err := Record(filepath.Join(ws, "missing"), RecordInput{}); err == nil {
		t.Error("Record on a missing workspace returned no error")
	}
}

func TestNewIDAfterParent(t *testing.T) {
	parent := "20261204T200000.500Z-abcdef"
	tests := []struct {
		name       string
		now        time.Time
		wantPrefix string
	}{
		{name: "clock behind parent", now: time.Date(2026, 12, 4, 19, 0, 0, 0, time.UTC), wantPrefix: "20261204T200000.501Z-"},
		{name: "same millisecond", now: time.Date(2026, 12, 4, 20, 0, 0, 500e6, time.UTC), wantPrefix: "20261204T200000.501Z-"},
		{name: "clock ahead", now: time.Date(2026, 12, 4, 21, 0, 0, 0, time.UTC), wantPrefix: "20261204T210000.000Z-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := newID(tt.now, parent)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(id, tt.wantPrefix) || len(id) != len(tt.wantPrefix)+6 {
				t.Errorf("newID = %q, want prefix %q and 6 hex digits", id, tt.wantPrefix)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"id":"x","metrics":{"a":1},"inputs":[{"path":"p"}]}`))
	f.Add([]byte(`{"id":"x","config":[1,{"a":null}]}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ws := t.TempDir()
		dir := filepath.Join(ws, RunsDir, "x")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, RecordFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		run, err := Load(ws, "x")
		if err != nil {
			return
		}
		// A loaded run must compare and print without panicking.
		if err := Compare(run, run).Write(&bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRecordAgainWithoutChanges(t *testing.T) {
	ws := t.TempDir()
	fillWorkspace(t, ws)
	t0 := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)

	// The pipeline records with the wall times it measured; a later
	// adapt iterate records the same outputs without them.
	first, err := Record(ws, RecordInput{
		Seconds: map[string]float64{"collect": 1.31, "clean": 2.71, "finetune": 67.4, "eval": 64.4},
		Now:     t0,
	})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Record(ws, RecordInput{Now: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	d := Compare(first, second)
	if len(d.Stages) != 0 {
		t.Errorf("stage changes: got %+v, want none", d.Stages)
	}
	if len(d.Timings) != 0 {
		t.Errorf("timing changes: got %+v, want none", d.Timings)
	}
}

func TestCompareStagesIgnoresTiming(t *testing.T) {
	counts := &corpus.Counts{In: 10, Kept: 8, Rejected: 2}
	cases := []struct {
		name        string
		old, new    StageSummary
		wantStages  int
		wantTimings int
	}{
		{"jitter only", StageSummary{Name: "finetune", Seconds: 67.4, Stats: map[string]float64{"steps": 40}},
			StageSummary{Name: "finetune", Seconds: 67.2, Stats: map[string]float64{"steps": 40}}, 0, 0},
		{"seconds stat differs", StageSummary{Name: "clean", Counts: counts, Seconds: 2, Stats: map[string]float64{"seconds": 2, "docs": 8}},
			StageSummary{Name: "clean", Counts: counts, Seconds: 2.01, Stats: map[string]float64{"seconds": 2.01, "docs": 8}}, 0, 0},
		{"large slowdown", StageSummary{Name: "eval", Seconds: 10}, StageSummary{Name: "eval", Seconds: 30}, 0, 1},
		{"count change", StageSummary{Name: "clean", Counts: counts}, StageSummary{Name: "clean", Counts: &corpus.Counts{In: 10, Kept: 7, Rejected: 3}}, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Compare(&Run{Stages: []StageSummary{tc.old}}, &Run{Stages: []StageSummary{tc.new}})
			if len(d.Stages) != tc.wantStages {
				t.Errorf("stage changes: got %d, want %d", len(d.Stages), tc.wantStages)
			}
			if len(d.Timings) != tc.wantTimings {
				t.Errorf("timing changes: got %d, want %d", len(d.Timings), tc.wantTimings)
			}
		})
	}
}

func TestRecordFileMode(t *testing.T) {
	ws := t.TempDir()
	fillWorkspace(t, ws)
	run, err := Record(ws, RecordInput{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(ws, RunsDir, run.ID, RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got&0o444 != 0o444 {
		t.Errorf("run.json mode: got %v, want 0644", got)
	}
}

func TestRecordEvalSecondsFromResults(t *testing.T) {
	ws := t.TempDir()
	fillWorkspace(t, ws)
	base := evalResult("base", "legal-heldout", 20)
	base.ElapsedSeconds = 1.5
	tuned := evalResult("tuned", "legal-heldout", 12)
	tuned.ElapsedSeconds = 2.25
	writeJSON(t, ws, "eval/base__legal-heldout.json", base)
	writeJSON(t, ws, "eval/tuned__legal-heldout.json", tuned)

	run, err := Record(ws, RecordInput{ToolVersion: "v0.1.0", Now: time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	var got float64
	found := false
	for _, stage := range run.Stages {
		if stage.Name == "eval" {
			got, found = stage.Seconds, true
		}
	}
	if !found {
		t.Fatalf("stages %v have no eval stage", run.Stages)
	}
	// 1.5 and 2.25 are exact in binary floating point, so the sum is exact.
	if got != 3.75 {
		t.Errorf("eval seconds = %v, want 3.75 (sum of elapsed_seconds)", got)
	}
}

func TestCompareFirstRunWithConfig(t *testing.T) {
	config := map[string]any{}
	for i := range 95 {
		config[fmt.Sprintf("key%02d", i)] = float64(i)
	}
	old := &Run{ID: "A"}
	new := &Run{ID: "B", Config: config, Effective: map[string]any{"finetune": map[string]any{"max_steps": 20.0}}}
	var buf bytes.Buffer
	if err := Compare(old, new).Write(&buf); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	for _, want := range []string{
		"config: 95 keys added (first run with a config)\n",
		"effective settings: 1 key added (first run with recorded stage settings)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "(absent)"); n != 0 {
		t.Errorf("output has %d (absent) lines, want 0:\n%s", n, got)
	}
}

func TestRecordCheckErrorWritesNothing(t *testing.T) {
	ws := t.TempDir()
	fillWorkspace(t, ws)
	stop := errors.New("gate cannot be checked")
	var seen *Run
	_, err := Record(ws, RecordInput{ToolVersion: "dev", Check: func(run *Run) error { seen = run; return stop }})
	if !errors.Is(err, stop) {
		t.Fatalf("Record error = %v, want the Check error", err)
	}
	if seen == nil || seen.ID == "" {
		t.Errorf("Check saw run %+v, want one with its id assigned", seen)
	}
	if runs, err := List(ws); err != nil || len(runs) != 0 {
		t.Errorf("List after a failed Check = %d runs (error %v), want none", len(runs), err)
	}
}

func TestRecordMarksStaleEvalResults(t *testing.T) {
	ws := t.TempDir()
	fillWorkspace(t, ws)
	current, err := safetensors.HashFolder(filepath.Join(ws, "finetune", "model"))
	if err != nil {
		t.Fatal(err)
	}
	old := evalResult("tuned", "legal-heldout", 12)
	old.ModelPath, old.ModelSHA256 = filepath.Join(ws, "finetune", "model"), "0123abcd"
	fresh := evalResult("tuned", "general-heldout", 30)
	fresh.ModelPath, fresh.ModelSHA256 = filepath.Join(ws, "finetune", "model"), current
	other := evalResult("base", "legal-heldout", 20)
	other.ModelPath, other.ModelSHA256 = t.TempDir(), "0123abcd"
	writeJSON(t, ws, "eval/tuned__legal-heldout.json", old)
	writeJSON(t, ws, "eval/tuned__general-heldout.json", fresh)
	writeJSON(t, ws, "eval/base__legal-heldout.json", other)

	run, err := Record(ws, RecordInput{ToolVersion: "dev"})
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	if len(run.Stale) != 1 || run.Stale[0] != "tuned/legal-heldout" {
		t.Errorf("Stale = %q, want [tuned/legal-heldout]", run.Stale)
	}
}

func TestPassingAncestorSkipsUngatedAndFailed(t *testing.T) {
	ws := t.TempDir()
	passed := []GateResult{{Passed: true}}
	failed := []GateResult{{Passed: false}}
	chain := []struct {
		id    string
		gates []GateResult
	}{
		{"20261204T000001.000Z-aaaaaa", passed},
		{"20261204T000002.000Z-bbbbbb", nil},
		{"20261204T000003.000Z-cccccc", failed},
	}
	parent := ""
	for _, r := range chain {
		writeJSON(t, ws, filepath.Join(RunsDir, r.id, RecordFile), Run{ID: r.id, Parent: parent, Gates: r.gates})
		parent = r.id
	}
	got, err := PassingAncestor(ws, &Run{ID: "20261204T000004.000Z-dddddd", Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.ID != chain[0].id {
		t.Errorf("PassingAncestor = %v, want run %s (the newest with gates, all passed)", got, chain[0].id)
	}
	if got, err := PassingAncestor(ws, &Run{ID: "x"}); got != nil || err != nil {
		t.Errorf("PassingAncestor of a first run = %v, %v; want nil, nil", got, err)
	}
}

func TestRecordKeepsEvalIntervals(t *testing.T) {
	ws := t.TempDir()
	fillWorkspace(t, ws)
	res := evalResult("tuned", "legal-heldout", 12)
	res.CI95 = map[string][2]float64{"perplexity": {11, 13.5}}
	writeJSON(t, ws, "eval/tuned__legal-heldout.json", res)
	run, err := Record(ws, RecordInput{ToolVersion: "dev"})
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	if got := run.Intervals["tuned/legal-heldout/perplexity"]; got != [2]float64{11, 13.5} {
		t.Errorf("interval = %v, want [11 13.5]", got)
	}
}
