package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/compliance"
	"github.com/adapt-llm/adapt/config"
	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
)

// writeModel writes a folder with a config.json, which is all that the
// checks before a stage look at.
func writeModel(t *testing.T, dir string) string {
	t.Helper()
	writeFile(t, filepath.Join(dir, "config.json"), "{}")
	return dir
}

func TestEvalExampleTunedFollowsWorkspace(t *testing.T) {
	calls := fakeStages(t)
	example := filepath.Join("..", "..", "examples", "adapt.yaml")
	cfg, err := config.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Finetune.BaseModel, "config.json")); err != nil {
		t.Skipf("the example's base model is not built: %v", err)
	}
	ws := t.TempDir()
	writeModel(t, filepath.Join(ws, "finetune", "model"))
	writeFile(t, filepath.Join(ws, "clean", "manifest.json"), "{}")

	code, _, stderr := runAdapt(t, "eval", "--config", example, "-w", ws)
	if code != exitOK {
		t.Fatalf("got exit status %d, want 0; stderr: %s", code, stderr)
	}
	var tuned string
	for _, m := range calls.models {
		if m.Name == "tuned" {
			tuned = m.Dir
		}
	}
	if want := filepath.Join(ws, "finetune", "model"); tuned != want {
		t.Errorf("got tuned model %q, want %q", tuned, want)
	}
}

func TestEvalWorkspacePlaceholder(t *testing.T) {
	calls := fakeStages(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "adapt.yaml")
	writeFile(t, cfgPath, "eval:\n  models:\n    - name: tuned\n      dir: ${workspace}/finetune/model\n")
	ws := filepath.Join(dir, "ws8")
	writeModel(t, filepath.Join(ws, "finetune", "model"))
	writeFile(t, filepath.Join(ws, "clean", "manifest.json"), "{}")

	code, _, stderr := runAdapt(t, "eval", "--config", cfgPath, "-w", ws)
	if code != exitOK {
		t.Fatalf("got exit status %d, want 0; stderr: %s", code, stderr)
	}
	if len(calls.models) != 1 {
		t.Fatalf("got models %+v, want one", calls.models)
	}
	if got, want := calls.models[0].Dir, filepath.Join(ws, "finetune", "model"); got != want {
		t.Errorf("got tuned model %q, want %q", got, want)
	}
}

func TestEvalModelInOtherWorkspaceWarns(t *testing.T) {
	fakeStages(t)
	dir := t.TempDir()
	other := filepath.Join(dir, "workspace")
	model := writeModel(t, filepath.Join(other, "finetune", "model"))
	ws := filepath.Join(dir, "ws8")
	writeFile(t, filepath.Join(ws, "clean", "manifest.json"), "{}")

	code, _, stderr := runAdapt(t, "eval", "-w", ws, "--model", "tuned="+model)
	if code != exitOK {
		t.Fatalf("got exit status %d, want 0; stderr: %s", code, stderr)
	}
	for _, want := range []string{"another workspace", "model_workspace=" + other, "workspace=" + ws} {
		if !strings.Contains(stderr, want) {
			t.Errorf("got stderr %q, want it to contain %q", stderr, want)
		}
	}

	// A model of this workspace is no reason to warn.
	own := writeModel(t, filepath.Join(ws, "finetune", "model"))
	code, _, stderr = runAdapt(t, "eval", "-w", ws, "--model", "tuned="+own)
	if code != exitOK || strings.Contains(stderr, "another workspace") {
		t.Errorf("own workspace: got exit status %d and stderr %q, want 0 and no warning", code, stderr)
	}
}

func TestCollectNoDocuments(t *testing.T) {
	fakeStages(t)
	collectStage = func(context.Context, *adapt, workspace, config.Collect, bool) (*corpus.Manifest, error) {
		return &corpus.Manifest{}, nil
	}
	source := t.TempDir()

	tests := []struct {
		name       string
		include    string
		wantStderr []string
	}{
		{"comma in pattern", "*.txt,*.md", []string{source, `include ["*.txt,*.md"]`, "exclude nothing", "a comma is part of a glob pattern", "repeat --include"}},
		{"plain pattern", "*.pdf", []string{source, `include ["*.pdf"]`, "check the paths"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runAdapt(t, "collect", "-w", t.TempDir(), "--source", source, "--include", tt.include)
			if code != exitBadInput {
				t.Errorf("got exit status %d, want %d; stdout: %s", code, exitBadInput, stdout)
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("got stderr %q, want it to contain %q", stderr, want)
				}
			}
		})
	}
}

