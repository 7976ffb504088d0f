package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/tensor"
	"golang.org/x/term"
)

// printer writes results to stdout. Diagnostics go to stderr through
// adapt.log instead.
type printer struct{ w io.Writer }

// stage prints one summary line for a finished stage, for example
// "collect   3412 docs in, 3398 kept, 14 rejected   2.1s".
func (p *printer) stage(name, summary string, elapsed time.Duration) {
	fmt.Fprintf(p.w, "%-9s %s   %s\n", name, summary, formatDuration(elapsed))
}

// line prints one line of results.
func (p *printer) line(format string, args ...any) {
	fmt.Fprintf(p.w, format+"\n", args...)
}

func formatDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// setupLogging builds adapt.log from --log-level and --log-format.
func (a *adapt) setupLogging(c *cli.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return usageErrorf("invalid --log-level %q: use debug, info, warn or error", c.String("log-level"))
	}
	opts := &slog.HandlerOptions{Level: level}

	switch format := strings.ToLower(c.String("log-format")); format {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
		a.jsonErrors = true
	default:
		return usageErrorf("invalid --log-format %q: use text or json", format)
	}
	a.logMatrixBackend()
	return nil
}

// logMatrixBackend logs which matrix-product backend this process uses,
// and warns when ADAPT_BLAS holds a value that tensor ignores.
func (a *adapt) logMatrixBackend() {
	switch v := strings.ToLower(strings.TrimSpace(os.Getenv("ADAPT_BLAS"))); v {
	case "", "go", "openblas":
	default:
		a.log.Warn("ignoring invalid ADAPT_BLAS; use go or openblas", "ADAPT_BLAS", os.Getenv("ADAPT_BLAS"), "backend", tensor.BLAS())
	}
	attrs := []any{"backend", tensor.BLAS()}
	if tensor.BLAS() == "go" {
		attrs = append(attrs, "kernel", tensor.GemmKernel())
	}
	if err := tensor.BLASError(); err != nil {
		attrs = append(attrs, "reason", err.Error())
	}
	a.log.Debug("matrix products", attrs...)
}

// progress returns a callback that draws a progress bar labeled desc on
// stderr, and a function that clears it. A total below 1 draws a spinner
// with the count. The bar is drawn only when stderr
// is a terminal and the CI environment variable is unset; otherwise both
// functions do nothing.
func (a *adapt) progress(desc string) (update func(done, total int64), finish func()) {
	if !a.interactive() {
		return func(int64, int64) {}, func() {}
	}

	var bar *progressbar.ProgressBar
	update = func(done, total int64) {
		if bar == nil {
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(a.stderr),
				progressbar.OptionSetDescription(fmt.Sprintf("%-9s", desc)),
				progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish(),
			)
		}
		if total > 0 && total != bar.GetMax64() {
			bar.ChangeMax64(total)
		}
		_ = bar.Set64(done)
	}
	finish = func() {
		if bar != nil {
			_ = bar.Finish()
		}
	}
	return update, finish
}

// interactive reports whether stderr is a terminal outside CI.
func (a *adapt) interactive() bool {
	if _, ci := os.LookupEnv("CI"); ci {
		return false
	}
	f, ok := a.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
