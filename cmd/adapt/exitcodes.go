package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/clean"
	"github.com/adapt-llm/adapt/collect"
	"github.com/adapt-llm/adapt/compliance"
	"github.com/adapt-llm/adapt/config"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
	"github.com/adapt-llm/adapt/iterate"
	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/model/gguf"
	"github.com/adapt-llm/adapt/tensor"
)

// Exit statuses of adapt. This file is the one place that maps errors to
// them; every command's help lists the ones it can return.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitBadInput = 3
	// exitRegression means a regression gate of iterate failed on the
	// metrics of the run just recorded.
	exitRegression = 4
	// exitBusy means another adapt process holds the workspace lock. It
	// differs from exitFailure so that a script can wait and retry.
	exitBusy        = 5
	exitInterrupted = 130
)

var exitStatusText = map[int]string{
	exitOK:          "success",
	exitFailure:     "runtime failure (I/O error, a stage that could not finish)",
	exitUsage:       "usage error (unknown flag, invalid flag value, flag after an argument, extra argument)",
	exitBadInput:    "bad input data or config (missing source, model folder without config.json, invalid YAML or config value)",
	exitRegression:  "a regression gate failed (iterate.gates or --gate)",
	exitBusy:        "workspace in use by another adapt process (WORKSPACE/.adapt.lock is locked)",
	exitInterrupted: "interrupted (Ctrl-C or SIGTERM)",
}

// exitStatusHelp formats the "Exit status" section of a command's help.
func exitStatusHelp(codes ...int) string {
	var b strings.Builder
	b.WriteString("Exit status:")
	for _, code := range codes {
		fmt.Fprintf(&b, "\n  %-3d  %s", code, exitStatusText[code])
	}
	return b.String()
}

// usageError is a command line that adapt cannot parse. It maps to exit
// status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// inputError is bad input data or config: a missing source, a model folder
// without config.json, an invalid config value. It maps to exit status 3.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

func inputErrorf(format string, args ...any) error {
	return &inputError{err: fmt.Errorf(format, args...)}
}

// onUsageError turns urfave/cli flag parsing errors into usage errors. An
// undefined flag that is one of adapt's global flags gets a message that
// shows where it belongs, because urfave/cli reads global flags only before
// the command.
func (a *adapt) onUsageError(c *cli.Context, err error, _ bool) error {
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
	name = strings.TrimPrefix(name, "-")
	if ok && c.Command != nil && c.Command.Name != "" && isGlobalFlag(c.App, name) {
		return usageErrorf("--%s is a global flag: put it before the command (adapt --%s %s %s …)",
			name, name, a.flagValue(name), c.Command.Name)
	}
	return &usageError{err: err}
}

// isGlobalFlag reports whether name is a name of one of app's flags.
func isGlobalFlag(app *cli.App, name string) bool {
	for _, f := range app.Flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}

// flagValue returns the value that follows --name (or -name) on the command
// line, or "VALUE" when there is none.
func (a *adapt) flagValue(name string) string {
	for i, arg := range a.args {
		for _, prefix := range []string{"--" + name, "-" + name} {
			if value, ok := strings.CutPrefix(arg, prefix+"="); ok {
				return value
			}
			if arg == prefix && i+1 < len(a.args) {
				return a.args[i+1]
			}
		}
	}
	return "VALUE"
}

// badInputSentinels are the stage errors that mean the input data or
// config is at fault rather than the program or the machine.
var badInputSentinels = []error{
	config.ErrUnknownKey,
	config.ErrSyntax,
	config.ErrInvalid,
	collect.ErrSourceNotFound,
	collect.ErrInvalidOptions,
	// A remote source aimed at a refused address, or an edgar source
	// without a contact in its User-Agent, is fixed in the config.
	collect.ErrAddressRefused,
	collect.ErrUserAgent,
	clean.ErrInvalidConfig,
	clean.ErrEmptyCorpus,
	clean.ErrInputMismatch,
	compliance.ErrNothingToAudit,
	finetune.ErrInvalidConfig,
	finetune.ErrNoData,
	finetune.ErrBadBaseModel,
	finetune.ErrCheckpointMismatch,
	eval.ErrInvalidConfig,
	eval.ErrNoDocuments,
	eval.ErrBadModel,
	eval.ErrBadTaskSet,
	iterate.ErrRunNotFound,
	iterate.ErrInvalidRunID,
	iterate.ErrMetricNotFound,
	iterate.ErrStaleMetric,
	// An unknown backend from the config file is bad input; selectDevice
	// wraps one from --device in a usageError instead.
	tensor.ErrUnknownBackend,
	model.ErrUnsupported,
	model.ErrMissingTensor,
	gguf.ErrUnsupported,
	gguf.ErrMissing,
	gguf.ErrCorrupt,
}

// isMalformedData reports whether err comes from decoding bad input data
// that no stage sentinel covers. Such data is invalid JSON or a JSON value
// of the wrong type in a manifest, run record or model file, or a line
// longer than a scanner's buffer. eval task-set errors wrap
// eval.ErrBadTaskSet instead.
func isMalformedData(err error) bool {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	return errors.As(err, &syntax) || errors.As(err, &typ) || errors.Is(err, bufio.ErrTooLong)
}

// exitCode maps the error a command returned to adapt's exit status.
func exitCode(ctx context.Context, err error) int {
	var usage *usageError
	var input *inputError
	var busy *workspaceBusyError
	var gates *gateFailure
	switch {
	case err == nil:
		return exitOK
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &busy):
		return exitBusy
	case errors.As(err, &gates):
		return exitRegression
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &input):
		return exitBadInput
	}
	for _, sentinel := range badInputSentinels {
		if errors.Is(err, sentinel) {
			return exitBadInput
		}
	}
	if isMalformedData(err) {
		return exitBadInput
	}
	return exitFailure
}

// exit writes err to stderr and returns the exit status for it.
func (a *adapt) exit(ctx context.Context, err error) int {
	code := exitCode(ctx, err)
	if code != exitOK && a.jsonErrors {
		msg := "interrupted"
		if code != exitInterrupted {
			msg = err.Error()
		}
		line, _ := json.Marshal(map[string]any{"time": time.Now().Format(time.RFC3339Nano), "level": "ERROR", "msg": msg, "exit_status": code})
		fmt.Fprintf(a.stderr, "%s\n", line)
		return code
	}
	switch code {
	case exitOK:
	case exitInterrupted:
		fmt.Fprintln(a.stderr, "adapt: interrupted")
	case exitUsage:
		fmt.Fprintf(a.stderr, "adapt: %v\nRun 'adapt --help' or 'adapt COMMAND --help' for usage.\n", err)
	default:
		fmt.Fprintf(a.stderr, "adapt: %v\n", err)
	}
	return code
}
