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
			"writes the result as a Hugging Face model folder, with checkpoints to resume from.\n" +
			"With --lora (or finetune.lora.enabled) it trains low-rank adapters on frozen base weights\n" +
			"and writes them as a PEFT folder, WORKSPACE/finetune/adapter/, next to the merged model in\n" +
			"WORKSPACE/finetune/model/. A later run without LoRA removes WORKSPACE/finetune/adapter/,\n" +
			"because that adapter would no longer match the model. With --replay it mixes general text\n" +
			"into every batch to limit forgetting. examples/adapt.yaml shows the keys of these settings.\n\n" +
			"Reads:  WORKSPACE/clean/ (shards and manifest.json), the base model folder, --config,\n" +
			"        the --replay text\n" +
			"Writes: WORKSPACE/finetune/model/, WORKSPACE/finetune/metrics.json,\n" +
			"        WORKSPACE/finetune/checkpoints/ (removed when the run completes), WORKSPACE/finetune/adapter/ (LoRA only)\n\n" +
			exitStatusHelp(exitOK, exitFailure, exitUsage, exitBadInput, exitBusy, exitInterrupted),
		Flags: []cli.Flag{
			workspaceFlag(defaultWorkspace),
			configFlag(),
			&cli.PathFlag{Name: "base-model", Usage: "Hugging Face model folder to start from (overrides finetune.base_model)"},
			&cli.IntFlag{Name: "max-steps", Usage: "number of optimizer steps (overrides finetune.max_steps; 0 means one pass over the training split)"},
			&cli.BoolFlag{Name: "lora", Usage: "train LoRA adapters on frozen base weights instead of every weight (overrides finetune.lora.enabled; --lora=false trains every weight)"},
			&cli.IntFlag{Name: "lora-r", Usage: "rank of each LoRA adapter, with LoRA on (overrides finetune.lora.r; 0 means 8)"},
			&cli.StringFlag{Name: "lr-schedule", Usage: "learning-rate decay after warm-up: cosine, linear or constant (overrides finetune.lr_schedule; default cosine)"},
			&cli.PathFlag{Name: "replay", Usage: "general text mixed into training, a JSON Lines file of {\"text\": ...} lines or a folder of document shards (overrides finetune.replay.path)"},
			&cli.Float64Flag{Name: "replay-fraction", Usage: "share of training sequences taken from --replay, in [0, 1) (overrides finetune.replay.fraction)"},
			deviceFlag(true),
		},
		OnUsageError: a.onUsageError,
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
	if err := applyFinetuneFlags(c, &cfg.Finetune); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return flagError(c, err, finetuneFlagKeys)
	}
	if cfg.Device, err = selectDevice(c, cfg.Device); err != nil {
		return err
	}

	_, err = a.runFinetune(c.Context, ws, cfg.Finetune)
	return loraFlagError(c, err)
}

// finetuneFlagKeys maps the config keys that finetune flags set to the
// flags, so that an invalid flag value is reported as a usage error.
var finetuneFlagKeys = map[string]string{
	"finetune.base_model":      "base-model",
	"finetune.max_steps":       "max-steps",
	"finetune.lora.r":          "lora-r",
	"finetune.lr_schedule":     "lr-schedule",
	"finetune.replay.path":     "replay",
	"finetune.replay.fraction": "replay-fraction",
}

// applyFinetuneFlags copies the LoRA, schedule and replay flags that are
// set into cfg.
func applyFinetuneFlags(c *cli.Context, cfg *config.Finetune) error {
	// Copy the LoRA settings so that the config's pointer stays unchanged.
	if c.IsSet("lora") || c.IsSet("lora-r") {
		lora := finetune.LoRAConfig{}
		if cfg.LoRA != nil {
			lora = *cfg.LoRA
		}
		if c.IsSet("lora") {
			lora.Enabled = c.Bool("lora")
		}
		if c.IsSet("lora-r") {
			if !lora.Enabled {
				return usageErrorf("--lora-r %d has no effect without LoRA: add --lora or set finetune.lora.enabled", c.Int("lora-r"))
			}
			lora.R = c.Int("lora-r")
		}
		cfg.LoRA = &lora
	}

	if c.IsSet("lr-schedule") {
		cfg.LRSchedule = c.String("lr-schedule")
	}

	if c.IsSet("replay") {
		cfg.Replay.Path = c.Path("replay")
	}
	if c.IsSet("replay-fraction") {
		cfg.Replay.Fraction = c.Float64("replay-fraction")
	}
	if c.IsSet("replay") && cfg.Replay.Fraction == 0 {
		return usageErrorf("--replay %s mixes in nothing while the replay fraction is 0: add --replay-fraction (for example 0.1) or set finetune.replay.fraction", cfg.Replay.Path)
	}
	return nil
}

// runFinetune checks the inputs, runs the finetune stage and prints its
// summary line.
func (a *adapt) runFinetune(ctx context.Context, ws workspace, cfg config.Finetune) (*finetune.Metrics, error) {
	if cfg.BaseModel == "" {
		return nil, usageErrorf("no base model: give --base-model or finetune.base_model in --config")
	}
	if err := checkWorkspace(ws); err != nil {
		return nil, err
	}
	if err := checkModelDir(cfg.BaseModel, "base model"); err != nil {
		return nil, err
	}
	if err := checkReplay(cfg); err != nil {
		return nil, err
	}
	if err := checkLoRARank(cfg); err != nil {
		return nil, err
	}
	if err := checkStageOutput(ws.cleanDir(), "clean", "finetune"); err != nil {
		return nil, err
	}

	release, err := a.lockWorkspace(ws)
	if err != nil {
		return nil, err
	}
	defer release()

	start := time.Now()
	m, err := finetuneStage(ctx, a, ws, cfg)
	if err != nil {
		return nil, err
	}
	a.out.stage("finetune", finetuneSummary(m), time.Since(start))
	return m, nil
}

// checkReplay returns an input error when replay is on and its text is
// missing.
func checkReplay(cfg config.Finetune) error {
	if cfg.Replay.Fraction == 0 {
		return nil
	}
	return checkExists(cfg.Replay.Path, "replay text")
}

// finetuneSummary formats the step count and the first and last losses.
func finetuneSummary(m *finetune.Metrics) string {
	s := plural(m.Steps, "step")
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
