package iterate

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
	"github.com/adapt-llm/adapt/model/safetensors"
)

// pipelineOrder lists the stages in the order they run; Record reports
// stages in this order and any other stage folder with a manifest after
// them, by name.
var pipelineOrder = []string{"collect", "clean", "finetune", "eval"}

// secondsStatKeys are the manifest stats keys taken as a stage's wall time,
// first match wins.
var secondsStatKeys = []string{"seconds", "seconds_total", "elapsed_seconds", "wall_seconds"}

// gather fills run's Inputs, Stages and Metrics from the workspace.
func gather(ws string, run *Run, logger *slog.Logger) error {
	run.Metrics = map[string]float64{}

	if err := gatherManifests(ws, run); err != nil {
		return err
	}
	if err := gatherFinetune(ws, run, logger); err != nil {
		return err
	}
	if err := gatherEval(ws, run, logger); err != nil {
		return err
	}

	sort.SliceStable(run.Stages, func(i, j int) bool {
		return stageRank(run.Stages[i].Name) < stageRank(run.Stages[j].Name)
	})
	return nil
}

// gatherManifests adds the shards, rejected file and counts of every
// <ws>/<stage>/manifest.json.
func gatherManifests(ws string, run *Run) error {
	stages, err := manifestStages(ws)
	if err != nil {
		return err
	}
	for _, stage := range stages {
		m, err := corpus.ReadManifest(filepath.Join(ws, stage))
		if err != nil {
			return err
		}

		for _, shard := range m.Shards {
			run.Inputs = append(run.Inputs, manifestInput(stage, "shard", shard))
		}
		if m.Rejected.Path != "" {
			run.Inputs = append(run.Inputs, manifestInput(stage, "rejected", m.Rejected))
		}

		if err := setEffective(run, stage, m.Config); err != nil {
			return err
		}
		summary := stageSummary(run, stage)
		counts := m.Counts
		summary.Counts = &counts
		if len(m.RuleCounts) > 0 {
			summary.Reasons = m.RuleCounts
		}
		if len(m.Stats) > 0 {
			summary.Stats = m.Stats
		}
		for _, key := range secondsStatKeys {
			if seconds, ok := m.Stats[key]; ok {
				summary.Seconds = seconds
				break
			}
		}
	}
	return nil
}

// manifestStages returns the workspace folders holding a manifest.json, in
// pipeline order.
func manifestStages(ws string) ([]string, error) {
	entries, err := os.ReadDir(ws)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading workspace %s: %w; create it or run adapt collect first", ws, err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading workspace %s: %w", ws, err)
	}

	var stages []string
	for _, entry := range entries {
		if !entry.IsDir() || entry.Name() == RunsDir {
			continue
		}
		if _, err := os.Stat(filepath.Join(ws, entry.Name(), corpus.ManifestName)); err == nil {
			stages = append(stages, entry.Name())
		}
	}
	sort.SliceStable(stages, func(i, j int) bool {
		ri, rj := stageRank(stages[i]), stageRank(stages[j])
		if ri != rj {
			return ri < rj
		}
		return stages[i] < stages[j]
	})
	return stages, nil
}

// manifestInput converts a manifest entry, whose path is relative to the
// workspace, to an Input.
func manifestInput(stage, kind string, shard corpus.ShardInfo) Input {
	return Input{
		Stage:  stage,
		Kind:   kind,
		Path:   filepath.ToSlash(shard.Path),
		SHA256: shard.SHA256,
		Rows:   shard.Rows,
		Bytes:  shard.Bytes,
	}
}

// gatherFinetune hashes the files of <ws>/finetune/model and reads the
// training totals from <ws>/finetune/metrics.json; either may be absent.
func gatherFinetune(ws string, run *Run, logger *slog.Logger) error {
	modelDir := filepath.Join(ws, "finetune", "model")
	modelInputs, err := hashFolder(ws, modelDir)
	if err != nil {
		return err
	}
	for i := range modelInputs {
		modelInputs[i].Stage = "finetune"
		modelInputs[i].Kind = "model"
	}
	run.Inputs = append(run.Inputs, modelInputs...)

	path := filepath.Join(ws, "finetune", "metrics.json")
	var metrics finetune.Metrics
	err = decodeJSONFile(path, &metrics)
	if errors.Is(err, fs.ErrNotExist) {
		if len(modelInputs) > 0 {
			stageSummary(run, "finetune")
		}
		return nil
	}
	if err != nil {
		return err
	}

	if err := setEffective(run, "finetune", metrics.Config); err != nil {
		return err
	}
	summary := stageSummary(run, "finetune")
	summary.Seconds = metrics.ElapsedSeconds
	summary.Stats = map[string]float64{
		"steps":        float64(metrics.Steps),
		"train_tokens": float64(metrics.TrainTokens),
		"val_tokens":   float64(metrics.ValTokens),
	}
	if n := len(metrics.Train); n > 0 {
		setMetric(run, "finetune/"+metricTrainLoss, metrics.Train[n-1].Loss, logger)
	}
	if n := len(metrics.Val); n > 0 {
		setMetric(run, "finetune/"+metricValLoss, metrics.Val[n-1].Loss, logger)
	}
	return nil
}

