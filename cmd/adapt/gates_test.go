package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/config"
	"github.com/adapt-llm/adapt/iterate"
)

// writeEvalResult writes a minimal perplexity result for model on task.
func writeEvalResult(t *testing.T, ws, model, task, perplexity string) {
	t.Helper()
	writeFile(t, filepath.Join(ws, "eval", model+"__"+task+".json"),
		`{"model":"`+model+`","model_path":"m","task_set":"`+task+`","task":"perplexity",`+
			`"created_at":"2026-12-04T00:00:00Z","metrics":{"perplexity":`+perplexity+`}}`)
}

func TestIterateGates(t *testing.T) {
	ws := t.TempDir()
	writeEvalResult(t, ws, "base", "general", "80")
	writeEvalResult(t, ws, "tuned", "general", "86")
	writeEvalResult(t, ws, "tuned", "legal", "40")

	// The first run has no baseline: percentage gates pass with a note.
	code, stdout, stderr := runAdapt(t, "iterate", "-w", ws, "--gate", "tuned/legal/perplexity<=+5%")
	if code != exitOK {
		t.Fatalf("first run: exit status %d, want %d; stderr: %s", code, exitOK, stderr)
	}
	if !strings.Contains(stdout, "note: no baseline run has tuned/legal/perplexity") {
		t.Errorf("first run: stdout %q lacks the no-baseline note", stdout)
	}

	writeEvalResult(t, ws, "tuned", "legal", "43")
	tests := []struct {
		name       string
		gates      []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"increase beyond limit", []string{"tuned/legal/perplexity<=+5%", "tuned/legal/perplexity<=50"}, exitRegression,
			"tuned/legal/perplexity is 43, +7.5% against 40", "1 of 2 regression gates failed"},
		{"within limits", []string{"tuned/legal/perplexity<=+10%"}, exitOK, "passed (value 43, reference 40", ""},
		{"forgetting budget", []string{"tuned/general/perplexity<=base/general/perplexity+5%"}, exitRegression,
			"+7.5% against 80 (base/general/perplexity)", "1 of 1 regression gates failed"},
		{"absolute bound", []string{"tuned/legal/perplexity<=42"}, exitRegression, "above the maximum 42", ""},
		{"mistyped metric", []string{"tuned/legal/perplexty<=50"}, exitBadInput, "", "has no such metric; it has base/general/perplexity"},
		{"malformed gate", []string{"tuned/legal/perplexity<=-5%"}, exitUsage, "", "needs a + sign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"iterate", "-w", ws}
			for _, g := range tt.gates {
				args = append(args, "--gate", g)
			}
			code, stdout, stderr := runAdapt(t, args...)
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout %q, want it to contain %q", stdout, tt.wantStdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestIterateGatesFromConfigWithBaseline(t *testing.T) {
	ws := t.TempDir()
	writeEvalResult(t, ws, "tuned", "legal", "40")
	if code, _, stderr := runAdapt(t, "iterate", "-w", ws); code != exitOK {
		t.Fatalf("first run: exit status %d; stderr: %s", code, stderr)
	}
	entries, err := os.ReadDir(filepath.Join(ws, "runs"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("runs folder: %v entries, error %v; want 1 entry", len(entries), err)
	}
	first := entries[0].Name()

	// A second run at 41 passes against its parent, so the third run at 43
	// passes against its parent (41, +4.9%) but fails against the first.
	writeEvalResult(t, ws, "tuned", "legal", "41")
	if code, _, stderr := runAdapt(t, "iterate", "-w", ws); code != exitOK {
		t.Fatalf("second run: exit status %d; stderr: %s", code, stderr)
	}
	writeEvalResult(t, ws, "tuned", "legal", "43")
	cfg := filepath.Join(t.TempDir(), "adapt.yaml")
	writeFile(t, cfg, "iterate:\n  baseline: "+first+"\n  gates:\n    - metric: tuned/legal/perplexity\n      max_increase: 0.05\n")
	code, stdout, stderr := runAdapt(t, "iterate", "-w", ws, "--config", cfg)
	if code != exitRegression {
		t.Errorf("exit status %d, want %d; stderr: %s", code, exitRegression, stderr)
	}
	if want := "+7.5% against 40 (run " + first + ")"; !strings.Contains(stdout, want) {
		t.Errorf("stdout %q, want it to contain %q", stdout, want)
	}

	// Gates and a baseline make no sense when comparing two recorded runs.
	code, _, stderr = runAdapt(t, "iterate", "-w", ws, "--gate", "tuned/legal/perplexity<=50", first, first)
	if code != exitUsage || !strings.Contains(stderr, "cannot be used with two run ids") {
		t.Errorf("gate with two run ids: exit status %d, stderr %q; want %d and a usage message", code, stderr, exitUsage)
	}
}

func TestIterateGateErrorsRecordNoRun(t *testing.T) {
	ws := t.TempDir()
	writeEvalResult(t, ws, "tuned", "legal", "40")
	if code, _, stderr := runAdapt(t, "iterate", "-w", ws, "--gate", "tuned/legal/perplexity<=50"); code != exitOK {
		t.Fatalf("first run: exit status %d; stderr: %s", code, stderr)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"mistyped metric", []string{"--gate", "tuned/legal/perplexty<=50"}, exitBadInput, "has no such metric"},
		{"unknown baseline", []string{"--gate", "tuned/legal/perplexity<=+5%", "--baseline", "nosuch"}, exitUsage, `invalid --baseline: run "nosuch" not found`},
		{"baseline without gate", []string{"--baseline", "nosuch"}, exitUsage, "no gate is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAdapt(t, append([]string{"iterate", "-w", ws}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit status %d, stderr %q; want %d and %q", code, stderr, tt.wantCode, tt.wantStderr)
			}
			entries, err := os.ReadDir(filepath.Join(ws, "runs"))
			if err != nil || len(entries) != 1 {
				t.Errorf("runs after the failed command: %d (error %v), want only the first", len(entries), err)
			}
		})
	}
}

