package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/config"
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
			"Regression gates (iterate.gates in the config, or --gate) are then checked on the new run's\n" +
			"metrics, keyed <model>/<task_set>/<metric> as in run.json, and any failure exits with status 4:\n" +
			"  METRIC<=NUMBER, METRIC>=NUMBER     absolute bounds\n" +
			"  METRIC<=+P%, METRIC>=-P%           change against the baseline run: --baseline, or else the\n" +
			"                                     newest earlier run that had gates checked and passed them\n" +
			"  METRIC<=OTHER+P%, METRIC>=OTHER-P% change against metric OTHER of the same run\n" +
			"With --significant (significant: true in the config) a gate fails only when the metric's\n" +
			"whole bootstrap 95% interval is past the bound.\n" +
			"For example: --gate 'tuned/legal-heldout/perplexity<=+5%'\n" +
			"             --gate 'tuned/general-heldout/perplexity<=base/general-heldout/perplexity+10%'\n\n" +
			"Reads:  WORKSPACE/*/manifest.json, WORKSPACE/finetune/, WORKSPACE/eval/, WORKSPACE/runs/, --config\n" +
			"        (without --config the new run keeps the config of the newest run, gates included)\n" +
			"Writes: WORKSPACE/runs/<id>/run.json (only without arguments)\n\n" +
			exitStatusHelp(exitOK, exitFailure, exitUsage, exitBadInput, exitRegression, exitBusy, exitInterrupted),
		Flags: []cli.Flag{
			workspaceFlag(defaultWorkspace),
			configFlag(),
			&cli.StringSliceFlag{
				Name:  "gate",
				Usage: "regression gate to check on the new run, such as 'tuned/legal-heldout/perplexity<=+5%' (repeatable; added to iterate.gates)",
			},
			&cli.BoolFlag{
				Name:  "significant",
				Usage: "make the --gate gates fail only when the metric's whole 95% confidence interval is past the bound",
			},
			&cli.StringFlag{
				Name:  "baseline",
				Usage: "run id that percentage gates compare against (default: iterate.baseline, or the newest earlier run that passed its gates)",
			},
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
		if c.IsSet("gate") || c.IsSet("baseline") || c.IsSet("significant") {
			return usageErrorf("--gate, --significant and --baseline apply to a new run; they cannot be used with two run ids")
		}
		return compareRuns(a, ws, args[0], args[1])
	}

	// Without --config, the stage outputs were most likely made with the
	// config of the newest run, so record that one rather than the defaults,
	// which would show up as a spurious config change, and keep its gates.
	var runConfig any = cfg
	if c.Path("config") == "" {
		runConfig = nil
		latest, err := iterate.Latest(string(ws))
		switch {
		case err == nil:
			runConfig = latest.Config
			if cfg.Iterate, err = inheritedIterate(latest.Config); err != nil {
				return err
			}
		case !errors.Is(err, iterate.ErrNoRuns):
			return err
		}
	}
	for _, expr := range c.StringSlice("gate") {
		g, err := iterate.ParseGate(expr)
		if err != nil {
			return usageErrorf("invalid --gate: %v", err)
		}
		g.Significant = c.Bool("significant")
		cfg.Iterate.Gates = append(cfg.Iterate.Gates, g)
	}
	if c.IsSet("baseline") {
		cfg.Iterate.Baseline = c.String("baseline")
		if len(cfg.Iterate.Gates) == 0 {
			return usageErrorf("--baseline sets what gates compare against, but no gate is set; add --gate or iterate.gates")
		}
		if _, err := loadRun(ws, cfg.Iterate.Baseline); err != nil {
			return usageErrorf("invalid --baseline: %v", err)
		}
	}
	return a.runIterate(c.Context, ws, runConfig, cfg.Iterate, nil)
}

// inheritedIterate returns the iterate settings (gates and baseline) of a
// run's recorded config, or none when it has no such section.
func inheritedIterate(runConfig any) (config.Iterate, error) {
	var recorded struct {
		Iterate config.Iterate `json:"iterate"`
	}
	if runConfig == nil {
		return recorded.Iterate, nil
	}
	data, err := json.Marshal(runConfig)
	if err != nil {
		return recorded.Iterate, err
	}
	if err := json.Unmarshal(data, &recorded); err != nil {
		return recorded.Iterate, fmt.Errorf("reading the gates of the newest run's config: %w", err)
	}
	return recorded.Iterate, nil
}

