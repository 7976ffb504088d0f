package main

import (
	"context"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/reports"
)

func (a *adapt) reportCommand() *cli.Command {
	return &cli.Command{
		Name:  "report",
		Usage: "write a self-contained HTML report of the workspace",
		Description: "Writes one HTML file (inline SVG charts, no network access needed to view it) with\n" +
			"the counts of every stage, the training curves, the eval results and the audit.\n\n" +
			"Reads:  WORKSPACE/*/manifest.json, WORKSPACE/finetune/metrics.json, WORKSPACE/eval/,\n" +
			"        WORKSPACE/runs/, WORKSPACE/audit/audit.json, --config\n" +
			"Writes: --out (default WORKSPACE/report/report.html)\n\n" +
			exitStatusHelp(exitOK, exitFailure, exitUsage, exitBadInput, exitBusy, exitInterrupted),
		Flags: []cli.Flag{
			workspaceFlag(defaultWorkspace),
			configFlag(),
			&cli.PathFlag{Name: "out", Usage: "HTML file to write (overrides report.out)"},
		},
		OnUsageError: a.onUsageError,
		Action:       a.reportAction,
	}
}

func (a *adapt) reportAction(c *cli.Context) error {
	if _, err := checkArgs(c, 0); err != nil {
		return err
	}
	cfg, ws, err := loadConfig(c)
	if err != nil {
		return err
	}
	out, setting := cfg.Report.Out, "report.out"
	if c.IsSet("out") {
		out, setting = c.Path("out"), "--out"
	}
	if err := checkOutFile(out, setting, "report.html"); err != nil {
		return err
	}
	_, err = a.runReport(c.Context, ws, out)
	return err
}

// runReport writes the report to out (the workspace default when empty),
// prints its summary line and returns the path.
func (a *adapt) runReport(ctx context.Context, ws workspace, out string) (string, error) {
	if err := checkWorkspace(ws); err != nil {
		return "", err
	}
	if out == "" {
		out = ws.reportFile()
	}

	release, err := a.lockWorkspace(ws)
	if err != nil {
		return "", err
	}
	defer release()

	start := time.Now()
	if err := reportStage(ctx, a, ws, out); err != nil {
		return "", err
	}
	a.out.stage("report", out, time.Since(start))
	return out, nil
}

// reportStage runs reports.Write. Tests replace it.
var reportStage = func(ctx context.Context, a *adapt, ws workspace, out string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return reports.Write(string(ws), out)
}
