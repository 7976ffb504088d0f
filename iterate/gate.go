package iterate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Gate is one regression check on a run's metrics, for CI: it fails when a
// metric leaves an absolute range or worsens by more than a fraction of a
// reference value. The reference is the same metric in a baseline run, or
// another metric of the same run when RelativeTo is set (for example the
// base model's general-text perplexity, to bound forgetting).
type Gate struct {
	// Metric is a key of Run.Metrics, such as "tuned/legal-heldout/perplexity".
	Metric string `yaml:"metric" json:"metric"`
	// Max and Min bound the metric's value. Nil means no bound.
	Max *float64 `yaml:"max" json:"max,omitempty"`
	Min *float64 `yaml:"min" json:"min,omitempty"`
	// MaxIncrease fails the gate when the value exceeds the reference by
	// more than this fraction of it (0.05 allows 5% more), for metrics where
	// lower is better, such as perplexity. Nil means no such check.
	MaxIncrease *float64 `yaml:"max_increase" json:"max_increase,omitempty"`
	// MaxDecrease fails the gate when the value falls below the reference
	// by more than this fraction of it, for metrics where higher is better,
	// such as accuracy. Nil means no such check.
	MaxDecrease *float64 `yaml:"max_decrease" json:"max_decrease,omitempty"`
	// RelativeTo is another key of the same run's metrics to use as the
	// reference. Empty means the same metric in the baseline run.
	RelativeTo string `yaml:"relative_to" json:"relative_to,omitempty"`
	// Significant makes the gate fail only when the metric's whole 95%
	// confidence interval (from eval's bootstrap) is past a bound: the
	// interval's low end is checked against upper bounds (max,
	// max_increase) and its high end against lower bounds (min,
	// max_decrease). A metric without an interval is checked by its value,
	// with a note. False checks the value.
	Significant bool `yaml:"significant" json:"significant,omitempty"`
}

// Validate reports a gate that names no metric, checks nothing, or has a
// negative or non-finite fraction or bound.
func (g Gate) Validate() error {
	if strings.TrimSpace(g.Metric) == "" {
		return fmt.Errorf("gate has no metric; set metric to a key such as tuned/legal-heldout/perplexity")
	}
	if g.Max == nil && g.Min == nil && g.MaxIncrease == nil && g.MaxDecrease == nil {
		return fmt.Errorf("gate on %s checks nothing; set max, min, max_increase or max_decrease", g.Metric)
	}
	for _, b := range []struct {
		name string
		v    *float64
	}{{"max", g.Max}, {"min", g.Min}, {"max_increase", g.MaxIncrease}, {"max_decrease", g.MaxDecrease}} {
		if b.v == nil {
			continue
		}
		if math.IsNaN(*b.v) || math.IsInf(*b.v, 0) {
			return fmt.Errorf("gate on %s: %s is %v, want a finite number", g.Metric, b.name, *b.v)
		}
		if (b.name == "max_increase" || b.name == "max_decrease") && *b.v < 0 {
			return fmt.Errorf("gate on %s: %s is %v, want a fraction >= 0 (0.05 allows 5%%)", g.Metric, b.name, *b.v)
		}
	}
	if g.RelativeTo != "" && g.MaxIncrease == nil && g.MaxDecrease == nil {
		return fmt.Errorf("gate on %s: relative_to %s needs max_increase or max_decrease", g.Metric, g.RelativeTo)
	}
	return nil
}

// String writes the gate in the syntax that ParseGate reads, one check
// per clause, joined by " and ".
func (g Gate) String() string {
	var parts []string
	if g.Max != nil {
		parts = append(parts, g.Metric+"<="+formatFloat(*g.Max))
	}
	if g.Min != nil {
		parts = append(parts, g.Metric+">="+formatFloat(*g.Min))
	}
	if g.MaxIncrease != nil {
		parts = append(parts, g.Metric+"<="+g.RelativeTo+"+"+formatFloat(100**g.MaxIncrease)+"%")
	}
	if g.MaxDecrease != nil {
		parts = append(parts, g.Metric+">="+g.RelativeTo+"-"+formatFloat(100**g.MaxDecrease)+"%")
	}
	s := strings.Join(parts, " and ")
	if g.Significant {
		s += " (95% interval)"
	}
	return s
}

