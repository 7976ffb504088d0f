package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/config"
	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
)

func (a *adapt) evalCommand() *cli.Command {
	return &cli.Command{
		Name:  "eval",
		Usage: "score models on held-out text",
		Description: "Scores each model on each task set (held-out perplexity) and writes one result file\n" +
			"per model and task set. Without --model or eval.models it scores \"base\" (finetune.base_model,\n" +
			"or else the base model that WORKSPACE/finetune/metrics.json records) and \"tuned\"\n" +
			"(WORKSPACE/finetune/model). Without eval.task_sets it scores the held-out split of\n" +
			"WORKSPACE/clean as <domain>-heldout, with the domain that collect recorded; --jsonl sets\n" +
			"are scored in addition to it (skipped with a warning when the split is empty).\n" +
			"A model DIR or task set path that starts with ${workspace} is inside WORKSPACE.\n" +
			"A model folder inside another workspace's finetune/ folder logs a warning, because\n" +
			"its results would land in this workspace.\n\n" +
			"Reads:  the model folders, WORKSPACE/clean/ or the task set files, --config\n" +
			"Writes: WORKSPACE/eval/<model>__<task_set>.json\n\n" +
			exitStatusHelp(exitOK, exitFailure, exitUsage, exitBadInput, exitBusy, exitInterrupted),
		Flags: []cli.Flag{
			workspaceFlag(defaultWorkspace),
			configFlag(),
			&cli.StringSliceFlag{Name: "model", Usage: "model to score as NAME=DIR (repeatable); replaces eval.models"},
			&cli.StringSliceFlag{Name: "jsonl", Usage: "JSON Lines task set as NAME=FILE, one {\"text\": ...} per line (repeatable); added to eval.task_sets"},
			deviceFlag(true),
		},
		OnUsageError: a.onUsageError,
		Action:       a.evalAction,
	}
}

func (a *adapt) evalAction(c *cli.Context) error {
	if _, err := checkArgs(c, 0); err != nil {
		return err
	}
	cfg, ws, err := loadConfig(c)
	if err != nil {
		return err
	}

	if c.IsSet("model") {
		cfg.Eval.Models = nil
		for _, spec := range c.StringSlice("model") {
			name, dir, err := splitNameValue("--model", "NAME=DIR", spec)
			if err != nil {
				return err
			}
			cfg.Eval.Models = append(cfg.Eval.Models, config.Model{Name: name, Dir: dir})
		}
	}
	// --jsonl adds to the task sets. Without eval.task_sets that includes
	// the default held-out split, when the workspace has a clean corpus.
	if c.IsSet("jsonl") && len(cfg.Eval.TaskSets) == 0 {
		if _, err := os.Stat(ws.path("clean", corpus.ManifestName)); err == nil {
			ts := defaultTaskSet(ws, cfg)
			ts.Optional = true
			cfg.Eval.TaskSets = append(cfg.Eval.TaskSets, ts)
		}
	}
	firstFlagTaskSet := len(cfg.Eval.TaskSets)
	for _, spec := range c.StringSlice("jsonl") {
		name, path, err := splitNameValue("--jsonl", "NAME=FILE", spec)
		if err != nil {
			return err
		}
		cfg.Eval.TaskSets = append(cfg.Eval.TaskSets, config.TaskSet{Name: name, Kind: config.TaskSetJSONL, Path: path})
	}
	if err := cfg.Validate(); err != nil {
		return evalFlagError(c, err, firstFlagTaskSet)
	}
	if cfg.Device, err = selectDevice(c, cfg.Device); err != nil {
		return err
	}

	_, err = a.runEval(c.Context, ws, cfg)
	return err
}

// evalFlagError turns a config validation error on a model into a usage
// error naming --model when --model set the models. It does the same for
// --jsonl when the error is on a task set at index first or later, because
// --jsonl appends those. It returns any other err unchanged.
func evalFlagError(c *cli.Context, err error, first int) error {
	var cerr *config.Error
	if !errors.As(err, &cerr) {
		return err
	}
	var index int
	if _, scanErr := fmt.Sscanf(cerr.Key, "eval.models[%d]", &index); scanErr == nil && c.IsSet("model") {
		return usageErrorf("invalid --model: %s", cerr.Msg)
	}
	if _, scanErr := fmt.Sscanf(cerr.Key, "eval.task_sets[%d]", &index); scanErr == nil && index >= first {
		return usageErrorf("invalid --jsonl: %s", cerr.Msg)
	}
	return err
}

