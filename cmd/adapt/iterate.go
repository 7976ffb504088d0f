package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/iterate"
)

func (a *adapt) iterateCommand() *cli.Command {
	return &cli.Command{
		Name:      "iterate",
		Usage:     "record the workspace as a run, or compare two runs",
		ArgsUsage: "[RUN_A RUN_B]",
		Description: "Without arguments, records the current stage outputs of the workspace (inputs' hashes,\n" +
			"counts, timings, eval metrics, the config) as a new run whose parent is the newest run,\n" +
			"and prints what changed since the parent. With two run ids, prints what changed from\n" +
			"RUN_A to RUN_B and records nothing.\n\n" +
			"Reads:  WORKSPACE/*/manifest.json, WORKSPACE/finetune/, WORKSPACE/eval/, WORKSPACE/runs/, --config\n" +
			"        (without --config the new run keeps the config of the newest run)\n" +
			"Writes: WORKSPACE/runs/<id>/run.json (only without arguments)\n\n" +
			exitStatusHelp(exitOK, exitFailure, exitUsage, exitBadInput, exitBusy, exitInterrupted),
		Flags: []cli.Flag{
			workspaceFlag(defaultWorkspace),
			configFlag(),
		},
		OnUsageError: a.onUsageError,
		Action:       a.iterateAction,
	}
}

func (a *adapt) iterateAction(c *cli.Context) error {
	args, err := checkArgs(c, 2)
	if err != nil {
		return err
	}
	if len(args) == 1 {
		return usageErrorf("iterate takes no run ids or two (RUN_A RUN_B), got one: %q", args[0])
	}
	cfg, ws, err := loadConfig(c)
	if err != nil {
		return err
	}
	if err := checkWorkspace(ws); err != nil {
		return err
	}
	if len(args) == 2 {
		return compareRuns(a, ws, args[0], args[1])
	}

	// Without --config, the stage outputs were most likely made with the
	// config of the newest run, so record that one rather than the defaults,
	// which would show up as a spurious config change.
	var runConfig any = cfg
	if c.Path("config") == "" {
		runConfig = nil
		latest, err := iterate.Latest(string(ws))
		switch {
		case err == nil:
			runConfig = latest.Config
		case !errors.Is(err, iterate.ErrNoRuns):
			return err
		}
	}
	return a.runIterate(c.Context, ws, runConfig, nil)
}

// runIterate records a run with the config runConfig (nil for none) and
// prints its id, then what changed since its parent. seconds holds stage
// wall times measured by the caller, or nil.
func (a *adapt) runIterate(ctx context.Context, ws workspace, runConfig any, seconds map[string]float64) error {
	if err := ctx.Err(); err != nil {
		return err
	}

	release, err := a.lockWorkspace(ws)
	if err != nil {
		return err
	}
	defer release()

	start := time.Now()
	run, err := iterate.Record(string(ws), iterate.RecordInput{
		ToolVersion: version,
		Config:      runConfig,
		Seconds:     seconds,
		Logger:      a.log,
	})
	if err != nil {
		return fmt.Errorf("recording the run: %w", err)
	}
	summary := "run " + run.ID
	if run.Parent == "" {
		summary += " (first run in this workspace)"
	} else {
		summary += " (parent " + run.Parent + ")"
	}
	a.out.stage("iterate", summary, time.Since(start))

	if run.Parent == "" {
		return nil
	}
	parent, err := iterate.Load(string(ws), run.Parent)
	if err != nil {
		return err
	}
	return writeDiff(a, parent, run)
}

// compareRuns prints what changed from run idA to run idB.
func compareRuns(a *adapt, ws workspace, idA, idB string) error {
	runA, err := iterate.Load(string(ws), idA)
	if err != nil {
		return err
	}
	runB, err := iterate.Load(string(ws), idB)
	if err != nil {
		return err
	}
	return writeDiff(a, runA, runB)
}

func writeDiff(a *adapt, old, new *iterate.Run) error {
	if err := iterate.Compare(old, new).Write(a.stdout); err != nil {
		return fmt.Errorf("writing the run diff: %w", err)
	}
	return nil
}
