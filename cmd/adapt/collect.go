package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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
			"Later runs reuse the rows of local files that are unchanged since the last output;\n" +
			"--rebuild extracts every file again. With --min-domain-score (or collect.min_domain_score)\n" +
			"it rejects documents with too few terms of the domain's built-in term list as \"off_domain\".\n\n" +
			"Reads:  the sources (files, folders, remote sources of the config), --config,\n" +
			"        WORKSPACE/collect/ of an earlier run\n" +
			"Writes: WORKSPACE/collect/shard-*.parquet, WORKSPACE/collect/rejected.parquet,\n" +
			"        WORKSPACE/collect/manifest.json\n\n" +
			exitStatusHelp(exitOK, exitFailure, exitUsage, exitBadInput, exitBusy, exitInterrupted),
		Flags: []cli.Flag{
			workspaceFlag(defaultWorkspace),
			configFlag(),
			&cli.StringSliceFlag{Name: "source", Usage: "file or folder to collect (repeatable); added to the config's sources"},
			&cli.StringSliceFlag{Name: "include", Usage: "glob a file under a --source must match, relative to the source (repeatable: give it once per pattern, because a comma is part of the pattern)"},
			&cli.StringSliceFlag{Name: "exclude", Usage: "glob of files under a --source to skip (repeatable)"},
			&cli.StringFlag{Name: "license", Usage: "SPDX license expression for --source documents whose text names no license (default \"unknown\")"},
			&cli.StringFlag{Name: "domain", Usage: "target domain written on every document (default from config, else \"general\")"},
			&cli.Float64Flag{Name: "min-domain-score", Usage: "minimum domain term matches per 100 tokens a document needs to be kept, for a domain with a built-in term list (legal, medical, financial) (overrides collect.min_domain_score; 0 turns the filter off)"},
			&cli.BoolFlag{Name: "rebuild", Usage: "extract every local file again instead of reusing the rows of unchanged files from the last run"},
		},
		OnUsageError: a.onUsageError,
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
	firstFlagSource := len(cfg.Collect.Sources)
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
	if c.IsSet("min-domain-score") {
		cfg.Collect.MinDomainScore = c.Float64("min-domain-score")
	}
	if err := cfg.Validate(); err != nil {
		err = flagError(c, err, map[string]string{"collect.min_domain_score": "min-domain-score", "collect.domain": "domain"})
		return sourceFlagError(err, firstFlagSource)
	}

	_, err = a.runCollect(c.Context, ws, cfg.Collect, c.Bool("rebuild"))
	return err
}

// runCollect checks the sources, runs the collect stage and prints its
// summary line. With rebuild set it extracts every local file again
// instead of reusing the rows of unchanged ones.
func (a *adapt) runCollect(ctx context.Context, ws workspace, cfg config.Collect, rebuild bool) (*corpus.Manifest, error) {
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

	release, err := a.lockWorkspace(ws)
	if err != nil {
		return nil, err
	}
	defer release()

	start := time.Now()
	m, err := collectStage(ctx, a, ws, cfg, rebuild)
	if err != nil {
		return nil, err
	}
	if m.Counts.In == 0 {
		return nil, noDocumentsError(cfg.Sources)
	}
	a.out.stage("collect", countSummary(m.Counts.In, m.Counts.Kept, m.Counts.Rejected), time.Since(start))
	return m, nil
}

// noDocumentsError returns the input error of a collect run that found no
// documents. It names every source with its patterns, and when a pattern
// contains a comma it explains that a comma does not separate patterns.
func noDocumentsError(sources []config.Source) error {
	var b strings.Builder
	b.WriteString("collect found no documents in these sources:")
	comma := false
	for _, s := range sources {
		if s.Kind != config.SourceLocal {
			fmt.Fprintf(&b, "\n  %s source", s.Kind)
			if len(s.Seeds) > 0 {
				fmt.Fprintf(&b, " (seeds %s)", strings.Join(s.Seeds, " "))
			}
			continue
		}
		fmt.Fprintf(&b, "\n  %s (include %s, exclude %s)", s.Path, formatPatterns(s.Include, "every file"), formatPatterns(s.Exclude, "nothing"))
		for _, pattern := range append(append([]string(nil), s.Include...), s.Exclude...) {
			comma = comma || strings.Contains(pattern, ",")
		}
	}
	if comma {
		b.WriteString("\na comma is part of a glob pattern, not a separator between patterns: repeat --include (or --exclude) once per pattern, as in --include '*.txt' --include '*.md'")
	} else {
		b.WriteString("\ncheck the paths and the include and exclude patterns; patterns match the path relative to the source")
	}
	return inputErrorf("%s", b.String())
}

// formatPatterns formats glob patterns as a quoted list, or none when
// there are none.
func formatPatterns(patterns []string, none string) string {
	if len(patterns) == 0 {
		return none
	}
	quoted := make([]string, len(patterns))
	for i, p := range patterns {
		quoted[i] = strconv.Quote(p)
	}
	return "[" + strings.Join(quoted, " ") + "]"
}

// collectStage runs collect.Run. Tests replace it.
var collectStage = func(ctx context.Context, a *adapt, ws workspace, cfg config.Collect, rebuild bool) (*corpus.Manifest, error) {
	opts := collect.Options{
		Sources:        cfg.Sources,
		Domain:         cfg.Domain,
		OutDir:         ws.collectDir(),
		ShardRows:      cfg.ShardRows,
		MinDomainScore: cfg.MinDomainScore,
		Rebuild:        rebuild,
		Logger:         a.log,
		ToolVersion:    version,
	}

	update, finish := a.progress("collect")
	defer finish()
	opts.Progress = update
	return collect.Run(ctx, opts)
}
