package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/compliance"
)

func (a *adapt) auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "check the corpora for PII, unknown licenses and manifest problems",
		Description: "Scans the collected and the cleaned documents for personal data (before redaction,\n" +
			"redacted, and residual after cleaning), counts documents per source and license, and\n" +
			"checks every shard against its manifest's hash and row count.\n\n" +
			"Reads:  WORKSPACE/collect/, WORKSPACE/clean/ (at least one), --config\n" +
			"Writes: WORKSPACE/audit/audit.json\n\n" +
			exitStatusHelp(exitOK, exitFailure, exitUsage, exitBadInput, exitBusy, exitInterrupted),
		Flags: []cli.Flag{
			workspaceFlag(defaultWorkspace),
			configFlag(),
		},
		OnUsageError: a.onUsageError,
		Action:       a.auditAction,
	}
}

func (a *adapt) auditAction(c *cli.Context) error {
	if _, err := checkArgs(c, 0); err != nil {
		return err
	}
	_, ws, err := loadConfig(c)
	if err != nil {
		return err
	}
	return a.runAudit(c.Context, ws)
}

// runAudit runs the compliance checks and prints their summary line.
func (a *adapt) runAudit(ctx context.Context, ws workspace) error {
	if err := checkWorkspace(ws); err != nil {
		return err
	}
	release, err := a.lockWorkspace(ws)
	if err != nil {
		return err
	}
	defer release()

	start := time.Now()
	summary, err := auditStage(ctx, a, ws)
	if err != nil {
		return err
	}
	a.out.stage("audit", summary, time.Since(start))
	return nil
}

// auditStage runs compliance.Run and formats its summary. Tests replace it.
var auditStage = func(ctx context.Context, a *adapt, ws workspace) (string, error) {
	update, finish := a.progress("audit")
	report, err := compliance.Run(ctx, compliance.Options{
		CollectDir:  ws.collectDir(),
		CleanDir:    ws.cleanDir(),
		OutDir:      ws.auditDir(),
		ToolVersion: version,
		Progress:    func(_ string, scanned int64) { update(scanned, -1) },
		Logger:      a.log,
	})
	finish()
	if err != nil {
		return "", err
	}
	return auditSummary(report), nil
}

// auditSummary formats the PII, license and consistency counts of report.
func auditSummary(r *compliance.Report) string {
	var parts []string
	for _, c := range []*compliance.CorpusAudit{r.Collect, r.Clean} {
		if c != nil {
			parts = append(parts, fmt.Sprintf("%s %s (%d with PII, %d unknown license; %d rejected rows with PII)",
				c.Stage, plural(c.Documents, "doc"), c.DocumentsWithPII, c.UnknownLicense, c.RejectedWithPII))
		}
	}
	parts = append(parts,
		fmt.Sprintf("PII found %d, redacted %d, residual %d", sum(r.PII.Before), sum(r.PII.Redacted), sum(r.PII.Residual)),
		plural(len(r.Problems), "problem"))
	return strings.Join(parts, ", ")
}

func sum(counts map[string]int64) int64 {
	var total int64
	for _, n := range counts {
		total += n
	}
	return total
}
