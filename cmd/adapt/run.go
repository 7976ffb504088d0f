package main

import (
	"context"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/config"
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
			exitStatusHelp(exitOK, exitFailure, exitUsage, exitBadInput, exitInterrupted),
		Flags: []cli.Flag{
			workspaceFlag(defaultWorkspace),
			configFlag(),
			deviceFlag(),
		},
		OnUsageError: onUsageError,
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
// a typo in the config fails in a second rather than after training.
func preflight(ws workspace, cfg *config.Config) error {
	if len(cfg.Collect.Sources) == 0 {
		return inputErrorf("no sources: set collect.sources in the config")
	}
	for _, s := range cfg.Collect.Sources {
		if s.Kind != config.SourceLocal {
			continue
		}
		if err := checkExists(s.Path, "source"); err != nil {
			return err
		}
	}
	if cfg.Finetune.BaseModel == "" {
		return inputErrorf("no base model: set finetune.base_model in the config")
	}
	if err := checkModelDir(cfg.Finetune.BaseModel, "base model"); err != nil {
		return err
	}
	if err := checkReplay(cfg.Finetune); err != nil {
		return err
	}

	models, taskSets := evalPlan(ws, cfg)
	for _, m := range models {
		if m.Dir == ws.tunedModelDir() {
			continue // finetune writes it
		}
		if err := checkModelDir(m.Dir, "model "+m.Name); err != nil {
			return err
		}
	}
	for _, ts := range taskSets {
		if ts.Kind != config.TaskSetJSONL {
			continue
		}
		if err := checkExists(ts.Path, "task set "+ts.Name+" path"); err != nil {
			return err
		}
	}
	return nil
}

// runChain runs every stage in order and returns the report's path.
func (a *adapt) runChain(ctx context.Context, ws workspace, cfg *config.Config) (string, error) {
	if err := preflight(ws, cfg); err != nil {
		return "", err
	}

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

	if err := a.runIterate(ctx, ws, cfg, seconds); err != nil {
		return "", err
	}
	if err := a.runAudit(ctx, ws); err != nil {
		return "", err
	}
	path, err := a.runReport(ctx, ws, cfg.Report.Out)
	if err != nil {
		return "", err
	}
	a.out.line("report: %s", path)
	return path, nil
}
