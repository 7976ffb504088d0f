// Package sharedtest locates the project's shared reference folder (goldens
// and real domain data) for tests. The folder sits next to the repository
// root as "shared"; tests skip when it is absent, so the suite passes on a
// machine without it.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvVar overrides where Dir looks for the shared folder.
const EnvVar = "ADAPT_SHARED_DIR"

// Dir returns the absolute path of the shared folder joined with elem, and
// skips the test when that path does not exist. It looks at $ADAPT_SHARED_DIR
// first, then for a "shared" folder beside each parent of the working
// directory.
func Dir(t testing.TB, elem ...string) string {
	t.Helper()
	root, ok := find()
	if !ok {
		t.Skipf("shared reference folder not found (set %s or place it beside the repository as ../shared); skipping", EnvVar)
	}
	path := filepath.Join(append([]string{root}, elem...)...)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("shared reference file %s not available: %v; skipping", path, err)
	}
	return path
}

func find() (string, bool) {
	if dir := os.Getenv(EnvVar); dir != "" {
		return dir, isDir(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		candidate := filepath.Join(dir, "shared")
		if isDir(filepath.Join(candidate, "goldens")) || isDir(filepath.Join(candidate, "data")) {
			return candidate, true
		}
		if filepath.Dir(dir) == dir {
			return "", false
		}
	}
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}
