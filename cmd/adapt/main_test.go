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
	"github.com/adapt-llm/adapt/collect"
	"github.com/adapt-llm/adapt/config"
	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
	"github.com/adapt-llm/adapt/model/gguf"
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

var commandNames = []string{"collect", "clean", "finetune", "eval", "iterate", "audit", "report", "export", "run", "quickstart"}

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
	// An empty workspace, so that each case fails on its own input rather
	// than on a missing workspace (TestMissingWorkspace covers that).
	ws := filepath.Join(dir, "ws")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}

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
		{"unknown run id", []string{"iterate", "-w", ws, "a", "b"}, `run "a" not found`},
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
	rebuild  bool
	finetune config.Finetune
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
	collectStage = func(_ context.Context, _ *adapt, ws workspace, cfg config.Collect, rebuild bool) (*corpus.Manifest, error) {
		calls.order = append(calls.order, "collect")
		calls.collect, calls.rebuild = cfg, rebuild
		return manifest(ws.collectDir())
	}
	cleanStage = func(_ context.Context, _ *adapt, ws workspace, _ clean.Config) (*corpus.Manifest, error) {
		calls.order = append(calls.order, "clean")
		return manifest(ws.cleanDir())
	}
	finetuneStage = func(_ context.Context, _ *adapt, ws workspace, cfg config.Finetune) (*finetune.Metrics, error) {
		calls.order = append(calls.order, "finetune")
		calls.finetune = cfg
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
		"eval      1 result: legal-heldout ppl base 30.00", "iterate   run ", "audit     0 findings", "report    ", "report: " + filepath.Join(dir, "ws", "report", "report.html")}
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
		{"refused collect address", context.Background(), fmt.Errorf("web source: fetching http://127.0.0.1/: %w", collect.ErrAddressRefused), exitBadInput},
		{"edgar user agent", context.Background(), fmt.Errorf("edgar source: %w", collect.ErrUserAgent), exitBadInput},
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

// writeFile writes text to path and fails the test on error.
func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestNewFlagUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "adapt.yaml")
	writeFile(t, cfgPath, "collect:\n  domain: legal\n")

	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"finetune device cuda", []string{"finetune", "--device", "cuda"}, `selecting compute backend "cuda": compute backend not available; this build of adapt has no CUDA backend; available: [cpu]`},
		{"eval device cuda", []string{"eval", "--device", "cuda"}, "compute backend not available"},
		{"run device cuda", []string{"run", "--config", cfgPath, "--device", "cuda"}, "compute backend not available"},
		{"quickstart device cuda", []string{"quickstart", "--device", "cuda"}, "compute backend not available"},
		{"lora rank without lora", []string{"finetune", "--lora-r", "16"}, "--lora-r 16 has no effect without LoRA"},
		{"replay without fraction", []string{"finetune", "--replay", "general.jsonl"}, "add --replay-fraction"},
		{"unknown schedule", []string{"finetune", "--lr-schedule", "step"}, `invalid --lr-schedule step: must be "cosine", "linear" or "constant"`},
		{"replay fraction of one", []string{"finetune", "--replay", "g.jsonl", "--replay-fraction", "1"}, "invalid --replay-fraction"},
		{"negative lora rank", []string{"finetune", "--lora", "--lora-r", "-1"}, "invalid --lora-r"},
		{"negative domain score", []string{"collect", "--min-domain-score", "-1", dir}, "invalid --min-domain-score"},
		{"domain score without term list", []string{"collect", "--domain", "poetry", "--min-domain-score", "1", dir}, `domain "poetry" has no built-in term list`},
		{"export without out", []string{"export"}, "missing --out FILE.gguf"},
		{"export type q4", []string{"export", "--type", "q4", "--out", "m.gguf"}, `invalid --type "q4": use f16 or f32`},
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

