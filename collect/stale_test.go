package collect

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestRemoveStaleTemps(t *testing.T) {
	// A pid far above Linux's largest pid_max (2^22) belongs to no process.
	const deadPID = 1 << 30
	dir := t.TempDir()
	out := filepath.Join(dir, "collect")
	staleTmp := out + ".tmp-" + strconv.Itoa(deadPID)
	staleOld := out + ".old-" + strconv.Itoa(deadPID)
	live := out + ".tmp-" + strconv.Itoa(os.Getppid())
	for _, d := range []string{staleTmp, staleOld, live} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	// Without the output folder, leftovers may be the only copy: kept.
	removeStaleTemps(out, slog.New(slog.DiscardHandler))
	for _, d := range []string{staleTmp, staleOld, live} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed while %s is missing", filepath.Base(d), filepath.Base(out))
		}
	}

	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	removeStaleTemps(out, slog.New(slog.DiscardHandler))
	for _, d := range []string{staleTmp, staleOld} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s of a dead process still exists (stat error %v)", filepath.Base(d), err)
		}
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("%s of a live process was removed", filepath.Base(live))
	}
}