// splitNameValue splits a NAME=VALUE flag value. form is the flag's form
// as its help writes it, for the error message.
func splitNameValue(flag, form, spec string) (string, string, error) {
	name, value, ok := strings.Cut(spec, "=")
	if !ok || name == "" || value == "" {
		return "", "", usageErrorf("invalid %s %q: use %s", flag, spec, form)
	}
	return name, value, nil
}

// evalPlan fills the default models and task sets of cfg.Eval.
func (a *adapt) evalPlan(ws workspace, cfg *config.Config) ([]config.Model, []config.TaskSet) {
	models := append([]config.Model(nil), cfg.Eval.Models...)
	for i := range models {
		models[i].Dir = config.ExpandWorkspace(models[i].Dir, string(ws))
	}
	if len(models) == 0 {
		base := cfg.Finetune.BaseModel
		if base == "" {
			base = a.recordedBaseModel(ws)
		}
		if base != "" {
			models = append(models, config.Model{Name: "base", Dir: base})
		}
		models = append(models, config.Model{Name: "tuned", Dir: ws.tunedModelDir()})
	}

	taskSets := append([]config.TaskSet(nil), cfg.Eval.TaskSets...)
	if len(taskSets) == 0 {
		taskSets = append(taskSets, defaultTaskSet(ws, cfg))
	}
	for i := range taskSets {
		taskSets[i].Path = config.ExpandWorkspace(taskSets[i].Path, string(ws))
		if taskSets[i].Kind != config.TaskSetCorpusHeldout {
			continue
		}
		if taskSets[i].Path == "" {
			taskSets[i].Path = ws.cleanDir()
		}
		// The held-out split must be the one finetune left out of training.
		if taskSets[i].ValFraction == 0 {
			taskSets[i].ValFraction = cfg.Finetune.ValFraction
		}
	}
	return models, taskSets
}

// defaultTaskSet is the task set eval scores when none is configured: the
// held-out split of WORKSPACE/clean, named after the collected domain.
func defaultTaskSet(ws workspace, cfg *config.Config) config.TaskSet {
	domain := recordedDomain(ws)
	if domain == "" {
		domain = cfg.Collect.Domain
	}
	return config.TaskSet{Name: domain + "-heldout", Kind: config.TaskSetCorpusHeldout}
}

// recordedBaseModel returns the base model that the workspace's last
// finetune started from, as WORKSPACE/finetune/metrics.json records it, or
// "" when there is no such record. A recorded folder that no longer exists
// is logged and gives "".
func (a *adapt) recordedBaseModel(ws workspace) string {
	m := readFinetuneMetrics(ws)
	if m == nil || m.BaseModel == "" {
		return ""
	}
	if info, err := os.Stat(m.BaseModel); err != nil || !info.IsDir() {
		a.log.Warn("not scoring the base model: the folder that finetune recorded is missing; set finetune.base_model or pass --model base=DIR",
			"base_model", m.BaseModel, "metrics", ws.path("finetune", finetune.MetricsFileName))
		return ""
	}
	return m.BaseModel
}

// readFinetuneMetrics returns WORKSPACE/finetune/metrics.json, or nil when
// it is missing or unreadable. Its callers only fill in defaults from it.
func readFinetuneMetrics(ws workspace) *finetune.Metrics {
	data, err := os.ReadFile(ws.path("finetune", finetune.MetricsFileName))
	if err != nil {
		return nil
	}
	var m finetune.Metrics
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	return &m
}

// recordedDomain returns the domain that the workspace's corpus was
// collected for, from the effective settings in
// WORKSPACE/collect/manifest.json, or "" when there is none.
func recordedDomain(ws workspace) string {
	m, err := corpus.ReadManifest(ws.collectDir())
	if err != nil {
		return ""
	}
	settings, ok := m.Config.(map[string]any)
	if !ok {
		return ""
	}
	domain, _ := settings["domain"].(string)
	return domain
}

// replayOverlap returns the task sets of kind jsonl whose file is the
// replay file of the workspace's last finetune (the same path, or the same
// bytes), because scoring text the model trained on understates its
// forgetting.
func replayOverlap(ws workspace, taskSets []config.TaskSet) []string {
	m := readFinetuneMetrics(ws)
	if m == nil {
		return nil
	}
	replay, _ := m.Config["replay"].(map[string]any)
	replayPath, _ := replay["path"].(string)
	if replayPath == "" {
		return nil
	}
	replayHash, _, _ := corpus.HashFile(replayPath)
	var names []string
	for _, ts := range taskSets {
		if ts.Kind != config.TaskSetJSONL {
			continue
		}
		if samePath(ts.Path, replayPath) {
			names = append(names, ts.Name)
			continue
		}
		if sum, _, err := corpus.HashFile(ts.Path); err == nil && replayHash != "" && sum == replayHash {
			names = append(names, ts.Name)
		}
	}
	return names
}