func TestNewConfigBadInputErrors(t *testing.T) {
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	model := filepath.Join(dir, "model")
	writeFile(t, filepath.Join(model, "config.json"), "{}")
	writeFile(t, filepath.Join(ws, "clean", "manifest.json"), "{}")

	cudaConfig := filepath.Join(dir, "cuda.yaml")
	writeFile(t, cudaConfig, "workspace: ws\ndevice: cuda\n")
	earlyConfig := filepath.Join(dir, "early.yaml")
	writeFile(t, earlyConfig, "finetune:\n  val_fraction: 0\n  early_stop_patience: 3\n")
	missingModel := filepath.Join(dir, "no-such-model")
	missingReplay := filepath.Join(dir, "no-general.jsonl")

	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"config device cuda", []string{"eval", "--config", cudaConfig}, cudaConfig + ":2: device: compute backend not available: \"cuda\"; this build of adapt has no CUDA backend; available: cpu"},
		{"early stop without validation", []string{"finetune", "--config", earlyConfig}, earlyConfig + ":3: finetune.early_stop_patience: 3 needs a validation split"},
		{"export missing model", []string{"export", "--model", missingModel, "--out", filepath.Join(dir, "m.gguf")}, "model folder " + missingModel + " not found"},
		{"export default model missing", []string{"export", "-w", ws, "--out", filepath.Join(dir, "m.gguf")}, "model folder " + filepath.Join(ws, "finetune", "model") + " not found"},
		{"missing replay text", []string{"finetune", "-w", ws, "--base-model", model, "--replay", missingReplay, "--replay-fraction", "0.2"}, "replay text " + missingReplay + " not found"},
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

func TestFinetuneFlagsOverrideConfig(t *testing.T) {
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	model := filepath.Join(dir, "model")
	writeFile(t, filepath.Join(model, "config.json"), "{}")
	writeFile(t, filepath.Join(ws, "clean", "manifest.json"), "{}")
	writeFile(t, filepath.Join(dir, "a.jsonl"), `{"text": "a"}`+"\n")
	writeFile(t, filepath.Join(dir, "b.jsonl"), `{"text": "b"}`+"\n")
	cfgPath := filepath.Join(dir, "adapt.yaml")
	writeFile(t, cfgPath, "device: cpu\nfinetune:\n  base_model: model\n  lora:\n    enabled: true\n    r: 4\n    alpha: 16\n  lr_schedule: cosine\n  replay:\n    path: a.jsonl\n    fraction: 0.1\n")

	tests := []struct {
		name       string
		flags      []string
		wantLoRA   *finetune.LoRAConfig
		wantSched  string
		wantReplay finetune.ReplayConfig
	}{
		{"config only", nil, &finetune.LoRAConfig{Enabled: true, R: 4, Alpha: 16}, "cosine", finetune.ReplayConfig{Path: filepath.Join(dir, "a.jsonl"), Fraction: 0.1}},
		{"every flag",
			[]string{"--lora-r", "16", "--lr-schedule", "linear", "--replay", filepath.Join(dir, "b.jsonl"), "--replay-fraction", "0.3", "--device", "cpu"},
			&finetune.LoRAConfig{Enabled: true, R: 16, Alpha: 16}, "linear", finetune.ReplayConfig{Path: filepath.Join(dir, "b.jsonl"), Fraction: 0.3}},
		{"lora off", []string{"--lora=false"}, &finetune.LoRAConfig{Enabled: false, R: 4, Alpha: 16}, "cosine", finetune.ReplayConfig{Path: filepath.Join(dir, "a.jsonl"), Fraction: 0.1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := fakeStages(t)
			args := append([]string{"finetune", "-w", ws, "--config", cfgPath}, tt.flags...)
			code, _, stderr := runAdapt(t, args...)
			if code != exitOK {
				t.Fatalf("got exit status %d, want 0; stderr: %s", code, stderr)
			}
			got := calls.finetune
			if !reflect.DeepEqual(got.LoRA, tt.wantLoRA) {
				t.Errorf("got LoRA %+v, want %+v", got.LoRA, tt.wantLoRA)
			}
			if got.LRSchedule != tt.wantSched {
				t.Errorf("got lr schedule %q, want %q", got.LRSchedule, tt.wantSched)
			}
			if got.Replay != tt.wantReplay {
				t.Errorf("got replay %+v, want %+v", got.Replay, tt.wantReplay)
			}
		})
	}
}

