package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/config"
	"github.com/adapt-llm/adapt/tensor"
)

// defaultWorkspace is the --workspace default of the stage commands and run.
const defaultWorkspace = "./workspace"

func workspaceFlag(def string) cli.Flag {
	return &cli.PathFlag{
		Name:    "workspace",
		Aliases: []string{"w"},
		Value:   def,
		Usage:   "workspace folder that stages read from and write to",
	}
}

func configFlag() cli.Flag {
	return &cli.PathFlag{
		Name:  "config",
		Usage: "YAML config file (see examples/adapt.yaml); flags override its values",
	}
}

// deviceFlag is the --device flag of the commands that load models. Only
// commands that also take --config mention the config's device key.
func deviceFlag(withConfig bool) cli.Flag {
	usage := "compute backend that runs the models: cpu, or cuda in a build with the CUDA backend"
	if withConfig {
		usage += " (overrides device in --config)"
	}
	return &cli.StringFlag{
		Name:  "device",
		Value: tensor.DefaultBackend,
		Usage: usage,
	}
}

// selectDevice selects the compute backend of this process, --device when
// set and else configDevice ("" means cpu), and returns its name for the
// config and the run record. Call it before any model is loaded. An
// unknown --device is a usage error. An unknown config device, which
// config.Validate normally catches first, wraps tensor.ErrUnknownBackend
// and so maps to a bad-input exit status.
func selectDevice(c *cli.Context, configDevice string) (string, error) {
	if c.IsSet("device") {
		device := c.String("device")
		if err := tensor.SetBackend(device); err != nil {
			return "", &usageError{err: err}
		}
		return device, nil
	}

	device := configDevice
	if device == "" {
		device = tensor.DefaultBackend
	}
	return device, tensor.SetBackend(device)
}

// flagError turns err into a usage error naming the flag when it is a
// config validation error on a key that a flag in flagKeys (config key to
// flag name) set on this command line, and returns err unchanged
// otherwise.
//
// A stage's range check ("invalid finetune config: max_steps is -1, must
// be >= 0") becomes "invalid --max-steps -1: must be >= 0", followed by
// what zero means when the flag's usage text gives it.
func flagError(c *cli.Context, err error, flagKeys map[string]string) error {
	var cerr *config.Error
	if !errors.As(err, &cerr) {
		return err
	}
	flag, ok := flagKeys[cerr.Key]
	if !ok || !c.IsSet(flag) {
		return err
	}

	_, want, ok := strings.Cut(cerr.Msg, ", must be ")
	if !ok {
		return usageErrorf("invalid --%s: %s", flag, cerr.Msg)
	}
	msg := fmt.Sprintf("invalid --%s %v: must be %s", flag, c.Value(flag), want)
	if zero := zeroMeaning(c, flag); zero != "" {
		msg += " (" + zero + ")"
	}
	return &usageError{err: errors.New(msg)}
}

// zeroMeaning returns the "0 means ..." clause of the usage text of the
// command's flag name, or "" when the usage text has none.
func zeroMeaning(c *cli.Context, name string) string {
	if c.Command == nil {
		return ""
	}
	for _, f := range c.Command.Flags {
		doc, ok := f.(cli.DocGenerationFlag)
		if !ok || !slices.Contains(f.Names(), name) {
			continue
		}
		_, zero, ok := strings.Cut(doc.GetUsage(), "0 means ")
		if !ok {
			return ""
		}
		zero, _, _ = strings.Cut(zero, ";")
		zero, _, _ = strings.Cut(zero, ")")
		return "0 means " + zero
	}
	return ""
}

// sourceFlags maps the fields of a collect source to the collect flags
// that set them for the sources of --source and PATH arguments.
var sourceFlags = map[string]string{"path": "source", "include": "include", "exclude": "exclude", "license": "license"}

// sourceFlagError turns err into a usage error naming the flag when it is
// a config validation error on a field of collect source first or a later
// one, which came from --source and PATH arguments, and returns err
// unchanged otherwise.
func sourceFlagError(err error, first int) error {
	var cerr *config.Error
	if !errors.As(err, &cerr) {
		return err
	}
	var index int
	var field string
	if _, scanErr := fmt.Sscanf(cerr.Key, "collect.sources[%d].%s", &index, &field); scanErr != nil || index < first {
		return err
	}
	field, _, _ = strings.Cut(field, "[")
	flag, ok := sourceFlags[field]
	if !ok {
		return err
	}
	return usageErrorf("invalid --%s: %s", flag, cerr.Msg)
}

// checkArgs returns the positional arguments of c, or a usage error when
// there are more than max of them (max < 0 means no limit) or one of them looks like a flag.
// urfave/cli stops parsing flags at the first positional argument, so a
// flag after it would otherwise be silently taken as an argument.
func checkArgs(c *cli.Context, max int) ([]string, error) {
	args := c.Args().Slice()
	for i, arg := range args {
		if len(arg) > 1 && strings.HasPrefix(arg, "-") {
			if i == 0 {
				return nil, usageErrorf("argument %q looks like a flag; flags go before arguments", arg)
			}
			return nil, usageErrorf("flag %s comes after the argument %q; put flags before arguments", arg, args[0])
		}
	}
	if max >= 0 && len(args) > max {
		if max == 0 {
			return nil, usageErrorf("unexpected argument %q: %s takes no arguments", args[0], c.Command.Name)
		}
		return nil, usageErrorf("unexpected argument %q: %s takes at most %d", args[max], c.Command.Name, max)
	}
	return args, nil
}