// ParseGate reads one gate from the command-line syntax:
//
//	METRIC<=NUMBER          value at most NUMBER
//	METRIC>=NUMBER          value at least NUMBER
//	METRIC<=+P%             at most P% above the baseline run's value
//	METRIC>=-P%             at most P% below the baseline run's value
//	METRIC<=OTHER+P%        at most P% above metric OTHER of the same run
//	METRIC>=OTHER-P%        at most P% below metric OTHER of the same run
//
// Metric keys contain no spaces, '<', '>' or '='.
func ParseGate(s string) (Gate, error) {
	s = strings.TrimSpace(s)
	op := "<="
	i := strings.Index(s, op)
	if i < 0 {
		op = ">="
		i = strings.Index(s, op)
	}
	if i <= 0 {
		return Gate{}, fmt.Errorf("invalid gate %q: want METRIC<=VALUE or METRIC>=VALUE, such as tuned/legal-heldout/perplexity<=+5%%", s)
	}
	g := Gate{Metric: strings.TrimSpace(s[:i])}
	rhs := strings.TrimSpace(s[i+len(op):])
	if strings.ContainsAny(g.Metric, " <>=") || rhs == "" {
		return Gate{}, fmt.Errorf("invalid gate %q: want METRIC<=VALUE or METRIC>=VALUE, such as tuned/legal-heldout/perplexity<=+5%%", s)
	}

	if !strings.HasSuffix(rhs, "%") {
		if strings.HasPrefix(rhs, "+") || strings.HasPrefix(rhs, "-") {
			return Gate{}, fmt.Errorf("invalid gate %q: a signed value is a change and needs %%, as in %s%s%%; write an absolute bound without a sign (a negative one goes in the config's min or max)", s, op, rhs)
		}
		v, err := strconv.ParseFloat(rhs, 64)
		if err != nil {
			return Gate{}, fmt.Errorf("invalid gate %q: %q is not a number or a percentage such as +5%%", s, rhs)
		}
		if op == "<=" {
			g.Max = &v
		} else {
			g.Min = &v
		}
		return g, g.Validate()
	}

	// A percentage: the sign must match the direction, and anything before
	// the sign names the reference metric.
	sign := "+"
	if op == ">=" {
		sign = "-"
	}
	j := strings.LastIndex(rhs, sign)
	if j < 0 {
		return Gate{}, fmt.Errorf("invalid gate %q: with %s the percentage needs a %s sign, as in %s%s5%%", s, op, sign, op, sign)
	}
	g.RelativeTo = strings.TrimSpace(rhs[:j])
	if strings.ContainsAny(g.RelativeTo, " <>=") {
		return Gate{}, fmt.Errorf("invalid gate %q: reference metric %q contains a space, '<', '>' or '='", s, g.RelativeTo)
	}
	p, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(rhs[j+1:], "%")), 64)
	if err != nil || p < 0 {
		return Gate{}, fmt.Errorf("invalid gate %q: %q is not a percentage >= 0", s, rhs[j+1:])
	}
	frac := p / 100
	if op == "<=" {
		g.MaxIncrease = &frac
	} else {
		g.MaxDecrease = &frac
	}
	return g, g.Validate()
}

