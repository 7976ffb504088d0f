// Command adapt turns a general pretrained language model into a domain
// specialist and records what that did. Each stage (collect, clean,
// finetune, eval, iterate, audit, report) is a subcommand that reads and
// writes files in a workspace folder. `adapt run` chains them from a YAML
// config, and `adapt quickstart` runs them on the legal texts every Debian
// system installs.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

// version is the tool version written into manifests and run records. The
// release build sets it with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args (args[0] is the program name) and
// returns the exit status. Tests call it in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &adapt{
		args:   args,
		stdout: stdout,
		stderr: stderr,
		log:    slog.New(slog.DiscardHandler),
		out:    &printer{w: stdout},
	}
	err := a.newApp().RunContext(ctx, args)
	return a.exit(ctx, err)
}

// adapt is the state shared by the subcommands of one invocation.
type adapt struct {
	// jsonErrors makes exit write the final error as one JSON log line,
	// set by --log-format json.
	jsonErrors bool
	// args is the command line, for error messages that quote it.
	args           []string
	stdout, stderr io.Writer
	// log writes diagnostics to stderr; the app's Before hook sets it up
	// from --log-level and --log-format.
	log *slog.Logger
	// out writes results to stdout.
	out *printer
	// lockedWorkspace is the absolute path of the workspace whose lock this
	// invocation holds, or "" when it holds none.
	lockedWorkspace string
}

func (a *adapt) newApp() *cli.App {
	return &cli.App{
		Name:      "adapt",
		Usage:     "turn a general language model into a domain specialist",
		UsageText: "adapt [global options] command [command options] [arguments...]",
		Version:   version,
		Description: "adapt runs a pipeline of stages that talk only through files in a workspace folder:\n" +
			"collect -> clean -> finetune -> eval -> iterate -> audit -> report.\n" +
			"Run one stage, inspect its output, and go on; or run them all with `adapt run` or `adapt quickstart`.\n" +
			"A command that writes into a workspace locks WORKSPACE/.adapt.lock until it exits, and a second\n" +
			"one started on the same workspace meanwhile exits with status 5.\n\n" +
			exitStatusHelp(exitOK, exitFailure, exitUsage, exitBadInput, exitBusy, exitInterrupted),
		Writer:                    a.stdout,
		ErrWriter:                 a.stderr,
		DisableSliceFlagSeparator: true,
		HideHelpCommand:           true,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "log-level",
				Value:   "warn",
				Usage:   "minimum level of diagnostics written to stderr: debug, info (stage progress), warn or error",
				EnvVars: []string{"ADAPT_LOG_LEVEL"},
			},
			&cli.StringFlag{
				Name:    "log-format",
				Value:   "text",
				Usage:   "format of diagnostics on stderr: text or json",
				EnvVars: []string{"ADAPT_LOG_FORMAT"},
			},
		},
		Before: a.setupLogging,
		Commands: []*cli.Command{
			a.collectCommand(),
			a.cleanCommand(),
			a.finetuneCommand(),
			a.evalCommand(),
			a.iterateCommand(),
			a.auditCommand(),
			a.reportCommand(),
			a.exportCommand(),
			a.runCommand(),
			a.quickstartCommand(),
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("unknown command %q", c.Args().First())
			}
			_ = cli.ShowAppHelp(c)
			return usageErrorf("missing command")
		},
		OnUsageError: a.onUsageError,
		// ExitErrHandler is a no-op so that urfave/cli never calls os.Exit:
		// exitcodes.go maps every error to a status in one place.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}