func TestEvalMalformedJSONL(t *testing.T) {
	dir := t.TempDir()
	model := writeModel(t, filepath.Join(dir, "model"))
	bad := filepath.Join(dir, "bad.jsonl")
	writeFile(t, bad, "{\"text\": \"fine\"}\n{\"text\": \n")
	wrongType := filepath.Join(dir, "type.jsonl")
	writeFile(t, wrongType, "{\"text\": 3}\n")
	noText := filepath.Join(dir, "notext.jsonl")
	writeFile(t, noText, "{\"id\": \"a\"}\n")

	tests := []struct {
		name, file, wantStderr string
	}{
		{"invalid JSON", bad, bad + ":2: invalid JSON"},
		{"text not a string", wrongType, wrongType + ":1: invalid JSON"},
		{"no text field", noText, noText + ":1: missing \"text\" field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAdapt(t, "eval", "-w", filepath.Join(dir, "ws"), "--model", "tuned="+model, "--jsonl", "b="+tt.file)
			if code != exitBadInput {
				t.Errorf("got exit status %d, want %d; stderr: %s", code, exitBadInput, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("got stderr %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestExitCodeMalformedData(t *testing.T) {
	var syntax error = &json.SyntaxError{Offset: 3}
	tests := []struct {
		name string
		err  error
	}{
		{"json syntax", fmt.Errorf("b.jsonl:2: invalid JSON: %w", syntax)},
		{"json type", fmt.Errorf("b.jsonl:1: invalid JSON: %w", &json.UnmarshalTypeError{Value: "number"})},
		{"eval task set", fmt.Errorf("evaluating: %w: b.jsonl:1: missing \"text\" field", eval.ErrBadTaskSet)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(context.Background(), tt.err); got != exitBadInput {
				t.Errorf("got %d, want %d", got, exitBadInput)
			}
		})
	}
}

func TestMissingWorkspace(t *testing.T) {
	fakeStages(t)
	ws := filepath.Join(t.TempDir(), "nonexistent")
	model := writeModel(t, filepath.Join(t.TempDir(), "model"))
	want := "workspace " + ws + " not found; run adapt collect -w " + ws + " first (or pass the right -w)"

	tests := []struct {
		name string
		args []string
	}{
		{"clean", []string{"clean", "-w", ws}},
		{"finetune", []string{"finetune", "-w", ws, "--base-model", model}},
		{"eval", []string{"eval", "-w", ws}},
		{"eval explicit model", []string{"eval", "-w", ws, "--model", "tuned=" + model}},
		{"iterate", []string{"iterate", "-w", ws}},
		{"iterate compare", []string{"iterate", "-w", ws, "a", "b"}},
		{"audit", []string{"audit", "-w", ws}},
		{"report", []string{"report", "-w", ws}},
		{"export", []string{"export", "-w", ws, "--out", filepath.Join(t.TempDir(), "m.gguf")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAdapt(t, tt.args...)
			if code != exitBadInput {
				t.Errorf("got exit status %d, want %d; stderr: %s", code, exitBadInput, stderr)
			}
			if !strings.Contains(stderr, want) {
				t.Errorf("got stderr %q, want it to contain %q", stderr, want)
			}
		})
	}
}

func TestCollectFlagErrorsNameFlag(t *testing.T) {
	source := t.TempDir()
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"license with comma", []string{"--license", "MIT, or Apache-2.0"}, `invalid --license: license expression "MIT, or Apache-2.0" contains ','`},
		{"license with markup", []string{"--license", `<img src=x>`}, `invalid --license: license expression "<img src=x>" contains '<'`},
		{"license two ids", []string{"--license", "MIT Apache-2.0"}, `invalid --license: invalid license expression "MIT Apache-2.0"`},
		{"domain with comma", []string{"--domain", "legal,finance"}, `invalid --domain: "legal,finance" is not a valid name`},
		{"bad include glob", []string{"--include", "[a"}, `invalid --include: invalid glob pattern "[a"`},
		{"global flag after command", []string{"--log-level", "info"}, "--log-level is a global flag: put it before the command (adapt --log-level info collect …)"},
		{"global flag with equals", []string{"--log-format=json"}, "--log-format is a global flag: put it before the command (adapt --log-format json collect …)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"collect", "-w", t.TempDir()}, tt.args...), "--source", source)
			code, _, stderr := runAdapt(t, args...)
			if code != exitUsage {
				t.Errorf("got exit status %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("got stderr %q, want it to contain %q", stderr, tt.wantStderr)
			}
			if strings.Contains(stderr, "config:") {
				t.Errorf("got stderr %q, want no mention of the config for a flag value", stderr)
			}
		})
	}
}

func TestConfigLicenseBadInput(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "adapt.yaml")
	writeFile(t, cfgPath, "collect:\n  sources:\n    - path: .\n      license: '<img src=x>'\n")

	code, _, stderr := runAdapt(t, "collect", "-w", filepath.Join(dir, "ws"), "--config", cfgPath)
	if code != exitBadInput {
		t.Errorf("got exit status %d, want %d; stderr: %s", code, exitBadInput, stderr)
	}
	if want := cfgPath + ":4: collect.sources[0].license:"; !strings.Contains(stderr, want) {
		t.Errorf("got stderr %q, want it to contain %q", stderr, want)
	}
}

func TestPreflightReportsEveryProblem(t *testing.T) {
	fakeStages(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "adapt.yaml")
	writeFile(t, cfgPath, "collect:\n  sources:\n    - path: missing-a\n    - path: missing-b\n"+
		"finetune:\n  base_model: no-model\n"+
		"eval:\n  task_sets:\n    - name: g\n      kind: jsonl\n      path: no.jsonl\n")

	code, _, stderr := runAdapt(t, "run", "-w", filepath.Join(dir, "ws"), "--config", cfgPath)
	if code != exitBadInput {
		t.Errorf("got exit status %d, want %d; stderr: %s", code, exitBadInput, stderr)
	}
	for _, want := range []string{"4 problems", "source " + filepath.Join(dir, "missing-a") + " not found", "source " + filepath.Join(dir, "missing-b") + " not found",
		"base model " + filepath.Join(dir, "no-model") + " not found", "task set g path " + filepath.Join(dir, "no.jsonl") + " not found"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("got stderr %q, want it to contain %q", stderr, want)
		}
	}
}

