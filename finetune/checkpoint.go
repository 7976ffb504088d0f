package finetune

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/adapt-llm/adapt/model/safetensors"

	"github.com/adapt-llm/adapt/internal/atomicfile"
)

// Checkpoint layout: <dir>/step-00000100/ holds weights.safetensors (every
// parameter by name, F32), optimizer.safetensors ("m.<name>" and
// "v.<name>", F32) and state.json (checkpointState). Each checkpoint is
// written to a temporary folder and renamed, so a step folder is always
// complete.
const (
	checkpointPrefix = "step-"
	weightsFile      = "weights.safetensors"
	optimizerFile    = "optimizer.safetensors"
	stateFile        = "state.json"
)

// checkpointState is the state.json of a checkpoint.
type checkpointState struct {
	// Step is the number of optimizer steps taken.
	Step int `json:"step"`
	// Fingerprint identifies the data, base model and settings.
	Fingerprint    string      `json:"fingerprint"`
	Train          []LossPoint `json:"train"`
	Val            []LossPoint `json:"val"`
	ElapsedSeconds float64     `json:"elapsed_seconds"`
}

// saveCheckpoint writes a checkpoint for state.Step and removes all but the
// newest keep checkpoints.
func saveCheckpoint(dir string, state checkpointState, params []Tensor, opt *AdamW, keep int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating checkpoint folder: %w", err)
	}
	final := filepath.Join(dir, fmt.Sprintf("%s%08d", checkpointPrefix, state.Step))
	tmp, err := os.MkdirTemp(dir, ".tmp-"+checkpointPrefix)
	if err != nil {
		return fmt.Errorf("creating checkpoint folder: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op after the rename

	weights := make([]safetensors.Tensor, 0, len(params))
	moments := make([]safetensors.Tensor, 0, 2*len(params))
	m, v := opt.Moments()
	for i, p := range params {
		weights = append(weights, safetensors.FromFloat32(p.Name, p.Shape, p.Data))
		moments = append(moments, safetensors.FromFloat32("m."+p.Name, p.Shape, m[i]))
		moments = append(moments, safetensors.FromFloat32("v."+p.Name, p.Shape, v[i]))
	}
	if err := safetensors.Write(filepath.Join(tmp, weightsFile), weights, nil); err != nil {
		return fmt.Errorf("writing checkpoint weights: %w", err)
	}
	if err := safetensors.Write(filepath.Join(tmp, optimizerFile), moments, nil); err != nil {
		return fmt.Errorf("writing checkpoint optimizer state: %w", err)
	}
	if err := writeJSON(filepath.Join(tmp, stateFile), state); err != nil {
		return fmt.Errorf("writing checkpoint state: %w", err)
	}

	// MkdirTemp makes the folder 0700; checkpoints are ordinary outputs.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("writing checkpoint %s: %w", final, err)
	}
	if err := os.RemoveAll(final); err != nil {
		return fmt.Errorf("replacing checkpoint %s: %w", final, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("renaming checkpoint into place: %w", err)
	}
	return pruneCheckpoints(dir, keep)
}

// listCheckpoints returns the steps of the complete checkpoints in dir,
// oldest first. A missing dir has none.
func listCheckpoints(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing checkpoints: %w", err)
	}
	var steps []int
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), checkpointPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		step, err := strconv.Atoi(rest)
		if err != nil {
			continue
		}
		steps = append(steps, step)
	}
	slices.Sort(steps)
	return steps, nil
}

func pruneCheckpoints(dir string, keep int) error {
	steps, err := listCheckpoints(dir)
	if err != nil {
		return err
	}
	for len(steps) > keep {
		path := filepath.Join(dir, fmt.Sprintf("%s%08d", checkpointPrefix, steps[0]))
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("removing old checkpoint: %w", err)
		}
		steps = steps[1:]
	}
	return nil
}

// loadLatestCheckpoint restores params and opt from the newest checkpoint
// in dir and returns its state, or nil when dir has no checkpoint. It
// returns ErrCheckpointMismatch when the newest checkpoint has another
// fingerprint or other parameters.
func loadLatestCheckpoint(dir, fingerprint string, params []Tensor, opt *AdamW) (*checkpointState, error) {
	steps, err := listCheckpoints(dir)
	if err != nil || len(steps) == 0 {
		return nil, err
	}
	path := filepath.Join(dir, fmt.Sprintf("%s%08d", checkpointPrefix, steps[len(steps)-1]))

	var state checkpointState
	data, err := os.ReadFile(filepath.Join(path, stateFile))
	if err != nil {
		return nil, fmt.Errorf("reading checkpoint: %w", err)
	}
	if err := json.Unmarshal(data, &state); err != nil {
		return nil, fmt.Errorf("reading checkpoint %s: %w; delete the folder to start over", filepath.Join(path, stateFile), err)
	}
	if state.Fingerprint != fingerprint {
		return nil, fmt.Errorf("%w: %s was written by an interrupted run with other data, base model or settings; rerun with those to resume it, or delete %s to start over",
			ErrCheckpointMismatch, path, dir)
	}

	weights, err := safetensors.Read(filepath.Join(path, weightsFile))
	if err != nil {
		return nil, fmt.Errorf("reading checkpoint: %w", err)
	}
	moments, err := safetensors.Read(filepath.Join(path, optimizerFile))
	if err != nil {
		return nil, fmt.Errorf("reading checkpoint: %w", err)
	}
	m, v := opt.Moments()
	for i, p := range params {
		for _, dst := range []struct {
			file *safetensors.File
			name string
			data []float32
		}{{weights, p.Name, p.Data}, {moments, "m." + p.Name, m[i]}, {moments, "v." + p.Name, v[i]}} {
			if err := loadTensor(dst.file, dst.name, dst.data); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrCheckpointMismatch, path, err)
			}
		}
	}
	opt.SetStep(state.Step)
	return &state, nil
}

func loadTensor(f *safetensors.File, name string, dst []float32) error {
	t, ok := f.Tensor(name)
	if !ok {
		return fmt.Errorf("tensor %q missing", name)
	}
	src, err := t.Float32()
	if err != nil {
		return fmt.Errorf("tensor %q: %w", name, err)
	}
	if len(src) != len(dst) {
		return fmt.Errorf("tensor %q has %d values, the model has %d", name, len(src), len(dst))
	}
	copy(dst, src)
	return nil
}

// writeJSON writes v as indented JSON to path through a temporary file in
// the same folder that is renamed over path.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", filepath.Base(path), err)
	}
	return writeFileAtomic(path, append(data, '\n'))
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder that is renamed over path once complete.
func writeFileAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o644)
}