func TestCheckGateKeys(t *testing.T) {
	models := []config.Model{{Name: "base"}, {Name: "tuned"}}
	taskSets := []config.TaskSet{{Name: "legal-heldout"}, {Name: "general-heldout"}}
	limit := 50.0
	cases := []struct {
		name    string
		gate    iterate.Gate
		wantErr string
	}{
		{"eval metric", iterate.Gate{Metric: "tuned/legal-heldout/perplexity", Max: &limit}, ""},
		{"finetune metric", iterate.Gate{Metric: "finetune/val_loss", Max: &limit}, ""},
		{"relative to base", iterate.Gate{Metric: "tuned/general-heldout/perplexity", MaxIncrease: &limit, RelativeTo: "base/general-heldout/perplexity"}, ""},
		{"unknown task set", iterate.Gate{Metric: "tuned/legal/perplexity", Max: &limit}, `metric "tuned/legal/perplexity" is not one this run produces`},
		{"unknown metric", iterate.Gate{Metric: "tuned/legal-heldout/perplexty", Max: &limit}, "metric perplexity or nll_per_token or tokens"},
		{"unknown relative", iterate.Gate{Metric: "tuned/legal-heldout/perplexity", MaxIncrease: &limit, RelativeTo: "bse/legal-heldout/perplexity"}, `"bse/legal-heldout/perplexity"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := checkGateKeys([]iterate.Gate{c.gate}, models, taskSets)
			switch {
			case c.wantErr == "" && len(errs) != 0:
				t.Errorf("errors %v, want none", errs)
			case c.wantErr != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), c.wantErr)):
				t.Errorf("errors %v, want one containing %q", errs, c.wantErr)
			}
		})
	}
}

func TestIterateWithoutConfigKeepsRecordedGates(t *testing.T) {
	ws := t.TempDir()
	writeEvalResult(t, ws, "tuned", "legal", "40")
	cfg := filepath.Join(t.TempDir(), "adapt.yaml")
	writeFile(t, cfg, "iterate:\n  gates:\n    - metric: tuned/legal/perplexity\n      max: 41\n")
	if code, _, stderr := runAdapt(t, "iterate", "-w", ws, "--config", cfg); code != exitOK {
		t.Fatalf("first run: exit status %d; stderr: %s", code, stderr)
	}
	writeEvalResult(t, ws, "tuned", "legal", "45")
	code, stdout, stderr := runAdapt(t, "iterate", "-w", ws)
	if code != exitRegression || !strings.Contains(stdout, "above the maximum 41") {
		t.Errorf("second run without --config: exit status %d, stdout %q, stderr %q; want %d and the recorded gate's failure",
			code, stdout, stderr, exitRegression)
	}
}

func TestJSONLogFormatWritesFinalErrorAsJSON(t *testing.T) {
	ws := t.TempDir()
	writeEvalResult(t, ws, "tuned", "legal", "40")
	code, _, stderr := runAdapt(t, "--log-format", "json", "iterate", "-w", ws, "--gate", "tuned/legal/perplexity<=39")
	if code != exitRegression {
		t.Fatalf("exit status %d, want %d; stderr: %s", code, exitRegression, stderr)
	}
	var line struct {
		Level      string `json:"level"`
		Msg        string `json:"msg"`
		ExitStatus int    `json:"exit_status"`
	}
	last := strings.TrimSpace(stderr)
	if i := strings.LastIndex(last, "\n"); i >= 0 {
		last = last[i+1:]
	}
	if err := json.Unmarshal([]byte(last), &line); err != nil {
		t.Fatalf("last stderr line %q is not JSON: %v", last, err)
	}
	if line.Level != "ERROR" || line.ExitStatus != exitRegression || !strings.Contains(line.Msg, "regression gates failed") {
		t.Errorf("final error line = %+v, want level ERROR, exit_status %d and the gate message", line, exitRegression)
	}
}

func TestIterateSignificantGate(t *testing.T) {
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "eval", "tuned__legal.json"),
		`{"model":"tuned","model_path":"m","task_set":"legal","task":"perplexity","created_at":"2026-12-04T00:00:00Z",`+
			`"metrics":{"perplexity":44},"ci95":{"perplexity":[41,47]}}`)
	code, stdout, stderr := runAdapt(t, "iterate", "-w", ws, "--gate", "tuned/legal/perplexity<=42", "--significant")
	if code != exitOK || !strings.Contains(stdout, "(95% interval)") {
		t.Errorf("significant gate: exit status %d, stdout %q, stderr %q; want %d", code, stdout, stderr, exitOK)
	}
	code, stdout, _ = runAdapt(t, "iterate", "-w", ws, "--gate", "tuned/legal/perplexity<=42")
	if code != exitRegression || !strings.Contains(stdout, "above the maximum 42") {
		t.Errorf("gate on the value: exit status %d, stdout %q; want %d", code, stdout, exitRegression)
	}
}
