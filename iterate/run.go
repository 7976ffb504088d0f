// Package iterate keeps the workspace's run registry: one record per run
// under <ws>/runs/<id>/run.json with the inputs' hashes, the config, the
// per-stage counts and timings and the eval metrics, linked to the run
// before it, and compares two records to show what changed.
package iterate

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/adapt-llm/adapt/corpus"

	"github.com/adapt-llm/adapt/internal/atomicfile"
)

// RunsDir is the folder under the workspace that holds the run records.
const RunsDir = "runs"

// RecordFile is the name of the record file inside <ws>/runs/<id>/.
const RecordFile = "run.json"

// idTimeLayout is the timestamp part of a run id: UTC with millisecond
// precision and fixed width, so ids sort in creation order as strings.
const idTimeLayout = "20060102T150405.000Z"

// Run is one run record, the content of <ws>/runs/<id>/run.json.
type Run struct {
	// ID is "<UTC timestamp>-<6 hex digits>", for example
	// "20261204T200223.123Z-a1b2c3". IDs sort in creation order.
	ID string `json:"id"`
	// Parent is the ID of the newest run in the workspace when this one was
	// recorded, or empty for the first run.
	Parent      string    `json:"parent"`
	CreatedAt   time.Time `json:"created_at"`
	ToolVersion string    `json:"tool_version"`
	// Config is the caller's configuration as given (a YAML file's values,
	// say), any JSON value. It is nil when none was given. Stages fill in
	// defaults and flags, so Effective holds the settings actually used.
	Config any `json:"config,omitempty"`
	// Effective holds each stage's effective settings as its outputs
	// record them, keyed by stage: the Config of collect's and clean's
	// manifest.json and of finetune/metrics.json, and for eval one entry
	// per result file, keyed by its base name ("tuned__legal-heldout").
	// A stage whose outputs record no settings has no entry.
	Effective map[string]any `json:"effective,omitempty"`
	// Inputs are the files the run's stages produced and consumed, in
	// pipeline order: each manifest's shards and rejected file, then the
	// fine-tuned model's files.
	Inputs []Input `json:"inputs"`
	// Stages summarizes each stage that has output in the workspace, in
	// pipeline order.
	Stages []StageSummary `json:"stages"`
	// Metrics are scalar results keyed "<model>/<task_set>/<metric>" for
	// eval results (for example "base/legal-heldout/perplexity") and
	// "finetune/<name>" for training totals.
	Metrics map[string]float64 `json:"metrics"`
	// Intervals contains the bootstrap 95% confidence interval, as [low,
	// high], of the eval metrics that have one, under the same keys as
	// Metrics.
	Intervals map[string][2]float64 `json:"intervals,omitempty"`
	// Gates are the results of the regression gates checked on this run,
	// in the order they were given. Empty when none were checked.
	Gates []GateResult `json:"gates,omitempty"`
	// Stale lists the "<model>/<task_set>" eval results that were scored on
	// other weights than the workspace's current fine-tuned model (their
	// model_sha256 differs), so their metrics describe an older model.
	Stale []string `json:"stale,omitempty"`
}

// GatesPassed reports whether no gate checked on the run failed. A run
// without gates counts as passed.
func (r *Run) GatesPassed() bool {
	for _, g := range r.Gates {
		if !g.Passed {
			return false
		}
	}
	return true
}

// Input is one hashed file of a run.
type Input struct {
	// Stage is the stage that wrote the file ("collect", "clean",
	// "finetune").
	Stage string `json:"stage"`
	// Kind is "shard", "rejected" or "model".
	Kind string `json:"kind"`
	// Path is relative to the workspace, with forward slashes.
	Path string `json:"path"`
	// SHA256 is the lower-case hex SHA-256 of the file's bytes.
	SHA256 string `json:"sha256"`
	// Rows is the row count for Parquet files and zero for model files.
	Rows  int64 `json:"rows"`
	Bytes int64 `json:"bytes"`
}

