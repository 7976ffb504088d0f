package main

import (
	"context"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/collect"
	"github.com/adapt-llm/adapt/config"
	"github.com/adapt-llm/adapt/corpus"
)

func (a *adapt) collectCommand() *cli.Command {
	return &cli.Command{
		Name:      "collect",
		Usage:     "gather documents from local files into Parquet shards",
		ArgsUsage: "[PATH...]",
		Description: "Reads every file under each PATH, --source and collect.sources entry of the config,\n" +
			"records its provenance and license, and writes one row per document.\n\n" +
			"Reads:  the sources (files and folders), --config\n" +
			"Writes: WORKSPACE/collect/shard-*.parquet, WORKSPACE/collect/rejected.parquet,\n" +
			"        WORKSPACE/collect/manifest.json\n\n" +
			exitStatusHelp(exitOK, exitFailure, exitUsage, exitBadInput, exitInterrupted),
		Flags: []cli.Flag{
			workspaceFlag(defaultWorkspace),
			configFlag(),
			&cli.StringSliceFlag{Name: "source", Usage: "file or folder to collect (repeatable); added to the config's sources"},
			&cli.StringSliceFlag{Name: "include", Usage: "glob a file under a --source must match, relative to the source (repeatable)"},
			&cli.StringSliceFlag{Name: "exclude", Usage: "glob of files under a --source to skip (repeatable)"},
			&cli.StringFlag{Name: "license", Usage: "SPDX license expression for --source documents whose text names no license (default \"unknown\")"},
			&cli.StringFlag{Name: "domain", Usage: "target domain written on every document (default from config, else \"general\")"},
		},
		OnUsageError: onUsageError,
		Action:       a.collectAction,
	}
}

func (a *adapt) collectAction(c *cli.Context) error {
	paths, err := checkArgs(c, -1)
	if err != nil {
		return err
	}
	cfg, ws, err := loadConfig(c)
	if err != nil {
		return err
	}

	// Flags and arguments add sources to the config's and override its
	// domain.
	for _, path := range append(c.StringSlice("source"), paths...) {
		cfg.Collect.Sources = append(cfg.Collect.Sources, config.Source{
			Kind:    config.SourceLocal,
			Path:    path,
			Include: c.StringSlice("include"),
			Exclude: c.StringSlice("exclude"),
			License: c.String("license"),
		})
	}
	if c.IsSet("domain") {
		cfg.Collect.Domain = c.String("domain")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	_, err = a.runCollect(c.Context, ws, cfg.Collect)
	return err
}

// runCollect checks the sources, runs the collect stage and prints its
// summary line.
func (a *adapt) runCollect(ctx context.Context, ws workspace, cfg config.Collect) (*corpus.Manifest, error) {
	if len(cfg.Sources) == 0 {
		return nil, usageErrorf("no sources: give a PATH, --source or collect.sources in --config")
	}
	for _, s := range cfg.Sources {
		if s.Kind != config.SourceLocal {
			continue
		}
		if err := checkExists(s.Path, "source"); err != nil {
			return nil, err
		}
	}

	start := time.Now()
	m, err := collectStage(ctx, a, ws, cfg)
	if err != nil {
		return nil, err
	}
	a.out.stage("collect", countSummary(m.Counts.In, m.Counts.Kept, m.Counts.Rejected), time.Since(start))
	return m, nil
}

// collectStage runs collect.Run. Tests replace it.
var collectStage = func(ctx context.Context, a *adapt, ws workspace, cfg config.Collect) (*corpus.Manifest, error) {
	opts := collect.Options{
		Sources:     cfg.Sources,
		Domain:      cfg.Domain,
		OutDir:      ws.collectDir(),
		ShardRows:   cfg.ShardRows,
		Logger:      a.log,
		ToolVersion: version,
	}

	update, finish := a.progress("collect")
	defer finish()
	opts.Progress = update
	return collect.Run(ctx, opts)
}