// samePath reports whether a and b name the same file.
func samePath(a, b string) bool {
	ia, errA := os.Stat(a)
	ib, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(ia, ib)
}

// runEval checks the models and task sets, runs the eval stage and prints
// its summary line.
func (a *adapt) runEval(ctx context.Context, ws workspace, cfg *config.Config) ([]*eval.Result, error) {
	models, taskSets := a.evalPlan(ws, cfg)
	if err := checkEvalWorkspace(ws, models, taskSets); err != nil {
		return nil, err
	}
	for _, m := range models {
		if root := otherWorkspace(ws, m.Dir); root != "" {
			a.log.Warn("model folder is in another workspace than the one eval writes to; check eval.models or -w",
				"model", m.Name, "dir", m.Dir, "model_workspace", root, "workspace", string(ws))
		}
		if err := checkModelDir(m.Dir, "model "+m.Name); err != nil {
			return nil, err
		}
	}
	for _, ts := range taskSets {
		if err := checkExists(ts.Path, "task set "+ts.Name+" path"); err != nil {
			return nil, err
		}
	}

	for _, name := range replayOverlap(ws, taskSets) {
		a.log.Warn("task set is the replay text the tuned model was trained on, so its perplexity understates forgetting; score text that finetune.replay does not use",
			"task_set", name)
	}

	release, err := a.lockWorkspace(ws)
	if err != nil {
		return nil, err
	}
	defer release()

	start := time.Now()
	results, err := evalStage(ctx, a, ws, models, taskSets, cfg.Eval.Config)
	if err != nil {
		return nil, err
	}
	a.out.stage("eval", evalSummary(results), time.Since(start))
	return results, nil
}

// checkEvalWorkspace checks that ws exists when a model or task set of
// the plan lies inside it. Eval of explicit models on JSON Lines task sets
// needs no earlier stage and creates the workspace.
func checkEvalWorkspace(ws workspace, models []config.Model, taskSets []config.TaskSet) error {
	for _, m := range models {
		if inWorkspace(ws, m.Dir) {
			return checkWorkspace(ws)
		}
	}
	for _, ts := range taskSets {
		if inWorkspace(ws, ts.Path) {
			return checkWorkspace(ws)
		}
	}
	return nil
}

// evalSummary formats the perplexity of every model on every task set,
// for example "legal-heldout ppl base 35.20, tuned 12.10".
func evalSummary(results []*eval.Result) string {
	var order []string
	byTaskSet := map[string][]string{}
	for _, r := range results {
		if _, seen := byTaskSet[r.TaskSet]; !seen {
			order = append(order, r.TaskSet)
		}
		byTaskSet[r.TaskSet] = append(byTaskSet[r.TaskSet], fmt.Sprintf("%s %.2f", r.Model, r.Metrics["perplexity"]))
	}
	parts := make([]string, 0, len(order))
	for _, ts := range order {
		parts = append(parts, ts+" ppl "+strings.Join(byTaskSet[ts], ", "))
	}
	return fmt.Sprintf("%s: %s", plural(len(results), "result"), strings.Join(parts, "; "))
}

// evalStage runs eval.Run. Tests replace it.
var evalStage = func(ctx context.Context, a *adapt, ws workspace, models []config.Model, taskSets []config.TaskSet, cfg eval.Config) ([]*eval.Result, error) {
	opts := eval.Options{
		OutDir: ws.evalDir(),
		Config: cfg,
		Logger: a.log,
	}
	for _, m := range models {
		opts.Models = append(opts.Models, eval.ModelRef{Name: m.Name, Dir: m.Dir})
	}
	for _, ts := range taskSets {
		opts.TaskSets = append(opts.TaskSets, eval.TaskSet{Name: ts.Name, Kind: ts.Kind, Path: ts.Path, ValFraction: ts.ValFraction, MaxDocs: ts.MaxDocs, Optional: ts.Optional})
	}

	update, finish := a.progress("eval")
	defer finish()
	opts.Progress = func(done, total int) { update(int64(done), int64(total)) }
	return eval.Run(ctx, opts)
}
