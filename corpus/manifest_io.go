package corpus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/adapt-llm/adapt/internal/atomicfile"
)

// ManifestName is the file name of a stage's manifest inside its folder.
const ManifestName = "manifest.json"

// WriteManifest writes m as indented JSON to dir/manifest.json. It writes a
// temporary file in dir first and renames it, so readers see either the old
// manifest or the whole new one. A zero SchemaVersion is set to
// SchemaVersion.
func WriteManifest(dir string, m *Manifest) error {
	if m.SchemaVersion == 0 {
		m.SchemaVersion = SchemaVersion
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding manifest for %s: %w", dir, err)
	}
	data = append(data, '\n')

	if err := atomicfile.WriteFile(filepath.Join(dir, ManifestName), data, 0o644); err != nil {
		return fmt.Errorf("writing manifest in %s: %w", dir, err)
	}
	return nil
}

// ReadManifest reads dir/manifest.json. When the file is missing, the error
// wraps ErrNoManifest and names the stage to run first (taken from the folder
// name, for example "collect").
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w; run %s first", path, ErrNoManifest, stageHint(dir))
	}
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}

	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decoding manifest %s: %w; rerun the stage that wrote it", path, err)
	}
	if m.SchemaVersion > SchemaVersion {
		return nil, fmt.Errorf("reading manifest %s: schema version %d is newer than this tool's %d; upgrade adapt", path, m.SchemaVersion, SchemaVersion)
	}
	return &m, nil
}

// stageHint names the command that writes a manifest into dir.
func stageHint(dir string) string {
	switch stage := filepath.Base(filepath.Clean(dir)); stage {
	case "collect", "clean", "finetune", "eval", "audit":
		return "`adapt " + stage + "`"
	default:
		return "the stage that writes " + dir
	}
}
