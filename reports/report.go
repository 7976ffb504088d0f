// Package reports writes the workspace report: one self-contained HTML file
// with the stage counts, the loss curves, the perplexity of the base and the
// tuned model, the audit tables and the run history. Charts are inline SVG,
// styles are inline, and the page loads nothing from the network.
package reports

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/adapt-llm/adapt/internal/atomicfile"
)

// Write reads the stage outputs in workspace ws and writes the report to
// outPath (conventionally <ws>/report/report.html), creating its folder. A
// section whose input is missing says which command produces it, and a
// section whose input cannot be read shows the error, so Write fails only
// when the report itself cannot be written. The file is written under a
// temporary name and renamed.
func Write(ws string, outPath string) error {
	return write(ws, outPath, time.Now())
}

func write(ws, outPath string, now time.Time) error {
	if _, err := os.Stat(ws); err != nil {
		return fmt.Errorf("reading workspace: %w", err)
	}

	data := page{
		Workspace:   ws,
		GeneratedAt: now.UTC().Format(time.RFC3339),
		Stages:      loadStages(ws),
		Training:    loadTraining(ws),
		Eval:        loadEval(ws),
		Audit:       loadAudit(ws),
		Runs:        loadRuns(ws),
	}

	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		return fmt.Errorf("rendering report: %w", err)
	}
	return writeFileAtomic(outPath, buf.Bytes())
}

// page is the data behind the report template.
type page struct {
	Workspace   string
	GeneratedAt string
	Stages      stagesSection
	Training    trainingSection
	Eval        evalSection
	Audit       auditSection
	Runs        runsSection
}

// section is the state every section shares: Missing names the command
// that creates the section's input when that input does not exist, and
// Error is the text of a read failure.
type section struct {
	Missing string
	Error   string
}

// setErr records err as missing input (naming command) when it wraps
// fs.ErrNotExist, and as a read error otherwise.
func (s *section) setErr(err error, command string) {
	if errors.Is(err, fs.ErrNotExist) {
		s.Missing = command
		return
	}
	s.Error = err.Error()
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it to path.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating report folder: %w", err)
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	return nil
}

// pageTemplate is parsed once; html/template escapes every value for its
// context, and only the SVG charts are passed as template.HTML.
var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"num":     formatCount,
	"float":   formatFloat,
	"percent": formatPercent,
	"seconds": formatSeconds,
	"plural":  pluralWord,
}).Parse(pageHTML))
