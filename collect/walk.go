package collect

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// fileTask is one file found under a source, or a path that could not be
// walked (err set).
type fileTask struct {
	source *Source
	path   string // path as found under the source, with links unresolved
	err    error  // read or walk error, rejected as "unreadable"
}

// walkSource lists the files under src in lexical order, following symbolic
// links to files and folders. A link that leads back to one of its own
// ancestor folders, or a link that cannot be resolved, becomes a task with
// err set instead of stopping the walk.
func walkSource(src *Source) []fileTask {
	info, err := os.Stat(src.Path)
	if err != nil {
		return []fileTask{{source: src, path: src.Path, err: err}}
	}
	if !info.IsDir() {
		return []fileTask{{source: src, path: src.Path}}
	}

	var tasks []fileTask
	real, err := filepath.EvalSymlinks(src.Path)
	if err != nil {
		return []fileTask{{source: src, path: src.Path, err: err}}
	}
	walkDir(src, src.Path, "", map[string]bool{real: true}, &tasks)
	return tasks
}

// walkDir appends the tasks under dir, whose path relative to the source is
// rel. ancestors holds the resolved paths of the folders above, for loop
// detection.
func walkDir(src *Source, dir, rel string, ancestors map[string]bool, tasks *[]fileTask) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		*tasks = append(*tasks, fileTask{source: src, path: dir, err: err})
		return
	}

	for _, e := range entries {
		full := filepath.Join(dir, e.Name())
		relPath := path.Join(rel, e.Name())
		mode := e.Type()

		if mode&fs.ModeSymlink != 0 {
			info, err := os.Stat(full)
			if err != nil {
				if src.included(relPath) {
					*tasks = append(*tasks, fileTask{source: src, path: full, err: fmt.Errorf("resolving symbolic link: %w", err)})
				}
				continue
			}
			mode = info.Mode().Type()
		}

		switch {
		case mode.IsDir():
			if src.excluded(relPath) {
				continue
			}
			real, err := filepath.EvalSymlinks(full)
			if err != nil {
				*tasks = append(*tasks, fileTask{source: src, path: full, err: fmt.Errorf("resolving folder: %w", err)})
				continue
			}
			if ancestors[real] {
				*tasks = append(*tasks, fileTask{source: src, path: full, err: fmt.Errorf("symbolic link loop: %s leads back to its ancestor %s", full, real)})
				continue
			}
			ancestors[real] = true
			walkDir(src, full, relPath, ancestors, tasks)
			delete(ancestors, real)

		case src.included(relPath):
			if !mode.IsRegular() {
				*tasks = append(*tasks, fileTask{source: src, path: full, err: fmt.Errorf("not a regular file (mode %v)", mode)})
				continue
			}
			*tasks = append(*tasks, fileTask{source: src, path: full})
		}
	}
}

// included reports whether the file at rel (slash-separated, relative to
// the source path) passes the Include and Exclude globs.
func (s *Source) included(rel string) bool {
	if s.excluded(rel) {
		return false
	}
	if len(s.Include) == 0 {
		return true
	}
	for _, pattern := range s.Include {
		if globMatch(pattern, rel) {
			return true
		}
	}
	return false
}

func (s *Source) excluded(rel string) bool {
	for _, pattern := range s.Exclude {
		if globMatch(pattern, rel) {
			return true
		}
	}
	return false
}

// globMatch matches a path.Match pattern against the relative path, or
// against the file name alone when the pattern has no slash. A malformed
// pattern matches nothing; Run rejects those before walking.
func globMatch(pattern, rel string) bool {
	target := rel
	if !strings.Contains(pattern, "/") {
		target = path.Base(rel)
	}
	ok, _ := path.Match(pattern, target)
	return ok
}
