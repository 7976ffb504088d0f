package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/config"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/iterate"
)

func (a *adapt) runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run every stage from a YAML config",
		Description: "Runs collect, clean, finetune, eval, iterate, audit and report in order, with the\n" +
			"settings of --config (see examples/adapt.yaml), and prints one line per stage.\n" +
			"It checks that the sources, the base model and the task set files exist before\n" +
			"the first stage starts.\n\n" +
			"Reads:  --config and the files it names (sources, base model, task sets)\n" +
			"Writes: every stage's output under WORKSPACE (collect/, clean/, finetune/, eval/,\n" +
			"        runs/, audit/) and the report (default WORKSPACE/report/report.html)\n\n" +
			exitStatusHelp(exitOK, exitFailure, exitUsage, exitBadInput, exitRegression, exitBusy, exitInterrupted),
		Flags: []cli.Flag{
			workspaceFlag(defaultWorkspace),
			configFlag(),
			deviceFlag(true),
		},
		OnUsageError: a.onUsageError,
		Action:       a.runAction,
	}
}

func (a *adapt) runAction(c *cli.Context) error {
	if _, err := checkArgs(c, 0); err != nil {
		return err
	}
	if c.Path("config") == "" {
		return usageErrorf("run needs --config FILE (see examples/adapt.yaml)")
	}
	cfg, ws, err := loadConfig(c)
	if err != nil {
		return err
	}
	if cfg.Device, err = selectDevice(c, cfg.Device); err != nil {
		return err
	}
	_, err = a.runChain(c.Context, ws, cfg)
	return err
}

// preflight checks every input the chain needs before the first stage, so
// a typo in the config fails in a second rather than after training. It
// returns every problem it finds in one error.
func (a *adapt) preflight(ws workspace, cfg *config.Config) error {
	var errs problems
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	if len(cfg.Collect.Sources) == 0 {
		check(inputErrorf("no sources: set collect.sources in the config"))
	}
	for _, s := range cfg.Collect.Sources {
		if s.Kind == config.SourceLocal {
			check(checkExists(s.Path, "source"))
		}
	}
	if cfg.Finetune.BaseModel == "" {
		check(inputErrorf("no base model: set finetune.base_model in the config"))
	} else {
		check(checkModelDir(cfg.Finetune.BaseModel, "base model"))
	}
	check(checkReplay(cfg.Finetune))

	models, taskSets := a.evalPlan(ws, cfg)
	for _, m := range models {
		// finetune writes the tuned model, and the base model is checked above.
		if m.Dir == ws.tunedModelDir() || m.Dir == cfg.Finetune.BaseModel {
			continue
		}
		check(checkModelDir(m.Dir, "model "+m.Name))
	}
	for _, ts := range taskSets {
		if ts.Kind == config.TaskSetJSONL {
			check(checkExists(ts.Path, "task set "+ts.Name+" path"))
		}
	}

	check(checkOutFile(cfg.Report.Out, "report.out", "report.html"))
	for _, err := range checkGateKeys(cfg.Iterate.Gates, models, taskSets) {
		check(err)
	}
	if cfg.Iterate.Baseline != "" {
		if _, err := loadRun(ws, cfg.Iterate.Baseline); err != nil {
			check(inputErrorf("iterate.baseline: %v", err))
		}
	}

	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errs
}

// problems is the errors that one check found. Error lists them one per
// line, and errors.Is and errors.As see each of them.
type problems []error

func (p problems) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems in the inputs:", len(p))
	for _, err := range p {
		b.WriteString("\n  ")
		b.WriteString(err.Error())
	}
	return b.String()
}

func (p problems) Unwrap() []error { return p }

// runChain runs every stage in order and returns the report's path.
func (a *adapt) runChain(ctx context.Context, ws workspace, cfg *config.Config) (string, error) {
	if err := a.preflight(ws, cfg); err != nil {
		return "", err
	}
	// Hold the workspace lock for the whole chain; the stages take it
	// again without waiting.
	release, err := a.lockWorkspace(ws)
	if err != nil {
		return "", err
	}
	defer release()

	seconds := map[string]float64{}
	timed := func(stage string, step func() error) error {
		start := time.Now()
		err := step()
		seconds[stage] = time.Since(start).Seconds()
		return err
	}

	steps := []struct {
		stage string
		run   func() error
	}{
		{"collect", func() error { _, err := a.runCollect(ctx, ws, cfg.Collect, false); return err }},
		{"clean", func() error { _, err := a.runClean(ctx, ws, cfg.Clean); return err }},
		{"finetune", func() error { _, err := a.runFinetune(ctx, ws, cfg.Finetune); return err }},
		{"eval", func() error { _, err := a.runEval(ctx, ws, cfg); return err }},
	}
	for _, step := range steps {
		if err := timed(step.stage, step.run); err != nil {
			return "", err
		}
	}

	// A failed regression gate still gets its audit and report, which show
	// what regressed; the run then exits with the gate's status.
	gateErr := a.runIterate(ctx, ws, cfg, cfg.Iterate, seconds)
	var failure *gateFailure
	if gateErr != nil && !errors.As(gateErr, &failure) {
		return "", gateErr
	}
	if err := a.runAudit(ctx, ws); err != nil {
		return "", err
	}
	path, err := a.runReport(ctx, ws, cfg.Report.Out)
	if err != nil {
		return "", err
	}
	a.out.line("report: %s", path)
	return path, gateErr
}

// checkGateKeys returns an error for each gate metric (or relative_to
// metric) that the planned models and task sets will not produce, so that
// a typo fails before training rather than after it.
func checkGateKeys(gates []iterate.Gate, models []config.Model, taskSets []config.TaskSet) []error {
	var modelNames, taskNames []string
	for _, m := range models {
		modelNames = append(modelNames, m.Name)
	}
	for _, ts := range taskSets {
		taskNames = append(taskNames, ts.Name)
	}
	known := func(key string) bool {
		parts := strings.Split(key, "/")
		switch {
		case len(parts) == 2 && parts[0] == "finetune":
			return slices.Contains(iterate.FinetuneMetricNames, parts[1])
		case len(parts) == 3:
			return slices.Contains(modelNames, parts[0]) && slices.Contains(taskNames, parts[1]) &&
				slices.Contains(eval.PerplexityMetricNames, parts[2])
		}
		return false
	}
	var errs []error
	for i, g := range gates {
		for _, key := range []string{g.Metric, g.RelativeTo} {
			if key == "" || known(key) {
				continue
			}
			errs = append(errs, inputErrorf("iterate.gates[%d]: metric %q is not one this run produces; use <model>/<task_set>/<metric> with model %s, task set %s and metric %s, or finetune/%s",
				i, key, strings.Join(modelNames, " or "), strings.Join(taskNames, " or "),
				strings.Join(eval.PerplexityMetricNames, " or "), strings.Join(iterate.FinetuneMetricNames, " or ")))
		}
	}
	return errs
}