// runIterate records a run with the config runConfig (nil for none) and
// prints its id, then what changed since its parent, then the results of
// the gates in settings. seconds holds stage wall times measured by the
// caller, or nil. A failed gate returns a *gateFailure.
func (a *adapt) runIterate(ctx context.Context, ws workspace, runConfig any, settings config.Iterate, seconds map[string]float64) error {
	if err := ctx.Err(); err != nil {
		return err
	}

	release, err := a.lockWorkspace(ws)
	if err != nil {
		return err
	}
	defer release()

	// The gates are checked before the run is written, so that a gate that
	// cannot be checked (a mistyped metric, an unknown baseline) leaves no
	// record behind.
	start := time.Now()
	run, err := iterate.Record(string(ws), iterate.RecordInput{
		ToolVersion: version,
		Config:      runConfig,
		Seconds:     seconds,
		Logger:      a.log,
		Check:       func(run *iterate.Run) error { return checkGates(ws, run, settings) },
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

	if run.Parent != "" {
		parent, err := iterate.Load(string(ws), run.Parent)
		if err != nil {
			return err
		}
		if err := writeDiff(a, parent, run); err != nil {
			return err
		}
	}
	return a.printGates(run)
}

// gateFailure is a regression gate that failed. It maps to exit status 4.
type gateFailure struct {
	failed, total int
}

func (e *gateFailure) Error() string {
	return fmt.Sprintf("%d of %d regression gates failed", e.failed, e.total)
}

// checkGates applies settings.Gates to run and stores the results in
// run.Gates. The baseline is settings.Baseline when set, else the newest
// ancestor of run whose gates were checked and passed (nil when none).
func checkGates(ws workspace, run *iterate.Run, settings config.Iterate) error {
	if len(settings.Gates) == 0 {
		return nil
	}
	var baseline *iterate.Run
	var err error
	if settings.Baseline != "" {
		baseline, err = loadRun(ws, settings.Baseline)
	} else {
		baseline, err = iterate.PassingAncestor(string(ws), run)
	}
	if err != nil {
		return fmt.Errorf("loading the gates' baseline: %w", err)
	}
	run.Gates, err = iterate.CheckGates(run, baseline, settings.Gates)
	return err
}

// printGates prints one line per gate result of run, with its failures
// and notes, and returns a *gateFailure when any gate failed.
func (a *adapt) printGates(run *iterate.Run) error {
	results := run.Gates
	failed := 0
	for _, res := range results {
		status := "passed"
		if !res.Passed {
			status = "FAILED"
			failed++
		}
		line := fmt.Sprintf("gate %s: %s (value %s", res.Gate, status, formatGateNumber(res.Value))
		if res.Reference != nil {
			line += fmt.Sprintf(", reference %s from %s", formatGateNumber(*res.Reference), res.ReferenceFrom)
		}
		if limits := gateLimits(res); limits != "" {
			line += ", " + limits
		}
		a.out.line("%s)", line)
		for _, f := range res.Failures {
			a.out.line("  %s", f)
		}
		for _, n := range res.Notes {
			a.out.line("  note: %s", n)
		}
	}
	if failed > 0 {
		return &gateFailure{failed: failed, total: len(results)}
	}
	return nil
}

// compareRuns prints what changed from run idA to run idB.
func compareRuns(a *adapt, ws workspace, idA, idB string) error {
	runA, err := loadRun(ws, idA)
	if err != nil {
		return err
	}
	runB, err := loadRun(ws, idB)
	if err != nil {
		return err
	}
	return writeDiff(a, runA, runB)
}

// maxListedRuns caps the run ids that an unknown-run error lists.
const maxListedRuns = 10

// loadRun reads run id from ws. When there is no such run, the error lists
// the ids that ws has, or explains how to record the first run.
func loadRun(ws workspace, id string) (*iterate.Run, error) {
	run, err := iterate.Load(string(ws), id)
	if !errors.Is(err, iterate.ErrRunNotFound) {
		return run, err
	}

	ids, listErr := runIDs(ws)
	switch {
	case listErr != nil:
		return nil, fmt.Errorf("%w; %w", err, listErr)
	case len(ids) == 0:
		return nil, inputErrorf("run %q not found: workspace %s has no runs yet; record one with 'adapt iterate -w %s'", id, ws, ws)
	case len(ids) > maxListedRuns:
		older := len(ids) - maxListedRuns
		return nil, inputErrorf("run %q not found in workspace %s; its %d newest runs, oldest first: %s (and %d older, under %s)",
			id, ws, maxListedRuns, strings.Join(ids[older:], ", "), older, ws.path(iterate.RunsDir))
	}
	return nil, inputErrorf("run %q not found in workspace %s; its runs, oldest first: %s", id, ws, strings.Join(ids, ", "))
}

// runIDs returns the ids of the runs recorded in ws, oldest first: the
// folders under WORKSPACE/runs that contain a run record. Run ids start
// with their UTC creation time, so name order is creation order.
func runIDs(ws workspace) ([]string, error) {
	entries, err := os.ReadDir(ws.path(iterate.RunsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}

	var ids []string
	for _, entry := range entries {
		if !entry.IsDir() {
			continue
		}
		if _, err := os.Stat(ws.path(iterate.RunsDir, entry.Name(), iterate.RecordFile)); err == nil {
			ids = append(ids, entry.Name())
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func writeDiff(a *adapt, old, new *iterate.Run) error {
	if err := iterate.Compare(old, new).Write(a.stdout); err != nil {
		return fmt.Errorf("writing the run diff: %w", err)
	}
	return nil
}

// gateLimits writes the bounds that res's value was held to, such as
// "allowed <= 42 and >= 30".
func gateLimits(res iterate.GateResult) string {
	g := res.Gate
	var upper, lower []string
	if g.Max != nil {
		upper = append(upper, formatGateNumber(*g.Max))
	}
	if g.Min != nil {
		lower = append(lower, formatGateNumber(*g.Min))
	}
	if res.Reference != nil && g.MaxIncrease != nil {
		upper = append(upper, formatGateNumber(*res.Reference*(1+*g.MaxIncrease)))
	}
	if res.Reference != nil && g.MaxDecrease != nil {
		lower = append(lower, formatGateNumber(*res.Reference*(1-*g.MaxDecrease)))
	}
	var parts []string
	if len(upper) > 0 {
		parts = append(parts, "<= "+strings.Join(upper, " and <= "))
	}
	if len(lower) > 0 {
		parts = append(parts, ">= "+strings.Join(lower, " and >= "))
	}
	if len(parts) == 0 {
		return ""
	}
	return "allowed " + strings.Join(parts, ", ")
}

func formatGateNumber(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}
