package collect

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// removeStaleTemps removes the <out>.tmp-<pid> and <out>.old-<pid> folders
// that a collect killed mid-run left beside out, when their process is gone
// and out itself exists, so that a complete output is in place. With out
// missing, a leftover may hold the only copy of the last output (a kill
// between the two renames of replaceDir), so it is kept and logged.
func removeStaleTemps(out string, logger *slog.Logger) {
	out = filepath.Clean(out)
	matches, _ := filepath.Glob(out + ".tmp-*")
	olds, _ := filepath.Glob(out + ".old-*")
	matches = append(matches, olds...)
	if len(matches) == 0 {
		return
	}
	_, outErr := os.Stat(out)
	for _, path := range matches {
		suffix := path[strings.LastIndex(path, "-")+1:]
		pid, err := strconv.Atoi(suffix)
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if outErr != nil {
			logger.Warn("leftover folder of an interrupted collect kept, because the output folder is missing; move it into place or delete it",
				"path", path, "out", out)
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			logger.Warn("removing a leftover folder of an interrupted collect failed", "path", path, "err", err)
			continue
		}
		logger.Info("removed a leftover folder of an interrupted collect", "path", path)
	}
}
