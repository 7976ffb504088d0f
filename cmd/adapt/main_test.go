package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/clean"
	"github.com/adapt-llm/adapt/config"
	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// runAdapt runs the adapt command line in-process and returns its exit
// status, stdout and stderr.
func runAdapt(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"adapt"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

var commandNames = []string{"collect", "clean", "finetune", "eval", "iterate", "audit", "report", "run", "quickstart"}

func TestHelpGolden(t *testing.T) {
	for _, name := range append([]string{""}, commandNames...) {
		label := name
		if label == "" {
			label = "adapt"
		}
		t.Run(label, func(t *testing.T) {
			args := []string{"--help"}
			if name != "" {
				args = []string{name, "--help"}
			}
			code, stdout, stderr := runAdapt(t, args...)
			if code != exitOK {
				t.Fatalf("got exit status %d, want 0; stderr: %s", code, stderr)
			}
			for _, section := range []string{"Exit status:", "  2    usage error", "  3    bad input"} {
				if !strings.Contains(stdout, section) {
					t.Errorf("help lacks %q:\n%s", section, stdout)
				}
			}
			if name != "" {
				for _, section := range []string{"Reads:", "Writes:"} {
					if !strings.Contains(stdout, section) {
						t.Errorf("help lacks %q:\n%s", section, stdout)
					}
				}
			}

			golden := filepath.Join("testdata", "help", label+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (run go test -update to create it): %v", err)
			}
			if stdout != string(want) {
				t.Errorf("help differs from %s (run go test -update if the change is intended)\ngot:\n%s\nwant:\n%s", golden, stdout, want)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"flag after argument", []string{"collect", "somewhere", "--domain", "legal"}, `flag --domain comes after the argument "somewhere"`},
		{"short flag after argument", []string{"collect", "somewhere", "-w", "ws"}, "flag -w comes after"},
		{"extra argument", []string{"clean", "extra"}, `unexpected argument "extra": clean takes no arguments`},
		{"flag after extra argument", []string{"report", "extra", "--out", "x.html"}, "flag --out comes after"},
		{"one run id", []string{"iterate", "only-one"}, "got one"},
		{"unknown flag", []string{"collect", "--bogus"}, "bogus"},
		{"unknown command", []string{"colect"}, `unknown command "colect"`},
		{"no command", nil, "missing command"},
		{"run without config", []string{"run"}, "run needs --config"},
		{"bad log level", []string{"--log-level", "loud", "clean"}, `invalid --log-level "loud"`},
		{"bad model spec", []string{"eval", "--model", "tuned"}, `invalid --model "tuned"`},
		{"zero quickstart steps", []string{"quickstart", "--max-steps", "0"}, "invalid --max-steps 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAdapt(t, tt.args...)
			if code != exitUsage {
				t.Errorf("got exit status %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("got stderr %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestBadInputErrors(t *testing.T) {
	dir := t.TempDir()
	emptyModel := filepath.Join(dir, "model-without-config")
	if err := os.Mkdir(emptyModel, 0o755); err != nil {
		t.Fatal(err)
	}
	badConfig := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badConfig, []byte("collect:\n  domain: legal\n  sorces: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missingSource := filepath.Join(dir, "no-such-folder")
	ws := filepath.Join(dir, "ws")

	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"missing source flag", []string{"collect", "-w", ws, "--source", missingSource}, "source " + missingSource + " not found"},
		{"missing source argument", []string{"collect", "-w", ws, missingSource}, "source " + missingSource + " not found"},
		{"model without config.json", []string{"eval", "-w", ws, "--model", "tuned=" + emptyModel}, emptyModel + " has no config.json"},
		{"base model without config.json", []string{"finetune", "-w", ws, "--base-model", emptyModel}, emptyModel + " has no config.json"},
		{"quickstart model without config.json", []string{"quickstart", "-w", ws, "--base-model", emptyModel}, emptyModel + " has no config.json"},
		{"unknown config key", []string{"clean", "-w", ws, "--config", badConfig}, badConfig + ":3: collect.sorces: unknown key"},
		{"missing config file", []string{"clean", "--config", filepath.Join(dir, "none.yaml")}, "none.yaml not found"},
		{"clean before collect", []string{"clean", "-w", ws}, "run 'adapt collect' before 'adapt clean'"},
		{"audit before collect", []string{"audit", "-w", ws}, "no collect or clean manifest"},
		{"unknown run id", []string{"iterate", "-w", ws, "a", "b"}, "run record not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAdapt(t, tt.args...)
			if code != exitBadInput {
				t.Errorf("got exit status %d, want %d; stderr: %s", code, exitBadInput, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("got stderr %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

// stageCalls records what the fake stages received.
type stageCalls struct {
	collect  config.Collect
	models   []config.Model
	taskSets []config.TaskSet
	order    []string
}

// fakeStages replaces the stage functions for the rest of the test with
// fakes that write empty manifests and record their calls.
func fakeStages(t *testing.T) *stageCalls {
	t.Helper()
	calls := &stageCalls{}
	savedCollect, savedClean, savedFinetune := collectStage, cleanStage, finetuneStage
	savedEval, savedAudit, savedReport := evalStage, auditStage, reportStage
	t.Cleanup(func() {
		collectStage, cleanStage, finetuneStage = savedCollect, savedClean, savedFinetune
		evalStage, auditStage, reportStage = savedEval, savedAudit, savedReport
	})

	manifest := func(dir string) (*corpus.Manifest, error) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte("{}"), 0o644); err != nil {
			return nil, err
		}
		return &corpus.Manifest{Counts: corpus.Counts{In: 10, Kept: 8, Rejected: 2}}, nil
	}
	collectStage = func(_ context.Context, _ *adapt, ws workspace, cfg config.Collect) (*corpus.Manifest, error) {
		calls.order = append(calls.order, "collect")
		calls.collect = cfg
		return manifest(ws.collectDir())
	}
	cleanStage = func(_ context.Context, _ *adapt, ws workspace, _ clean.Config) (*corpus.Manifest, error) {
		calls.order = append(calls.order, "clean")
		return manifest(ws.cleanDir())
	}
	finetuneStage = func(_ context.Context, _ *adapt, ws workspace, _ config.Finetune) (*finetune.Metrics, error) {
		calls.order = append(calls.order, "finetune")
		if err := os.MkdirAll(ws.tunedModelDir(), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(ws.tunedModelDir(), "config.json"), []byte("{}"), 0o644); err != nil {
			return nil, err
		}
		return &finetune.Metrics{Steps: 3, Train: []finetune.LossPoint{{Step: 1, Loss: 4}, {Step: 3, Loss: 3}}}, nil
	}
	evalStage = func(_ context.Context, _ *adapt, _ workspace, models []config.Model, taskSets []config.TaskSet, _ eval.Config) ([]*eval.Result, error) {
		calls.order = append(calls.order, "eval")
		calls.models, calls.taskSets = models, taskSets
		return []*eval.Result{{Model: "base", TaskSet: "legal-heldout", Metrics: map[string]float64{"perplexity": 30}}}, nil
	}
	auditStage = func(context.Context, *adapt, workspace) (string, error) {
		calls.order = append(calls.order, "audit")
		return "0 findings", nil
	}
	reportStage = func(_ context.Context, _ *adapt, _ workspace, out string) error {
		calls.order = append(calls.order, "report")
		return nil
	}
	return calls
}

func TestCommaInFlagValueKept(t *testing.T) {
	calls := fakeStages(t)
	source := filepath.Join(t.TempDir(), "cases,2024")
	if err := os.Mkdir(source, 0o755); err != nil {
		t.Fatal(err)
	}

	code, _, stderr := runAdapt(t, "collect", "-w", t.TempDir(), "--source", source, "--include", "*.txt,v", "--domain", "legal")
	if code != exitOK {
		t.Fatalf("got exit status %d, want 0; stderr: %s", code, stderr)
	}
	if got := len(calls.collect.Sources); got != 1 {
		t.Fatalf("got %d sources, want 1: %+v", got, calls.collect.Sources)
	}
	if got, want := calls.collect.Sources[0].Path, source; got != want {
		t.Errorf("got source path %q, want %q", got, want)
	}
	if got, want := calls.collect.Sources[0].Include, []string{"*.txt,v"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got include %q, want %q", got, want)
	}
}

func TestRunChainWithFakeStages(t *testing.T) {
	calls := fakeStages(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	if err := os.Mkdir(model, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(model, "config.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgText := fmt.Sprintf("workspace: ws\ncollect:\n  domain: legal\n  sources:\n    - path: %s\nfinetune:\n  base_model: model\n", dir)
	cfgPath := filepath.Join(dir, "adapt.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runAdapt(t, "run", "--config", cfgPath)
	if code != exitOK {
		t.Fatalf("got exit status %d, want 0; stderr: %s", code, stderr)
	}

	if got, want := calls.order, []string{"collect", "clean", "finetune", "eval", "audit", "report"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got stage order %v, want %v", got, want)
	}
	wantModels := []config.Model{{Name: "base", Dir: model}, {Name: "tuned", Dir: filepath.Join(dir, "ws", "finetune", "model")}}
	if !reflect.DeepEqual(calls.models, wantModels) {
		t.Errorf("got models %+v, want %+v", calls.models, wantModels)
	}
	wantTaskSets := []config.TaskSet{{Name: "legal-heldout", Kind: config.TaskSetCorpusHeldout, Path: filepath.Join(dir, "ws", "clean"), ValFraction: finetune.DefaultConfig().ValFraction}}
	if !reflect.DeepEqual(calls.taskSets, wantTaskSets) {
		t.Errorf("got task sets %+v, want %+v", calls.taskSets, wantTaskSets)
	}

	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	prefixes := []string{"collect   10 docs in, 8 kept, 2 rejected", "clean     10 docs in", "finetune  3 steps, train loss 4.000 -> 3.000",
		"eval      1 results: legal-heldout ppl base 30.00", "iterate   run ", "audit     0 findings", "report    ", "report: " + filepath.Join(dir, "ws", "report", "report.html")}
	if len(lines) != len(prefixes) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(prefixes), stdout)
	}
	for i, prefix := range prefixes {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d: got %q, want prefix %q", i, lines[i], prefix)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ws", "runs")); err != nil {
		t.Errorf("run record folder: %v", err)
	}

	// A later iterate without --config keeps the recorded config.
	code, stdout, stderr = runAdapt(t, "iterate", "-w", filepath.Join(dir, "ws"))
	if code != exitOK {
		t.Fatalf("iterate: got exit status %d, want 0; stderr: %s", code, stderr)
	}
	if !strings.Contains(stdout, "\nconfig: 0 ") {
		t.Errorf("iterate without --config: got diff\n%s\nwant no config change", stdout)
	}
}

func TestExitCode(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"nil", context.Background(), nil, exitOK},
		{"plain error", context.Background(), errors.New("disk full"), exitFailure},
		{"usage", context.Background(), usageErrorf("bad flag"), exitUsage},
		{"input", context.Background(), inputErrorf("missing"), exitBadInput},
		{"wrapped config error", context.Background(), fmt.Errorf("loading: %w", &config.Error{Err: config.ErrInvalid}), exitBadInput},
		{"canceled context", canceled, errors.New("stopped"), exitInterrupted},
		{"context.Canceled", context.Background(), fmt.Errorf("step: %w", context.Canceled), exitInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.ctx, tt.err); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestQuickstartBaseModelEnv(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	calls := fakeStages(t)
	t.Setenv(baseModelEnv, dir)
	t.Setenv("CI", "1")

	// The fake stages do not read the quickstart sources, but preflight
	// checks that they exist.
	for _, dir := range []string{commonLicensesDir, packageDocsDir} {
		if _, err := os.Stat(dir); err != nil {
			t.Skipf("%s is missing, so this is not a Debian system: %v", dir, err)
		}
	}
	code, stdout, stderr := runAdapt(t, "quickstart", "-w", filepath.Join(t.TempDir(), "ws"), "--max-steps", "2")
	if code != exitOK {
		t.Fatalf("got exit status %d, want 0; stderr: %s", code, stderr)
	}
	if got, want := calls.models[0].Dir, dir; got != want {
		t.Errorf("got base model %q, want %q", got, want)
	}
	if !strings.Contains(stdout, "report: ") {
		t.Errorf("stdout lacks the report path:\n%s", stdout)
	}
}
