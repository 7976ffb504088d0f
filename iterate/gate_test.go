package iterate

import (
	"errors"
	"strings"
	"testing"
)

func ptr(v float64) *float64 { return &v }

func TestParseGate(t *testing.T) {
	cases := []struct {
		in   string
		want Gate
	}{
		{"tuned/legal-heldout/perplexity<=60", Gate{Metric: "tuned/legal-heldout/perplexity", Max: ptr(60)}},
		{"tuned/qa/accuracy >= 0.7", Gate{Metric: "tuned/qa/accuracy", Min: ptr(0.7)}},
		{"tuned/legal-heldout/perplexity<=+5%", Gate{Metric: "tuned/legal-heldout/perplexity", MaxIncrease: ptr(0.05)}},
		{"tuned/qa/accuracy>=-2%", Gate{Metric: "tuned/qa/accuracy", MaxDecrease: ptr(0.02)}},
		{"tuned/general-heldout/perplexity<=base/general-heldout/perplexity+10%",
			Gate{Metric: "tuned/general-heldout/perplexity", MaxIncrease: ptr(0.10), RelativeTo: "base/general-heldout/perplexity"}},
		{"tuned/qa/accuracy>=base/qa/accuracy-0%", Gate{Metric: "tuned/qa/accuracy", MaxDecrease: ptr(0), RelativeTo: "base/qa/accuracy"}},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseGate(c.in)
			if err != nil {
				t.Fatalf("ParseGate(%q): %v", c.in, err)
			}
			if got.String() != c.want.String() || got.RelativeTo != c.want.RelativeTo {
				t.Errorf("ParseGate(%q) = %s (relative to %q), want %s (relative to %q)", c.in, got, got.RelativeTo, c.want, c.want.RelativeTo)
			}
		})
	}
}

func TestParseGateRejects(t *testing.T) {
	cases := []struct{ in, want string }{
		{"perplexity", "want METRIC<=VALUE"},
		{"<=5", "want METRIC<=VALUE"},
		{"tuned/x/perplexity<=", "want METRIC<=VALUE"},
		{"tuned/x/perplexity<=abc", "not a number"},
		{"tuned/x/perplexity<=-5%", "needs a + sign"},
		{"tuned/x/accuracy>=+5%", "needs a - sign"},
		{"tuned/x/perplexity<=+x%", "not a percentage"},
		{"tuned/x/perplexity<=+-5%", "not a percentage"},
		{"tuned/x/perplexity<=NaN", "want a finite number"},
		{"tuned/x/perplexity<=+5", "a signed value is a change and needs %"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			_, err := ParseGate(c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ParseGate(%q) error = %v, want one containing %q", c.in, err, c.want)
			}
		})
	}
}

func TestCheckGates(t *testing.T) {
	baseline := &Run{ID: "r1", Metrics: map[string]float64{
		"tuned/legal/perplexity": 40, "tuned/qa/accuracy": 0.80,
	}}
	run := &Run{ID: "r2", Metrics: map[string]float64{
		"tuned/legal/perplexity": 42, "tuned/qa/accuracy": 0.77,
		"base/general/perplexity": 80, "tuned/general/perplexity": 90,
	}}
	cases := []struct {
		name      string
		gate      Gate
		baseline  *Run
		passed    bool
		failure   string
		note      string
		reference float64
	}{
		{"max holds", Gate{Metric: "tuned/legal/perplexity", Max: ptr(50)}, baseline, true, "", "", 0},
		{"max fails", Gate{Metric: "tuned/legal/perplexity", Max: ptr(41)}, baseline, false, "above the maximum 41", "", 0},
		{"min fails", Gate{Metric: "tuned/qa/accuracy", Min: ptr(0.78)}, baseline, false, "below the minimum 0.78", "", 0},
		{"increase within", Gate{Metric: "tuned/legal/perplexity", MaxIncrease: ptr(0.05)}, baseline, true, "", "", 40},
		{"increase beyond", Gate{Metric: "tuned/legal/perplexity", MaxIncrease: ptr(0.04)}, baseline, false, "+5% against 40", "", 40},
		{"decrease beyond", Gate{Metric: "tuned/qa/accuracy", MaxDecrease: ptr(0.02)}, baseline, false, "-3.75% against 0.8", "", 0.8},
		{"decrease within", Gate{Metric: "tuned/qa/accuracy", MaxDecrease: ptr(0.05)}, baseline, true, "", "", 0.8},
		{"no baseline", Gate{Metric: "tuned/legal/perplexity", MaxIncrease: ptr(0)}, nil, true, "", "no baseline run", 0},
		{"baseline lacks metric", Gate{Metric: "tuned/general/perplexity", MaxIncrease: ptr(0)}, baseline, true, "", "no baseline run", 0},
		{"relative to base", Gate{Metric: "tuned/general/perplexity", MaxIncrease: ptr(0.10), RelativeTo: "base/general/perplexity"}, nil, false, "+12.5% against 80", "", 80},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			results, err := CheckGates(run, c.baseline, []Gate{c.gate})
			if err != nil {
				t.Fatalf("CheckGates: %v", err)
			}
			res := results[0]
			if res.Passed != c.passed {
				t.Errorf("Passed = %v, want %v (failures %q)", res.Passed, c.passed, res.Failures)
			}
			if c.failure != "" && (len(res.Failures) != 1 || !strings.Contains(res.Failures[0], c.failure)) {
				t.Errorf("Failures = %q, want one containing %q", res.Failures, c.failure)
			}
			if c.note != "" && (len(res.Notes) != 1 || !strings.Contains(res.Notes[0], c.note)) {
				t.Errorf("Notes = %q, want one containing %q", res.Notes, c.note)
			}
			if c.reference != 0 && (res.Reference == nil || *res.Reference != c.reference) {
				t.Errorf("Reference = %v, want %v", res.Reference, c.reference)
			}
		})
	}
}