func TestFinetuneLoRAFlagWithoutConfig(t *testing.T) {
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	model := filepath.Join(dir, "model")
	writeFile(t, filepath.Join(model, "config.json"), "{}")
	writeFile(t, filepath.Join(ws, "clean", "manifest.json"), "{}")
	calls := fakeStages(t)

	code, _, stderr := runAdapt(t, "finetune", "-w", ws, "--base-model", model, "--lora", "--lora-r", "32")
	if code != exitOK {
		t.Fatalf("got exit status %d, want 0; stderr: %s", code, stderr)
	}
	if got, want := calls.finetune.LoRA, (&finetune.LoRAConfig{Enabled: true, R: 32}); !reflect.DeepEqual(got, want) {
		t.Errorf("got LoRA %+v, want %+v", got, want)
	}
}

func TestCollectFlagsOverrideConfig(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "adapt.yaml")
	writeFile(t, cfgPath, "collect:\n  domain: medical\n  min_domain_score: 0.5\n  sources:\n    - path: .\n      text_column: abstract\n")

	tests := []struct {
		name        string
		flags       []string
		wantDomain  string
		wantScore   float64
		wantRebuild bool
	}{
		{"config only", nil, "medical", 0.5, false},
		{"flags", []string{"--domain", "legal", "--min-domain-score", "2", "--rebuild"}, "legal", 2, true},
		{"filter off", []string{"--min-domain-score", "0"}, "medical", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := fakeStages(t)
			args := append([]string{"collect", "-w", filepath.Join(t.TempDir(), "ws"), "--config", cfgPath}, tt.flags...)
			code, _, stderr := runAdapt(t, args...)
			if code != exitOK {
				t.Fatalf("got exit status %d, want 0; stderr: %s", code, stderr)
			}
			if calls.collect.Domain != tt.wantDomain {
				t.Errorf("got domain %q, want %q", calls.collect.Domain, tt.wantDomain)
			}
			if calls.collect.MinDomainScore != tt.wantScore {
				t.Errorf("got min domain score %g, want %g", calls.collect.MinDomainScore, tt.wantScore)
			}
			if calls.rebuild != tt.wantRebuild {
				t.Errorf("got rebuild %v, want %v", calls.rebuild, tt.wantRebuild)
			}
			if got := calls.collect.Sources[0].TextColumn; got != "abstract" {
				t.Errorf("got text column %q, want %q", got, "abstract")
			}
		})
	}
}

func TestExportDefaults(t *testing.T) {
	ws := filepath.Join(t.TempDir(), "ws")
	writeFile(t, filepath.Join(ws, "finetune", "model", "config.json"), "{}")
	out := filepath.Join(t.TempDir(), "tuned.gguf")

	saved := exportStage
	t.Cleanup(func() { exportStage = saved })
	var gotDir string
	var gotType gguf.GGMLType
	exportStage = func(modelDir, outPath string, typ gguf.GGMLType) error {
		gotDir, gotType = modelDir, typ
		return os.WriteFile(outPath, []byte("GGUF"), 0o644)
	}

	tests := []struct {
		name     string
		flags    []string
		wantType gguf.GGMLType
	}{
		{"default type", nil, gguf.GGMLTypeF16},
		{"f32", []string{"--type", "F32"}, gguf.GGMLTypeF32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"export", "-w", ws, "--out", out}, tt.flags...)
			code, stdout, stderr := runAdapt(t, args...)
			if code != exitOK {
				t.Fatalf("got exit status %d, want 0; stderr: %s", code, stderr)
			}
			if want := filepath.Join(ws, "finetune", "model"); gotDir != want {
				t.Errorf("got model folder %q, want %q", gotDir, want)
			}
			if gotType != tt.wantType {
				t.Errorf("got type %v, want %v", gotType, tt.wantType)
			}
			if !strings.HasPrefix(stdout, "export    ") || !strings.Contains(stdout, out) {
				t.Errorf("got stdout %q, want an export line naming %s", stdout, out)
			}
		})
	}
}

func TestExportFailureLeavesNoFile(t *testing.T) {
	model := t.TempDir()
	writeFile(t, filepath.Join(model, "config.json"), "{}")
	outDir := t.TempDir()
	out := filepath.Join(outDir, "broken.gguf")

	// The model folder has no weights, so gguf.Export must fail.
	code, _, stderr := runAdapt(t, "export", "--model", model, "--out", out)
	if code == exitOK {
		t.Fatalf("got exit status 0, want an error; stderr: %s", stderr)
	}
	entries, err := os.ReadDir(outDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("got %s left in the output folder after a failed export, want nothing", e.Name())
	}
}
