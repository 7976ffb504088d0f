package finetune

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// sigkillChildEnv names the checkpoint folder of the training run that
// TestTrainResumesAfterSIGKILL starts in a child process.
const sigkillChildEnv = "ADAPT_FINETUNE_SIGKILL_CHILD"

func sigkillConfig() Config {
	cfg := tinyConfig()
	cfg.MaxSteps = 40
	cfg.CheckpointEvery = 3
	cfg.EvalEvery = 4
	return cfg
}

func sigkillData() (train, val *Packed) {
	return syntheticPacked(8, 40), syntheticPacked(8, 6)
}

// runSigkillChild trains into the checkpoint folder dir slowly enough for
// the parent to kill it mid-run. At step 25 it stops making progress, so a
// kill always lands before the run ends.
func runSigkillChild(dir string) {
	train, val := sigkillData()
	m := newBigramModel(8)
	Train(context.Background(), m, TrainOptions{Config: sigkillConfig(), Params: m.params(), Train: train, Val: val, CheckpointDir: dir, Fingerprint: "sigkill",
		Progress: func(step, _ int) {
			if step == 25 {
				time.Sleep(time.Hour) // a sleeping timer, which the runtime does not report as a deadlock
			}
			time.Sleep(20 * time.Millisecond)
		}})
	os.Exit(3) // unreachable unless Train failed
}

// A training process killed with SIGKILL after some checkpoint resumes from
// the newest one and ends with the loss curve and weights of a run that was
// never interrupted.
func TestTrainResumesAfterSIGKILL(t *testing.T) {
	if dir := os.Getenv(sigkillChildEnv); dir != "" {
		runSigkillChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	train, val := sigkillData()
	cfg := sigkillConfig()
	whole := newBigramModel(8)
	want, err := Train(context.Background(), whole, TrainOptions{Config: cfg, Params: whole.params(), Train: train, Val: val})
	if err != nil {
		t.Fatal(err)
	}

	// Start the child and kill it once a checkpoint of step 6 or later is
	// on disk. Checkpoints keep being written while it runs, so the kill
	// may land in the middle of writing one.
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestTrainResumesAfterSIGKILL$", "-test.count=1")
	cmd.Env = append(os.Environ(), sigkillChildEnv+"="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		steps, err := listCheckpoints(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) > 0 && steps[len(steps)-1] >= 6 {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("child exited before its checkpoint of step 6: %v", err)
		case <-time.After(2 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err == nil {
		t.Fatal("child exited cleanly, want killed")
	}

	// An unfinished temporary folder of a checkpoint cut short is ignored.
	steps, err := listCheckpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	latest := steps[len(steps)-1]
	if err := os.MkdirAll(filepath.Join(dir, ".tmp-step-junk"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".tmp-step-junk", stateFile), []byte("{\"step\":"), 0o644); err != nil {
		t.Fatal(err)
	}

	resumed := newBigramModel(8)
	got, err := Train(context.Background(), resumed, TrainOptions{Config: cfg, Params: resumed.params(), Train: train, Val: val, CheckpointDir: dir, Fingerprint: "sigkill"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed after checkpoint %d, resumed from %d", latest, got.ResumedFrom)
	if got.ResumedFrom != latest {
		t.Errorf("ResumedFrom: got %d, want the newest checkpoint %d", got.ResumedFrom, latest)
	}

	// Exact equality: the resumed run repeats the same float32 operations.
	if !slices.Equal(got.Train, want.Train) {
		t.Errorf("loss curve after resume:\n got %v\nwant %v", got.Train, want.Train)
	}
	if !slices.Equal(got.Val, want.Val) {
		t.Errorf("validation curve after resume:\n got %v\nwant %v", got.Val, want.Val)
	}
	if !slices.Equal(resumed.table.Data, whole.table.Data) || !slices.Equal(resumed.bias.Data, whole.bias.Data) {
		t.Errorf("weights after resume differ from the uninterrupted run")
	}
}
