//go:build linux || darwin

package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func newTestAdapt() *adapt {
	return &adapt{log: slog.New(slog.DiscardHandler)}
}

func TestLockWorkspaceExclusive(t *testing.T) {
	ws := workspace(filepath.Join(t.TempDir(), "ws"))
	first, second := newTestAdapt(), newTestAdapt()

	release, err := first.lockWorkspace(ws)
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	text, err := os.ReadFile(ws.path(lockFileName))
	if err != nil {
		t.Fatal(err)
	}
	if want := "pid " + strconv.Itoa(os.Getpid()) + "\nstarted "; !strings.HasPrefix(string(text), want) {
		t.Errorf("got lock file %q, want it to start with %q", text, want)
	}

	_, err = second.lockWorkspace(ws)
	var busy *workspaceBusyError
	if !errors.As(err, &busy) {
		t.Fatalf("second lock: got %v, want a *workspaceBusyError", err)
	}
	want := "workspace " + string(ws) + " is in use by another adapt process (pid " + strconv.Itoa(os.Getpid()) + ", started "
	if !strings.Contains(err.Error(), want) {
		t.Errorf("got %q, want it to contain %q", err, want)
	}
	if !strings.HasSuffix(err.Error(), "); wait for it or use another -w") {
		t.Errorf("got %q, want it to end with what to do", err)
	}

	// The holder takes the lock again without waiting.
	again, err := first.lockWorkspace(ws)
	if err != nil {
		t.Fatalf("lock again in the holder: %v", err)
	}
	again()

	release()
	releaseSecond, err := second.lockWorkspace(ws)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	releaseSecond()
}

func TestLockWorkspaceStaleFile(t *testing.T) {
	ws := workspace(t.TempDir())
	// A lock file left by a process that exited is not locked.
	writeFile(t, ws.path(lockFileName), "pid 1\nstarted 2020-01-01T00:00:00Z\n")

	release, err := newTestAdapt().lockWorkspace(ws)
	if err != nil {
		t.Fatalf("got %v, want the lock", err)
	}
	release()
}

func TestReadLockHolder(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"pid and start", "pid 42\nstarted 2025-05-01T10:00:00Z\n", "pid 42, started 2025-05-01T10:00:00Z"},
		{"pid only", "pid 42\n", "pid 42"},
		{"empty", "", "pid unknown"},
		{"garbage", "pid x\n", "pid unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), lockFileName)
			writeFile(t, path, tt.text)
			file, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			if got := readLockHolder(file); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCommandsRejectLockedWorkspace(t *testing.T) {
	calls := fakeStages(t)
	dir := t.TempDir()
	ws := workspace(filepath.Join(dir, "ws"))
	writeFile(t, filepath.Join(string(ws), "collect", "manifest.json"), "{}")
	writeFile(t, filepath.Join(string(ws), "clean", "manifest.json"), "{}")
	model := writeModel(t, filepath.Join(dir, "model"))
	writeModel(t, ws.tunedModelDir())
	cfgPath := filepath.Join(dir, "adapt.yaml")
	writeFile(t, cfgPath, "collect:\n  sources:\n    - path: "+dir+"\nfinetune:\n  base_model: "+model+"\n")

	release, err := newTestAdapt().lockWorkspace(ws)
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	tests := []struct {
		name string
		args []string
	}{
		{"collect", []string{"collect", dir}},
		{"clean", []string{"clean"}},
		{"finetune", []string{"finetune", "--base-model", model}},
		{"eval", []string{"eval", "--model", "tuned=" + model}},
		{"iterate", []string{"iterate"}},
		{"audit", []string{"audit"}},
		{"report", []string{"report"}},
		{"export inside workspace", []string{"export", "--out", filepath.Join(string(ws), "model.gguf")}},
		{"run", []string{"run", "--config", cfgPath}},
		{"quickstart", []string{"quickstart", "--base-model", model}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "quickstart" {
				// quickstart checks its Debian sources before it locks.
				if _, err := os.Stat(commonLicensesDir); err != nil {
					t.Skipf("%s is missing, so this is not a Debian system: %v", commonLicensesDir, err)
				}
			}
			calls.order = nil
			args := append([]string{tt.args[0], "-w", string(ws)}, tt.args[1:]...)
			code, _, stderr := runAdapt(t, args...)
			if code != exitBusy {
				t.Errorf("got exit status %d, want %d; stderr: %s", code, exitBusy, stderr)
			}
			if want := "is in use by another adapt process (pid "; !strings.Contains(stderr, want) {
				t.Errorf("got stderr %q, want it to contain %q", stderr, want)
			}
			if len(calls.order) != 0 {
				t.Errorf("got stages %v run, want none", calls.order)
			}
		})
	}
}