func TestSummariesSingular(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"one step", finetuneSummary(&finetune.Metrics{Steps: 1}), "1 step"},
		{"two steps", finetuneSummary(&finetune.Metrics{Steps: 2}), "2 steps"},
		{"one result", evalSummary([]*eval.Result{{Model: "base", TaskSet: "t", Metrics: map[string]float64{"perplexity": 2}}}), "1 result: t ppl base 2.00"},
		{"one doc", countSummary(1, 1, 0), "1 doc in, 1 kept, 0 rejected"},
		{"no docs", countSummary(0, 0, 0), "0 docs in, 0 kept, 0 rejected"},
		{"one problem", auditSummary(&compliance.Report{Problems: []string{"shard hash differs"}}), "PII found 0, redacted 0, residual 0, 1 problem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

// TestInvalidValueExitStatus checks that an invalid value exits with the
// usage status when a flag set it and with the bad-input status when the
// config file set it.
func TestInvalidValueExitStatus(t *testing.T) {
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	model := writeModel(t, filepath.Join(dir, "model"))
	writeFile(t, filepath.Join(ws, "clean", "manifest.json"), "{}")
	configFile := func(name, text string) string {
		path := filepath.Join(dir, name+".yaml")
		writeFile(t, path, text)
		return path
	}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"flag max steps", []string{"finetune", "-w", ws, "--base-model", model, "--max-steps", "-1"}, exitUsage, "invalid --max-steps"},
		{"flag lora rank", []string{"finetune", "-w", ws, "--base-model", model, "--lora", "--lora-r", "-2"}, exitUsage, "invalid --lora-r"},
		{"flag lr schedule", []string{"finetune", "-w", ws, "--base-model", model, "--lr-schedule", "step"}, exitUsage, "invalid --lr-schedule"},
		{"flag replay fraction", []string{"finetune", "-w", ws, "--base-model", model, "--replay", "g.jsonl", "--replay-fraction", "-0.5"}, exitUsage, "invalid --replay-fraction"},
		{"flag max steps not a number", []string{"finetune", "-w", ws, "--max-steps", "many"}, exitUsage, "many"},
		{"flag domain score", []string{"collect", "-w", ws, "--min-domain-score", "-1", dir}, exitUsage, "invalid --min-domain-score"},
		{"flag domain", []string{"collect", "-w", ws, "--domain", "a b", dir}, exitUsage, "invalid --domain"},
		{"flag model name", []string{"eval", "-w", ws, "--model", "a b=" + model}, exitUsage, "invalid --model"},
		{"flag model twice", []string{"eval", "-w", ws, "--model", "m=" + model, "--model", "m=" + model}, exitUsage, "invalid --model"},
		{"flag jsonl name", []string{"eval", "-w", ws, "--jsonl", "a b=x.jsonl"}, exitUsage, "invalid --jsonl"},
		{"flag export type", []string{"export", "-w", ws, "--type", "q4", "--out", "m.gguf"}, exitUsage, "invalid --type"},
		{"flag quickstart steps", []string{"quickstart", "--max-steps", "-1"}, exitUsage, "invalid --max-steps"},
		{"flag device", []string{"eval", "-w", ws, "--device", "tpu"}, exitUsage, "tpu"},
		{"config max steps", []string{"finetune", "-w", ws, "--base-model", model, "--config", configFile("steps", "finetune:\n  max_steps: -1\n")}, exitBadInput, "finetune.max_steps"},
		{"config lora rank", []string{"finetune", "-w", ws, "--base-model", model, "--config", configFile("lora", "finetune:\n  lora:\n    enabled: true\n    r: -2\n")}, exitBadInput, "finetune.lora.r"},
		{"config domain score", []string{"collect", "-w", ws, "--config", configFile("score", "collect:\n  min_domain_score: -1\n"), dir}, exitBadInput, "collect.min_domain_score"},
		{"config model name", []string{"eval", "-w", ws, "--config", configFile("models", "eval:\n  models:\n    - name: a b\n      dir: x\n")}, exitBadInput, "eval.models[0].name"},
		{"config model name with jsonl flag", []string{"eval", "-w", ws, "--jsonl", "j=x.jsonl", "--config", configFile("models2", "eval:\n  models:\n    - name: a b\n      dir: x\n")}, exitBadInput, "eval.models[0].name"},
		{"config task set", []string{"eval", "-w", ws, "--jsonl", "j=x.jsonl", "--config", configFile("sets", "eval:\n  task_sets:\n    - name: a b\n      kind: jsonl\n      path: x\n")}, exitBadInput, "eval.task_sets[0].name"},
		{"config device", []string{"eval", "-w", ws, "--config", configFile("device", "device: tpu\n")}, exitBadInput, "device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAdapt(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("got exit status %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("got stderr %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestWorkspaceIsFile(t *testing.T) {
	fakeStages(t)
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws.txt")
	writeFile(t, ws, "not a workspace")
	model := writeModel(t, filepath.Join(dir, "model"))
	cfgPath := filepath.Join(dir, "adapt.yaml")
	writeFile(t, cfgPath, fmt.Sprintf("collect:\n  sources:\n    - path: %s\nfinetune:\n  base_model: %s\n", dir, model))
	want := "workspace " + ws + " is a file, not a folder"

	tests := []struct {
		name string
		args []string
	}{
		{"collect", []string{"collect", "-w", ws, dir}},
		{"clean", []string{"clean", "-w", ws}},
		{"finetune", []string{"finetune", "-w", ws, "--base-model", model}},
		{"eval", []string{"eval", "-w", ws, "--model", "tuned=" + model, "--jsonl", "j=" + cfgPath}},
		{"iterate", []string{"iterate", "-w", ws}},
		{"audit", []string{"audit", "-w", ws}},
		{"report", []string{"report", "-w", ws}},
		{"export", []string{"export", "-w", ws, "--model", model, "--out", filepath.Join(dir, "m.gguf")}},
		{"run", []string{"run", "-w", ws, "--config", cfgPath}},
		{"quickstart", []string{"quickstart", "-w", ws, "--base-model", model}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAdapt(t, tt.args...)
			if code != exitBadInput {
				t.Errorf("got exit status %d, want %d; stderr: %s", code, exitBadInput, stderr)
			}
			if !strings.Contains(stderr, want) {
				t.Errorf("got stderr %q, want it to contain %q", stderr, want)
			}
		})
	}
}

func TestOutIsFolder(t *testing.T) {
	calls := fakeStages(t)
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	writeFile(t, filepath.Join(ws, "clean", "manifest.json"), "{}")
	model := writeModel(t, filepath.Join(dir, "model"))
	outDir := filepath.Join(dir, "out")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	reportConfig := filepath.Join(dir, "report.yaml")
	writeFile(t, reportConfig, fmt.Sprintf("report:\n  out: %s\n", outDir))
	runConfig := filepath.Join(dir, "run.yaml")
	writeFile(t, runConfig, fmt.Sprintf("collect:\n  sources:\n    - path: %s\nfinetune:\n  base_model: %s\nreport:\n  out: %s\n", dir, model, outDir))

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"export flag", []string{"export", "-w", ws, "--model", model, "--out", outDir}, exitUsage,
			"--out " + outDir + " is a folder; give a file path such as " + filepath.Join(outDir, "model.gguf")},
		{"report flag", []string{"report", "-w", ws, "--out", outDir}, exitUsage,
			"--out " + outDir + " is a folder; give a file path such as " + filepath.Join(outDir, "report.html")},
		{"report config", []string{"report", "-w", ws, "--config", reportConfig}, exitBadInput,
			"report.out " + outDir + " is a folder"},
		{"run config", []string{"run", "-w", ws, "--config", runConfig}, exitBadInput,
			"report.out " + outDir + " is a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls.order = nil
			code, _, stderr := runAdapt(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("got exit status %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("got stderr %q, want it to contain %q", stderr, tt.wantStderr)
			}
			if len(calls.order) != 0 {
				t.Errorf("got stages %v run, want none", calls.order)
			}
		})
	}
}
