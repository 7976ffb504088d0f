package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/config"
	"github.com/adapt-llm/adapt/finetune"
)

func (a *adapt) finetuneCommand() *cli.Command {
	return &cli.Command{
		Name:  "finetune",
		Usage: "train the base model further on the cleaned documents",
		Description: "Packs the cleaned documents into sequences, trains the base model with AdamW and\n" +
			"writes the result as a Hugging Face model folder, with checkpoints to resume from.\n\n" +
			"Reads:  WORKSPACE/clean/ (shards and manifest.json), the base model folder, --config\n" +
			"Writes: WORKSPACE/finetune/model/, WORKSPACE/finetune/metrics.json,\n" +
			"        WORKSPACE/finetune/checkpoints/\n\n" +
			exitStatusHelp(exitOK, exitFailure, exitUsage, exitBadInput, exitInterrupted),
		Flags: []cli.Flag{
			workspaceFlag(defaultWorkspace),
			configFlag(),
			&cli.PathFlag{Name: "base-model", Usage: "Hugging Face model folder to start from (overrides finetune.base_model)"},
			&cli.IntFlag{Name: "max-steps", Usage: "number of optimizer steps (overrides finetune.max_steps; 0 means one pass over the training split)"},
		},
		OnUsageError: onUsageError,
		Action:       a.finetuneAction,
	}
}

func (a *adapt) finetuneAction(c *cli.Context) error {
	if _, err := checkArgs(c, 0); err != nil {
		return err
	}
	cfg, ws, err := loadConfig(c)
	if err != nil {
		return err
	}
	if c.IsSet("base-model") {
		cfg.Finetune.BaseModel = c.Path("base-model")
	}
	if c.IsSet("max-steps") {
		cfg.Finetune.MaxSteps = c.Int("max-steps")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	_, err = a.runFinetune(c.Context, ws, cfg.Finetune)
	return err
}

// runFinetune checks the inputs, runs the finetune stage and prints its
// summary line.
func (a *adapt) runFinetune(ctx context.Context, ws workspace, cfg config.Finetune) (*finetune.Metrics, error) {
	if cfg.BaseModel == "" {
		return nil, usageErrorf("no base model: give --base-model or finetune.base_model in --config")
	}
	if err := checkModelDir(cfg.BaseModel, "base model"); err != nil {
		return nil, err
	}
	if err := checkStageOutput(ws.cleanDir(), "clean", "finetune"); err != nil {
		return nil, err
	}

	start := time.Now()
	m, err := finetuneStage(ctx, a, ws, cfg)
	if err != nil {
		return nil, err
	}
	a.out.stage("finetune", finetuneSummary(m), time.Since(start))
	return m, nil
}

// finetuneSummary formats the step count and the first and last losses.
func finetuneSummary(m *finetune.Metrics) string {
	s := fmt.Sprintf("%d steps", m.Steps)
	if n := len(m.Train); n > 0 {
		s += fmt.Sprintf(", train loss %.3f -> %.3f", m.Train[0].Loss, m.Train[n-1].Loss)
	}
	switch n := len(m.Val); {
	case n == 1:
		s += fmt.Sprintf(", val loss %.3f", m.Val[0].Loss)
	case n > 1:
		s += fmt.Sprintf(", val loss %.3f -> %.3f", m.Val[0].Loss, m.Val[n-1].Loss)
	}
	return s
}

// finetuneStage runs finetune.Run. Tests replace it.
var finetuneStage = func(ctx context.Context, a *adapt, ws workspace, cfg config.Finetune) (*finetune.Metrics, error) {
	update, finish := a.progress("finetune")
	defer finish()
	return finetune.Run(ctx, finetune.Options{
		DataDir:     ws.cleanDir(),
		BaseModel:   cfg.BaseModel,
		OutDir:      ws.finetuneDir(),
		Config:      cfg.Config,
		Logger:      a.log,
		Progress:    func(step, total int) { update(int64(step), int64(total)) },
		ToolVersion: version,
	})
}