// StageSummary holds one stage's counts and timing.
type StageSummary struct {
	Name string `json:"name"`
	// Counts is nil for stages that do not write a corpus manifest
	// (finetune).
	Counts *corpus.Counts `json:"counts,omitempty"`
	// Reasons counts documents per rule or reason code, from the manifest.
	Reasons map[string]int64 `json:"reasons,omitempty"`
	// Seconds is the stage's wall time in seconds. It is zero when unknown.
	Seconds float64 `json:"seconds,omitempty"`
	// Stats holds the stage's other numbers (manifest stats, training
	// steps and token counts).
	Stats map[string]float64 `json:"stats,omitempty"`
}

// RecordInput contains the values Record needs beyond what it reads from the workspace.
type RecordInput struct {
	// ToolVersion is the adapt version making the record.
	ToolVersion string
	// Config is the run's configuration. It must marshal to JSON. Nil
	// records no config.
	Config any
	// Seconds holds stage wall times in seconds measured by the caller,
	// keyed by stage name. They fill in only stages whose outputs record no
	// time, so a run recorded right after the stages ran and a later record
	// of the same outputs show the same times.
	Seconds map[string]float64
	// Now is the creation time. Zero means time.Now().
	Now time.Time
	// Logger receives warnings about skipped values. Nil discards them.
	Logger *slog.Logger
	// Check, when set, runs on the gathered run after its id is assigned
	// and before anything is written. It may fill in fields such as Gates.
	// An error from it is returned and no record is written.
	Check func(run *Run) error
}

// Record reads the stage outputs in workspace ws (manifests, model files,
// finetune metrics, eval results), writes a new run record whose parent is
// the newest existing run, and returns it. The record is written to a
// temporary file and renamed, so a failed Record leaves no run.json.
//
// NOTE: two Records running at once in one workspace may both pick the same
// parent; the registry assumes one writer at a time.
func Record(ws string, in RecordInput) (*Run, error) {
	logger := in.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()

	// Find the parent.
	parent, err := Latest(ws)
	switch {
	case errors.Is(err, ErrNoRuns):
		parent = nil
	case err != nil:
		return nil, fmt.Errorf("finding parent run: %w", err)
	}

	// Gather inputs, stage summaries and metrics.
	run := &Run{
		CreatedAt:   now,
		ToolVersion: in.ToolVersion,
	}
	if parent != nil {
		run.Parent = parent.ID
	}
	if err := gather(ws, run, logger); err != nil {
		return nil, err
	}
	for name, seconds := range in.Seconds {
		if summary := stageSummary(run, name); summary.Seconds == 0 {
			summary.Seconds = seconds
		}
	}
	if in.Config != nil {
		config, err := normalizeJSON(in.Config)
		if err != nil {
			return nil, fmt.Errorf("encoding run config: %w", err)
		}
		run.Config = config
	}

	// Pick an id that sorts after the parent's, then write.
	id, err := newID(now, run.Parent)
	if err != nil {
		return nil, err
	}
	run.ID = id
	if in.Check != nil {
		if err := in.Check(run); err != nil {
			return nil, err
		}
	}
	if err := write(ws, run); err != nil {
		return nil, err
	}
	return run, nil
}