// loadConfig reads --config (or returns the defaults when it is unset) and
// resolves the workspace: --workspace when given, else the config's
// workspace, else the flag's default.
func loadConfig(c *cli.Context) (*config.Config, workspace, error) {
	cfg := config.Default()
	if path := c.Path("config"); path != "" {
		var err error
		cfg, err = config.Load(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", inputErrorf("config file %s not found", path)
		}
		if err != nil {
			return nil, "", err
		}
	}

	ws := c.Path("workspace")
	if !c.IsSet("workspace") && cfg.Workspace != "" {
		ws = cfg.Workspace
	}
	if err := checkNotFile(workspace(ws)); err != nil {
		return nil, "", err
	}
	return cfg, workspace(ws), nil
}

// checkNotFile returns an input error when ws exists and is not a folder.
// Every command checks this first, so that a file given as -w fails before
// a stage tries to create folders under it.
func checkNotFile(ws workspace) error {
	info, err := os.Stat(string(ws))
	if err != nil || info.IsDir() {
		return nil
	}
	return inputErrorf("workspace %s is a file, not a folder; pass a workspace folder with -w", ws)
}

// workspace is the root folder of a workspace. Its methods return the
// fixed locations of each stage's files.
type workspace string

func (w workspace) path(elem ...string) string {
	return filepath.Join(append([]string{string(w)}, elem...)...)
}

func (w workspace) collectDir() string    { return w.path("collect") }
func (w workspace) cleanDir() string      { return w.path("clean") }
func (w workspace) finetuneDir() string   { return w.path("finetune") }
func (w workspace) tunedModelDir() string { return w.path("finetune", "model") }
func (w workspace) evalDir() string       { return w.path("eval") }
func (w workspace) auditDir() string      { return w.path("audit") }
func (w workspace) reportFile() string    { return w.path("report", "report.html") }

// checkExists returns an input error naming what and path unless path
// exists.
func checkExists(path, what string) error {
	_, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return inputErrorf("%s %s not found", what, path)
	case err != nil:
		return inputErrorf("%s %s: %w", what, path, err)
	}
	return nil
}

// checkWorkspace returns an input error unless ws is an existing folder.
// Every stage that reads a workspace calls it before anything else there,
// so a mistyped -w fails with what to do next.
func checkWorkspace(ws workspace) error {
	info, err := os.Stat(string(ws))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return inputErrorf("workspace %s not found; run adapt collect -w %s first (or pass the right -w)", ws, ws)
	case err != nil:
		return inputErrorf("workspace %s: %w", ws, err)
	case !info.IsDir():
		return inputErrorf("workspace %s is a file, not a folder; pass a workspace folder with -w", ws)
	}
	return nil
}

// checkOutFile returns an error when out, the file a command writes, is an
// existing folder, because the command would write the whole file and then
// fail to rename it over the folder. setting is the flag or config key that
// set out (such as "--out" or "report.out"), and fileName is the file name
// that the message suggests inside the folder. A flag value gives a usage
// error and a config value an input error.
func checkOutFile(out, setting, fileName string) error {
	info, err := os.Stat(out)
	if err != nil || !info.IsDir() {
		return nil
	}
	err = fmt.Errorf("%s %s is a folder; give a file path such as %s", setting, out, filepath.Join(out, fileName))
	if strings.HasPrefix(setting, "-") {
		return &usageError{err: err}
	}
	return &inputError{err: err}
}

// inWorkspace reports whether path is ws or lies inside it.
func inWorkspace(ws workspace, path string) bool {
	rel, err := filepath.Rel(absPath(string(ws)), absPath(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// otherWorkspace returns the workspace folder when dir has the layout
// <root>/finetune/<name> of a stage output and root is not ws, and "" otherwise.
func otherWorkspace(ws workspace, dir string) string {
	dir = absPath(dir)
	parent := filepath.Dir(dir)
	if filepath.Base(parent) != "finetune" {
		return ""
	}
	root := filepath.Dir(parent)
	if root == absPath(string(ws)) {
		return ""
	}
	return root
}

// absPath returns path made absolute and cleaned, or path cleaned when the
// current folder is unknown.
func absPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	return abs
}

// checkModelDir returns an input error unless dir is a folder with a
// config.json, the least every Hugging Face model folder has.
func checkModelDir(dir, what string) error {
	if err := checkExists(dir, what); err != nil {
		return err
	}
	info, err := os.Stat(dir)
	if err != nil {
		return inputErrorf("%s %s: %w", what, dir, err)
	}
	if !info.IsDir() {
		return inputErrorf("%s %s is not a folder; give a Hugging Face model folder", what, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return inputErrorf("%s %s has no config.json; give a Hugging Face model folder (config.json, model.safetensors, tokenizer.json)", what, dir)
	}
	return nil
}

// checkStageOutput returns an input error unless the manifest of an
// earlier stage exists in dir.
func checkStageOutput(dir, stage, next string) error {
	manifest := filepath.Join(dir, "manifest.json")
	if _, err := os.Stat(manifest); err != nil {
		return inputErrorf("%s not found: run 'adapt %s' before 'adapt %s' or pass the right --workspace", manifest, stage, next)
	}
	return nil
}

// countSummary formats a stage's row counts.
func countSummary(in, kept, rejected int64) string {
	return fmt.Sprintf("%s in, %d kept, %d rejected", plural(in, "doc"), kept, rejected)
}

// plural formats n and noun, adding "s" to noun unless n is 1.
func plural[N int | int64](n N, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