func TestCheckGatesMissingMetric(t *testing.T) {
	run := &Run{ID: "r2", Metrics: map[string]float64{"tuned/legal/perplexity": 42}}
	for _, g := range []Gate{
		{Metric: "tuned/legal/perplexty", Max: ptr(50)},
		{Metric: "tuned/legal/perplexity", MaxIncrease: ptr(0.1), RelativeTo: "base/legal/perplexity"},
	} {
		_, err := CheckGates(run, nil, []Gate{g})
		if !errors.Is(err, ErrMetricNotFound) {
			t.Errorf("CheckGates(%s) error = %v, want ErrMetricNotFound", g, err)
		}
		if err != nil && !strings.Contains(err.Error(), "tuned/legal/perplexity") {
			t.Errorf("CheckGates(%s) error = %v, want the run's metric keys listed", g, err)
		}
	}
}

func TestGateValidateRejects(t *testing.T) {
	cases := []struct {
		name string
		gate Gate
		want string
	}{
		{"no metric", Gate{Max: ptr(1)}, "has no metric"},
		{"no check", Gate{Metric: "m"}, "checks nothing"},
		{"negative fraction", Gate{Metric: "m", MaxIncrease: ptr(-0.1)}, "want a fraction >= 0"},
		{"relative without fraction", Gate{Metric: "m", Max: ptr(1), RelativeTo: "n"}, "needs max_increase or max_decrease"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.gate.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func FuzzParseGate(f *testing.F) {
	for _, s := range []string{"a/b/c<=1", "a>=-2%", "a<=b+3%", "a>=b-0.5%", "<=", "a<=+%", "a<=1e308"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGate(s)
		if err != nil {
			return
		}
		if err := g.Validate(); err != nil {
			t.Fatalf("ParseGate(%q) returned gate %s that fails Validate: %v", s, g, err)
		}
		if _, err := ParseGate(g.String()); err != nil && !strings.Contains(g.String(), " and ") {
			t.Fatalf("ParseGate(%q).String() = %q does not parse again: %v", s, g.String(), err)
		}
	})
}

func TestCheckGatesStaleMetric(t *testing.T) {
	run := &Run{ID: "r2", Metrics: map[string]float64{"tuned/legal/perplexity": 42, "base/legal/perplexity": 50},
		Stale: []string{"tuned/legal"}}
	for _, g := range []Gate{
		{Metric: "tuned/legal/perplexity", Max: ptr(50)},
		{Metric: "base/legal/perplexity", MaxDecrease: ptr(0.1), RelativeTo: "tuned/legal/perplexity"},
	} {
		_, err := CheckGates(run, nil, []Gate{g})
		if !errors.Is(err, ErrStaleMetric) || !strings.Contains(err.Error(), "run adapt eval again") {
			t.Errorf("CheckGates(%s) error = %v, want ErrStaleMetric telling to rerun eval", g, err)
		}
	}
	if _, err := CheckGates(run, nil, []Gate{{Metric: "base/legal/perplexity", Max: ptr(60)}}); err != nil {
		t.Errorf("gate on a current metric: %v", err)
	}
}

func TestCheckGatesSignificant(t *testing.T) {
	baseline := &Run{ID: "r1", Metrics: map[string]float64{"tuned/legal/perplexity": 40}}
	run := &Run{ID: "r2",
		Metrics:   map[string]float64{"tuned/legal/perplexity": 44, "tuned/qa/accuracy": 0.70, "tuned/other/perplexity": 44},
		Intervals: map[string][2]float64{"tuned/legal/perplexity": {41, 47}, "tuned/qa/accuracy": {0.62, 0.79}},
	}
	cases := []struct {
		name   string
		gate   Gate
		passed bool
		note   string
	}{
		// +5% against 40 allows 42; the value is 44 but the interval
		// starts at 41, so the rise is not significant.
		{"increase within interval", Gate{Metric: "tuned/legal/perplexity", MaxIncrease: ptr(0.05), Significant: true}, true, ""},
		{"increase beyond interval", Gate{Metric: "tuned/legal/perplexity", MaxIncrease: ptr(0.01), Significant: true}, false, ""},
		{"same gate on the value", Gate{Metric: "tuned/legal/perplexity", MaxIncrease: ptr(0.05)}, false, ""},
		{"min within interval", Gate{Metric: "tuned/qa/accuracy", Min: ptr(0.75), Significant: true}, true, ""},
		{"min beyond interval", Gate{Metric: "tuned/qa/accuracy", Min: ptr(0.80), Significant: true}, false, ""},
		{"no interval", Gate{Metric: "tuned/other/perplexity", Max: ptr(45), Significant: true}, true, "has no confidence interval"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			results, err := CheckGates(run, baseline, []Gate{c.gate})
			if err != nil {
				t.Fatalf("CheckGates: %v", err)
			}
			res := results[0]
			if res.Passed != c.passed {
				t.Errorf("Passed = %v, want %v (failures %q)", res.Passed, c.passed, res.Failures)
			}
			if c.note != "" && (len(res.Notes) == 0 || !strings.Contains(res.Notes[0], c.note)) {
				t.Errorf("Notes = %q, want one containing %q", res.Notes, c.note)
			}
			if !res.Passed && c.gate.Significant && !strings.Contains(res.Failures[0], "95% interval") {
				t.Errorf("failure %q does not show the interval", res.Failures[0])
			}
		})
	}
}