// Load reads the run record with the given id from workspace ws.
func Load(ws, id string) (*Run, error) {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`) {
		return nil, fmt.Errorf("loading run %q: %w", id, ErrInvalidRunID)
	}
	path := filepath.Join(ws, RunsDir, id, RecordFile)
	var run Run
	if err := decodeJSONFile(path, &run); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("loading run %q from %s: %w", id, ws, ErrRunNotFound)
		}
		return nil, err
	}
	if run.ID != id {
		return nil, fmt.Errorf("loading %s: record id %q does not match its folder name; restore the folder name or remove the record", path, run.ID)
	}
	return &run, nil
}

// Latest returns the newest run record in workspace ws, or ErrNoRuns.
func Latest(ws string) (*Run, error) {
	ids, err := runIDs(ws)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, ErrNoRuns
	}
	return Load(ws, ids[len(ids)-1])
}

// List returns every run record in workspace ws, oldest first. An empty
// workspace returns an empty slice and no error.
func List(ws string) ([]*Run, error) {
	ids, err := runIDs(ws)
	if err != nil {
		return nil, err
	}
	runs := make([]*Run, 0, len(ids))
	for _, id := range ids {
		run, err := Load(ws, id)
		if err != nil {
			return nil, err
		}
		runs = append(runs, run)
	}
	return runs, nil
}

// runIDs returns the names of the folders under <ws>/runs that contain a
// run.json, sorted ascending. Folders without one (a Record that failed
// before its rename) are skipped.
func runIDs(ws string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(ws, RunsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing runs in %s: %w", ws, err)
	}

	var ids []string
	for _, entry := range entries {
		if !entry.IsDir() {
			continue
		}
		_, err := os.Stat(filepath.Join(ws, RunsDir, entry.Name(), RecordFile))
		if err == nil {
			ids = append(ids, entry.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// newID returns "<UTC time>-<6 random hex digits>". When the clock gives a
// time at or before the parent's timestamp, it uses the parent's time plus
// one millisecond, so ids stay in creation order.
func newID(now time.Time, parent string) (string, error) {
	var suffix [3]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", fmt.Errorf("generating run id: %w", err)
	}
	stamp := now.UTC().Format(idTimeLayout)
	if len(parent) >= len(idTimeLayout) && stamp <= parent[:len(idTimeLayout)] {
		parentTime, err := time.Parse(idTimeLayout, parent[:len(idTimeLayout)])
		if err == nil {
			stamp = parentTime.Add(time.Millisecond).Format(idTimeLayout)
		}
	}
	return stamp + "-" + hex.EncodeToString(suffix[:]), nil
}

// write stores run as <ws>/runs/<id>/run.json through a temporary file in
// the same folder.
func write(ws string, run *Run) error {
	dir := filepath.Join(ws, RunsDir, run.ID)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("creating runs folder: %w", err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("creating run folder %s: %w", dir, err)
	}

	data, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding run %s: %w", run.ID, err)
	}
	data = append(data, '\n')
	return writeFileAtomic(filepath.Join(dir, RecordFile), data)
}

// PassingAncestor returns the newest ancestor of run (its parent, the
// parent's parent, and so on) that had gates checked and passed them all,
// or nil when there is none. Gates compare against it by default, so that
// neither a run that failed its gates nor one recorded without gates
// becomes the reference for the next one.
func PassingAncestor(ws string, run *Run) (*Run, error) {
	seen := map[string]bool{run.ID: true}
	for id := run.Parent; id != ""; {
		if seen[id] {
			return nil, fmt.Errorf("run %s: parent chain loops back to %s", run.ID, id)
		}
		seen[id] = true
		r, err := Load(ws, id)
		if err != nil {
			return nil, fmt.Errorf("loading ancestor %s of run %s: %w", id, run.ID, err)
		}
		if len(r.Gates) > 0 && r.GatesPassed() {
			return r, nil
		}
		id = r.Parent
	}
	return nil, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// to path, so readers see either no file or the whole file.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// normalizeJSON round-trips v through encoding/json so the Run returned by
// Record equals the one Load reads back.
func normalizeJSON(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeJSONFile decodes the JSON file at path into v. A syntax or type
// error names the file and the byte offset.
func decodeJSONFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	err = json.Unmarshal(data, v)

	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("decoding %s at byte %d: %w; rerun the stage that wrote it", path, syntaxErr.Offset, err)
	case errors.As(err, &typeErr):
		return fmt.Errorf("decoding %s at byte %d: %w; rerun the stage that wrote it", path, typeErr.Offset, err)
	default:
		return fmt.Errorf("decoding %s: %w", path, err)
	}
}
