package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/clean"
	"github.com/adapt-llm/adapt/corpus"
)

func (a *adapt) cleanCommand() *cli.Command {
	return &cli.Command{
		Name:  "clean",
		Usage: "filter, deduplicate and redact the collected documents",
		Description: "Runs the filter chain (encoding repair, normalization, language ID, quality rules,\n" +
			"exact and near-duplicate removal, PII redaction) over the collect output.\n" +
			"Terminology normalization, which rewrites text by expanding domain abbreviations (\"MI\" in a\n" +
			"medical document) and replacing synonyms with a preferred term, is off by default; turn it on\n" +
			"with clean.terminology: true in --config (clean.terminology_file adds your own term maps).\n\n" +
			"Reads:  WORKSPACE/collect/ (shards and manifest.json), --config\n" +
			"Writes: WORKSPACE/clean/shard-*.parquet, WORKSPACE/clean/rejected.parquet,\n" +
			"        WORKSPACE/clean/manifest.json\n\n" +
			exitStatusHelp(exitOK, exitFailure, exitUsage, exitBadInput, exitBusy, exitInterrupted),
		Flags: []cli.Flag{
			workspaceFlag(defaultWorkspace),
			configFlag(),
		},
		OnUsageError: a.onUsageError,
		Action:       a.cleanAction,
	}
}

func (a *adapt) cleanAction(c *cli.Context) error {
	if _, err := checkArgs(c, 0); err != nil {
		return err
	}
	cfg, ws, err := loadConfig(c)
	if err != nil {
		return err
	}
	_, err = a.runClean(c.Context, ws, cfg.Clean)
	return err
}

// runClean runs the clean stage on the collect output and prints its
// summary line.
func (a *adapt) runClean(ctx context.Context, ws workspace, cfg clean.Config) (*corpus.Manifest, error) {
	if err := checkWorkspace(ws); err != nil {
		return nil, err
	}
	if err := checkStageOutput(ws.collectDir(), "collect", "clean"); err != nil {
		return nil, err
	}

	release, err := a.lockWorkspace(ws)
	if err != nil {
		return nil, err
	}
	defer release()

	start := time.Now()
	m, err := cleanStage(ctx, a, ws, cfg)
	if err != nil && m != nil {
		// Everything was rejected: the output holds the reasons.
		a.out.stage("clean", countSummary(m.Counts.In, m.Counts.Kept, m.Counts.Rejected), time.Since(start))
		return nil, fmt.Errorf("%w; each document's reason is in %s", err, ws.path("clean", corpus.RejectedName))
	}
	if err != nil {
		return nil, err
	}
	a.out.stage("clean", countSummary(m.Counts.In, m.Counts.Kept, m.Counts.Rejected), time.Since(start))
	return m, nil
}

// cleanStage runs clean.Run. Tests replace it.
var cleanStage = func(ctx context.Context, a *adapt, ws workspace, cfg clean.Config) (*corpus.Manifest, error) {
	update, finish := a.progress("clean")
	defer finish()
	return clean.Run(ctx, clean.Options{
		InDir:       ws.collectDir(),
		OutDir:      ws.cleanDir(),
		Config:      cfg,
		Logger:      a.log,
		Progress:    update,
		ToolVersion: version,
	})
}