// GateResult is the outcome of one gate on one run.
type GateResult struct {
	Gate Gate `json:"gate"`
	// Value is the metric's value in the checked run.
	Value float64 `json:"value"`
	// Reference is the value the fractions were applied to, and
	// ReferenceFrom names its source ("run <id>" or a metric key).
	// Reference is nil when the gate has no fraction, or when no baseline
	// run has the metric.
	Reference     *float64 `json:"reference,omitempty"`
	ReferenceFrom string   `json:"reference_from,omitempty"`
	// Interval is the metric's 95% confidence interval that a significant
	// gate checked, or nil.
	Interval *[2]float64 `json:"interval,omitempty"`
	// Passed is false when any check of the gate failed.
	Passed bool `json:"passed"`
	// Failures lists each failed check in words; Notes lists checks that
	// were skipped and why.
	Failures []string `json:"failures,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// CheckGates applies gates to run. baseline is the run that fractions
// without RelativeTo compare against. When it is nil, those checks are
// skipped with a note. It returns an error wrapping ErrMetricNotFound when
// run lacks a gated metric or a RelativeTo metric, because that is almost
// always a mistyped key or a skipped eval.
func CheckGates(run, baseline *Run, gates []Gate) ([]GateResult, error) {
	results := make([]GateResult, 0, len(gates))
	for _, g := range gates {
		if err := g.Validate(); err != nil {
			return nil, err
		}
		value, ok := run.Metrics[g.Metric]
		if !ok {
			return nil, fmt.Errorf("%w: gate on %s: run %s has no such metric; it has %s", ErrMetricNotFound, g.Metric, run.ID, metricKeys(run))
		}
		for _, key := range []string{g.Metric, g.RelativeTo} {
			if result := staleResult(run, key); result != "" {
				return nil, fmt.Errorf("%w: gate on %s: eval result %s was scored on older weights than the current fine-tuned model; run adapt eval again, then adapt iterate",
					ErrStaleMetric, g.Metric, result)
			}
		}
		res := GateResult{Gate: g, Value: value, Passed: true}
		fail := func(format string, args ...any) {
			res.Passed = false
			res.Failures = append(res.Failures, fmt.Sprintf(format, args...))
		}
		// againstUpper is compared with upper bounds and againstLower with
		// lower bounds: the value itself, or for a significant gate the end
		// of its interval nearest the bound, so that only a change the
		// interval cannot explain fails.
		againstUpper, againstLower, valueText := value, value, "is "+formatFloat(value)
		if g.Significant {
			if iv, ok := run.Intervals[g.Metric]; ok {
				res.Interval = &iv
				againstUpper, againstLower = iv[0], iv[1]
				valueText = fmt.Sprintf("is %s (95%% interval %s to %s)", formatFloat(value), formatFloat(iv[0]), formatFloat(iv[1]))
			} else {
				res.Notes = append(res.Notes, g.Metric+" has no confidence interval, so its value is checked")
			}
		}
		if g.Max != nil && againstUpper > *g.Max {
			fail("%s %s, above the maximum %s", g.Metric, valueText, formatFloat(*g.Max))
		}
		if g.Min != nil && againstLower < *g.Min {
			fail("%s %s, below the minimum %s", g.Metric, valueText, formatFloat(*g.Min))
		}
		if g.MaxIncrease != nil || g.MaxDecrease != nil {
			ref, from, err := gateReference(g, run, baseline)
			if err != nil {
				return nil, err
			}
			if from == "" {
				res.Notes = append(res.Notes, "no baseline run has "+g.Metric+", so its change is not checked")
			} else {
				res.Reference, res.ReferenceFrom = &ref, from
				change := relativeChange(value, ref)
				if g.MaxIncrease != nil && againstUpper > ref*(1+*g.MaxIncrease) {
					fail("%s %s, %s against %s (%s), but at most +%s%% is allowed",
						g.Metric, valueText, formatPercent(change), formatFloat(ref), from, formatFloat(100**g.MaxIncrease))
				}
				if g.MaxDecrease != nil && againstLower < ref*(1-*g.MaxDecrease) {
					fail("%s %s, %s against %s (%s), but at most -%s%% is allowed",
						g.Metric, valueText, formatPercent(change), formatFloat(ref), from, formatFloat(100**g.MaxDecrease))
				}
			}
		}
		results = append(results, res)
	}
	return results, nil
}

// gateReference returns the value that g's fractions apply to and where it
// came from, or an empty source when there is no baseline value.
func gateReference(g Gate, run, baseline *Run) (float64, string, error) {
	if g.RelativeTo != "" {
		ref, ok := run.Metrics[g.RelativeTo]
		if !ok {
			return 0, "", fmt.Errorf("%w: gate on %s: run %s has no metric %s to compare with; it has %s",
				ErrMetricNotFound, g.Metric, run.ID, g.RelativeTo, metricKeys(run))
		}
		return ref, g.RelativeTo, nil
	}
	if baseline == nil {
		return 0, "", nil
	}
	ref, ok := baseline.Metrics[g.Metric]
	if !ok {
		return 0, "", nil
	}
	return ref, "run " + baseline.ID, nil
}

// staleResult returns the entry of run.Stale that metric key belongs to,
// or "" when it is current.
func staleResult(run *Run, key string) string {
	for _, prefix := range run.Stale {
		if strings.HasPrefix(key, prefix+"/") {
			return prefix
		}
	}
	return ""
}

// relativeChange returns (value-ref)/|ref|, or ±Inf when ref is 0 and
// value is not.
func relativeChange(value, ref float64) float64 {
	if ref == 0 {
		if value == 0 {
			return 0
		}
		return math.Inf(int(math.Copysign(1, value)))
	}
	return (value - ref) / math.Abs(ref)
}

func formatPercent(change float64) string {
	if math.IsInf(change, 0) {
		return formatSigned(change)
	}
	return formatSigned(100*change) + "%"
}

// metricKeys lists a run's metric keys for an error message.
func metricKeys(run *Run) string {
	if len(run.Metrics) == 0 {
		return "no metrics (run adapt eval before adapt iterate)"
	}
	keys := make([]string, 0, len(run.Metrics))
	for k := range run.Metrics {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}