// FinetuneMetricNames are the metrics a run records from finetune, under
// "finetune/<name>": the last training loss and the last validation loss.
var FinetuneMetricNames = []string{metricTrainLoss, metricValLoss}

const (
	metricTrainLoss = "train_loss"
	metricValLoss   = "val_loss"
)

// hashFolder returns an Input with the SHA-256 and size of every regular
// file under dir, sorted by path; a missing dir gives none.
func hashFolder(ws, dir string) ([]Input, error) {
	var inputs []Input
	err := filepath.WalkDir(dir, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			if path == dir && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipDir
			}
			return err
		}
		if !entry.Type().IsRegular() {
			return nil
		}
		sum, size, err := hashFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(ws, path)
		if err != nil {
			return err
		}
		inputs = append(inputs, Input{Path: filepath.ToSlash(rel), SHA256: sum, Bytes: size})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hashing model files in %s: %w", dir, err)
	}
	return inputs, nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()

	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// gatherEval reads every <ws>/eval/*.json as an eval.Result and records its
// metrics as "<model>/<task_set>/<metric>".
func gatherEval(ws string, run *Run, logger *slog.Logger) error {
	paths, err := filepath.Glob(filepath.Join(ws, "eval", "*.json"))
	if err != nil {
		return fmt.Errorf("listing eval results: %w", err)
	}
	if len(paths) == 0 {
		return nil
	}
	sort.Strings(paths)

	summary := stageSummary(run, "eval")
	evalConfigs := map[string]any{}
	for _, path := range paths {
		var result eval.Result
		if err := decodeJSONFile(path, &result); err != nil {
			return err
		}
		summary.Seconds += result.ElapsedSeconds

		// The file name <model>__<task_set>.json names the result when the
		// fields are empty.
		model, taskSet := result.Model, result.TaskSet
		fileModel, fileTaskSet, _ := strings.Cut(strings.TrimSuffix(filepath.Base(path), ".json"), "__")
		if model == "" {
			model = fileModel
		}
		if taskSet == "" {
			taskSet = fileTaskSet
		}
		for name, value := range result.Metrics {
			setMetric(run, model+"/"+taskSet+"/"+name, value, logger)
		}
		for name, interval := range result.CI95 {
			if math.IsNaN(interval[0]) || math.IsNaN(interval[1]) || math.IsInf(interval[0], 0) || math.IsInf(interval[1], 0) {
				continue
			}
			if run.Intervals == nil {
				run.Intervals = map[string][2]float64{}
			}
			run.Intervals[model+"/"+taskSet+"/"+name] = interval
		}
		if scoredOldWeights(ws, &result) {
			logger.Warn("eval result was scored on other weights than the current fine-tuned model; rerun adapt eval",
				"result", path, "scored_sha256", result.ModelSHA256)
			run.Stale = append(run.Stale, model+"/"+taskSet)
		}
		if result.Config != nil {
			evalConfigs[strings.TrimSuffix(filepath.Base(path), ".json")] = result.Config
		}
	}
	if len(evalConfigs) > 0 {
		if err := setEffective(run, "eval", evalConfigs); err != nil {
			return err
		}
	}
	summary.Stats = map[string]float64{"results": float64(len(paths))}
	return nil
}

// scoredOldWeights reports whether result scored the workspace's
// fine-tuned model folder (<ws>/finetune/model) when it held other weights
// than it does now. Results without a recorded hash, or of other models,
// report false.
func scoredOldWeights(ws string, result *eval.Result) bool {
	if result.ModelSHA256 == "" || result.ModelPath == "" {
		return false
	}
	tuned := filepath.Join(ws, "finetune", "model")
	scored, err1 := os.Stat(result.ModelPath)
	current, err2 := os.Stat(tuned)
	if err1 != nil || err2 != nil || !os.SameFile(scored, current) {
		return false
	}
	sum, err := safetensors.HashFolder(tuned)
	return err == nil && sum != result.ModelSHA256
}

// setEffective records config as stage's effective settings in
// run.Effective; a nil config records nothing.
func setEffective(run *Run, stage string, config any) error {
	if config == nil {
		return nil
	}
	normalized, err := normalizeJSON(config)
	if err != nil {
		return fmt.Errorf("encoding effective settings of %s: %w", stage, err)
	}
	if normalized == nil { // a nil map inside config
		return nil
	}
	if run.Effective == nil {
		run.Effective = map[string]any{}
	}
	run.Effective[stage] = normalized
	return nil
}

// setMetric stores a finite value; JSON cannot carry NaN or infinities, so
// those are logged and left out.
func setMetric(run *Run, name string, value float64, logger *slog.Logger) {
	if math.IsNaN(value) || math.IsInf(value, 0) {
		logger.Warn("skipping non-finite metric", "metric", name, "value", value)
		return
	}
	run.Metrics[name] = value
}

// stageSummary returns the summary for stage name, adding it when missing.
func stageSummary(run *Run, name string) *StageSummary {
	for i := range run.Stages {
		if run.Stages[i].Name == name {
			return &run.Stages[i]
		}
	}
	run.Stages = append(run.Stages, StageSummary{Name: name})
	return &run.Stages[len(run.Stages)-1]
}

// stageRank orders known stages by pipeline position and others after.
func stageRank(name string) int {
	for i, stage := range pipelineOrder {
		if stage == name {
			return i
		}
	}
	return len(pipelineOrder)
}
