package iterate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Diff is the set of changes from run A to run B.
type Diff struct {
	// A and B are the ids of the old and the new run.
	A string `json:"a"`
	B string `json:"b"`

	// InputsAdded are in B only, InputsRemoved in A only, matched by path.
	InputsAdded   []Input `json:"inputs_added,omitempty"`
	InputsRemoved []Input `json:"inputs_removed,omitempty"`
	// InputsChanged have the same path and a different hash or row count.
	InputsChanged []InputChange `json:"inputs_changed,omitempty"`
	// InputsUnchanged counts inputs with the same path, hash and rows.
	InputsUnchanged int `json:"inputs_unchanged"`

	// ConfigChanges lists changed leaf values of the config, keyed by
	// dotted path ("clean.min_words", "sources[0].path"), sorted by key.
	ConfigChanges []ConfigChange `json:"config_changes,omitempty"`
	// ConfigSections lists the top-level config sections present in one
	// run only, or the whole config (Key "") when one run has none. Their
	// leaf keys are in ConfigChanges too, but Write prints one line each.
	ConfigSections []SectionChange `json:"config_sections,omitempty"`

	// EffectiveChanges lists changed leaf values of the stages' effective
	// settings (Run.Effective), keyed "effective.<stage>.<key>".
	EffectiveChanges []ConfigChange `json:"effective_changes,omitempty"`
	// EffectiveSections lists the stages whose effective settings are
	// recorded in one run only (Key "effective.<stage>").
	EffectiveSections []SectionChange `json:"effective_sections,omitempty"`

	// Stages lists the stages whose counts, reasons or stats differ.
	// Timings alone never make a stage change, because wall times differ
	// between runs of the same work.
	Stages []StageChange `json:"stages,omitempty"`

	// Timings lists the stages, timed in both runs, whose wall time moved
	// by at least timingMinSeconds and timingMinRelative.
	Timings []TimingChange `json:"timings,omitempty"`

	// Metrics lists every metric in either run, sorted by name.
	Metrics []MetricDelta `json:"metrics,omitempty"`
}

// InputChange is one input present in both runs with different content.
type InputChange struct {
	Old Input `json:"old"`
	New Input `json:"new"`
}

// ConfigChange is one config value that differs. Values are JSON-encoded,
// and Old or New is "" when the key is absent from that run.
type ConfigChange struct {
	Key string `json:"key"`
	Old string `json:"old"`
	New string `json:"new"`
}

// SectionChange is a group of config keys present in one run only.
type SectionChange struct {
	// Key is the section's dotted path; "" is the whole config.
	Key string `json:"key"`
	// Keys is the number of leaf keys in the section.
	Keys int `json:"keys"`
	// Added is true when the section is in the new run only, false when it
	// is in the old run only.
	Added bool `json:"added"`
}

// StageChange is one stage whose summary differs. Old or New is nil when
// the stage is absent from that run.
type StageChange struct {
	Name string        `json:"name"`
	Old  *StageSummary `json:"old,omitempty"`
	New  *StageSummary `json:"new,omitempty"`
}

// TimingChange is one stage's wall time in both runs, in seconds.
type TimingChange struct {
	Name string  `json:"name"`
	Old  float64 `json:"old"`
	New  float64 `json:"new"`
}

// Thresholds for listing a timing change: both must be reached, so that
// the usual run-to-run jitter of a stage stays out of the diff.
const (
	timingMinSeconds  = 1.0
	timingMinRelative = 0.10
)

// MetricDelta is one metric's change. InOld and InNew record which runs
// contain it, and Delta and Relative are set only when both do.
type MetricDelta struct {
	Name  string  `json:"name"`
	Old   float64 `json:"old"`
	New   float64 `json:"new"`
	InOld bool    `json:"in_old"`
	InNew bool    `json:"in_new"`
	// Delta is New - Old.
	Delta float64 `json:"delta"`
	// Relative is Delta / |Old|. HasRelative is false when Old is zero.
	Relative    float64 `json:"relative"`
	HasRelative bool    `json:"has_relative"`
}

// Compare returns the changes from run a to run b. It panics when either
// is nil.
func Compare(a, b *Run) Diff {
	if a == nil || b == nil {
		panic("iterate: Compare called with a nil run")
	}
	d := Diff{A: a.ID, B: b.ID}
	compareInputs(&d, a.Inputs, b.Inputs)
	d.ConfigChanges, d.ConfigSections = compareConfig("", a.Config, b.Config)
	var oldEffective, newEffective any
	if a.Effective != nil {
		oldEffective = a.Effective
	}
	if b.Effective != nil {
		newEffective = b.Effective
	}
	d.EffectiveChanges, d.EffectiveSections = compareConfig("effective", oldEffective, newEffective)
	d.Stages = compareStages(a.Stages, b.Stages)
	d.Timings = compareTimings(a.Stages, b.Stages)
	d.Metrics = compareMetrics(a.Metrics, b.Metrics)
	return d
}

func compareInputs(d *Diff, old, new []Input) {
	oldByPath := make(map[string]Input, len(old))
	for _, in := range old {
		oldByPath[in.Path] = in
	}
	seen := make(map[string]bool, len(new))
	for _, in := range new {
		seen[in.Path] = true
		prev, ok := oldByPath[in.Path]
		switch {
		case !ok:
			d.InputsAdded = append(d.InputsAdded, in)
		case prev.SHA256 != in.SHA256 || prev.Rows != in.Rows:
			d.InputsChanged = append(d.InputsChanged, InputChange{Old: prev, New: in})
		default:
			d.InputsUnchanged++
		}
	}
	for _, in := range old {
		if !seen[in.Path] {
			d.InputsRemoved = append(d.InputsRemoved, in)
		}
	}
}

// compareConfig flattens both configs to dotted leaf keys under prefix and
// lists the keys whose JSON values differ, sorted by key. It also returns
// the sections (objects or arrays) present in one config only, each at its
// shortest such path, or one section with Key prefix when a whole config
// is present in one run only.
func compareConfig(prefix string, old, new any) ([]ConfigChange, []SectionChange) {
	oldLeaves := map[string]string{}
	newLeaves := map[string]string{}
	flatten(prefix, old, oldLeaves)
	flatten(prefix, new, newLeaves)

	keys := map[string]bool{}
	for k := range oldLeaves {
		keys[k] = true
	}
	for k := range newLeaves {
		keys[k] = true
	}

	var changes []ConfigChange
	for k := range keys {
		if oldLeaves[k] != newLeaves[k] {
			changes = append(changes, ConfigChange{Key: k, Old: oldLeaves[k], New: newLeaves[k]})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Key < changes[j].Key })

	// Sections present in one run only.
	switch {
	case old == nil && new == nil:
		return changes, nil
	case old == nil:
		return changes, []SectionChange{{Key: prefix, Keys: len(newLeaves), Added: true}}
	case new == nil:
		return changes, []SectionChange{{Key: prefix, Keys: len(oldLeaves)}}
	}
	oldPrefixes, newPrefixes := ancestorSet(prefix, oldLeaves), ancestorSet(prefix, newLeaves)
	counts := map[SectionChange]int{}
	for _, c := range changes {
		switch {
		case c.Old == "":
			if section, ok := absentAncestor(prefix, c.Key, oldPrefixes); ok {
				counts[SectionChange{Key: section, Added: true}]++
			}
		case c.New == "":
			if section, ok := absentAncestor(prefix, c.Key, newPrefixes); ok {
				counts[SectionChange{Key: section}]++
			}
		}
	}
	var sections []SectionChange
	for s, n := range counts {
		s.Keys = n
		sections = append(sections, s)
	}
	sort.Slice(sections, func(i, j int) bool { return sections[i].Key < sections[j].Key })
	return changes, sections
}

// ancestors returns the proper ancestors of the dotted key below prefix,
// shortest first: "a", "a.b" and "a.b[0]" for "a.b[0].c".
func ancestors(prefix, key string) []string {
	var out []string
	for i := len(prefix) + 1; i < len(key); i++ {
		if key[i] == '.' || key[i] == '[' {
			out = append(out, key[:i])
		}
	}
	return out
}

// ancestorSet returns every proper ancestor of the leaves' keys.
func ancestorSet(prefix string, leaves map[string]string) map[string]bool {
	set := map[string]bool{}
	for key := range leaves {
		for _, a := range ancestors(prefix, key) {
			set[a] = true
		}
	}
	return set
}

// absentAncestor returns the shortest proper ancestor of key that the
// other run lacks, the root of a section present in one run only.
func absentAncestor(prefix, key string, other map[string]bool) (string, bool) {
	for _, a := range ancestors(prefix, key) {
		if !other[a] {
			return a, true
		}
	}
	return "", false
}

// inSection reports whether dotted key lies in one of sections.
func inSection(key string, sections []SectionChange) bool {
	for _, s := range sections {
		if s.Key == "" || key == s.Key || strings.HasPrefix(key, s.Key+".") || strings.HasPrefix(key, s.Key+"[") {
			return true
		}
	}
	return false
}

// flatten stores every leaf of v (as decoded by encoding/json, or any value
// that marshals to JSON) in out under its dotted path. An empty object or
// array is a leaf.
func flatten(prefix string, v any, out map[string]string) {
	switch v := v.(type) {
	case nil:
		if prefix != "" {
			out[prefix] = "null"
		}
	case map[string]any:
		if len(v) == 0 && prefix != "" {
			out[prefix] = "{}"
		}
		for k, child := range v {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flatten(key, child, out)
		}
	case []any:
		if len(v) == 0 && prefix != "" {
			out[prefix] = "[]"
		}
		for i, child := range v {
			flatten(prefix+"["+strconv.Itoa(i)+"]", child, out)
		}
	default:
		// A Run built in memory may contain Go values, so normalize them.
		data, err := json.Marshal(v)
		if err != nil {
			out[prefix] = fmt.Sprintf("%v", v)
			return
		}
		var generic any
		if err := json.Unmarshal(data, &generic); err == nil {
			switch generic.(type) {
			case map[string]any, []any:
				flatten(prefix, generic, out)
				return
			}
		}
		if prefix == "" {
			prefix = "(config)"
		}
		out[prefix] = string(data)
	}
}

func compareStages(old, new []StageSummary) []StageChange {
	oldByName := map[string]*StageSummary{}
	for i := range old {
		oldByName[old[i].Name] = &old[i]
	}
	var changes []StageChange
	seen := map[string]bool{}
	for i := range new {
		cur := &new[i]
		seen[cur.Name] = true
		prev := oldByName[cur.Name]
		if prev == nil || !sameStage(prev, cur) {
			changes = append(changes, StageChange{Name: cur.Name, Old: prev, New: cur})
		}
	}
	for i := range old {
		if !seen[old[i].Name] {
			changes = append(changes, StageChange{Name: old[i].Name, Old: &old[i]})
		}
	}
	sort.SliceStable(changes, func(i, j int) bool {
		return stageRank(changes[i].Name) < stageRank(changes[j].Name)
	})
	return changes
}

// sameStage reports whether two summaries of a stage agree on everything
// but timing: Seconds and the timing keys of Stats are left out.
func sameStage(a, b *StageSummary) bool {
	x, _ := json.Marshal(withoutTiming(*a))
	y, _ := json.Marshal(withoutTiming(*b))
	return bytes.Equal(x, y)
}

func withoutTiming(s StageSummary) StageSummary {
	s.Seconds = 0
	if len(s.Stats) > 0 {
		stats := make(map[string]float64, len(s.Stats))
		for k, v := range s.Stats {
			if !isTimingStat(k) {
				stats[k] = v
			}
		}
		s.Stats = stats
	}
	return s
}

// isTimingStat reports whether a stats key holds a duration: one of
// secondsStatKeys or any key ending in "seconds".
func isTimingStat(key string) bool {
	return slices.Contains(secondsStatKeys, key) || strings.HasSuffix(key, "seconds")
}

// compareTimings lists the stages timed in both runs whose wall time
// changed by at least timingMinSeconds and timingMinRelative, in pipeline
// order.
func compareTimings(old, new []StageSummary) []TimingChange {
	oldSeconds := map[string]float64{}
	for _, s := range old {
		oldSeconds[s.Name] = s.Seconds
	}
	var changes []TimingChange
	for _, s := range new {
		prev := oldSeconds[s.Name]
		if prev <= 0 || s.Seconds <= 0 {
			continue
		}
		delta := math.Abs(s.Seconds - prev)
		if delta >= timingMinSeconds && delta >= timingMinRelative*prev {
			changes = append(changes, TimingChange{Name: s.Name, Old: prev, New: s.Seconds})
		}
	}
	sort.SliceStable(changes, func(i, j int) bool {
		return stageRank(changes[i].Name) < stageRank(changes[j].Name)
	})
	return changes
}

func compareMetrics(old, new map[string]float64) []MetricDelta {
	names := map[string]bool{}
	for k := range old {
		names[k] = true
	}
	for k := range new {
		names[k] = true
	}

	deltas := make([]MetricDelta, 0, len(names))
	for name := range names {
		d := MetricDelta{Name: name}
		d.Old, d.InOld = old[name]
		d.New, d.InNew = new[name]
		if d.InOld && d.InNew {
			d.Delta = d.New - d.Old
			if d.Old != 0 {
				d.Relative = d.Delta / math.Abs(d.Old)
				d.HasRelative = true
			}
		}
		deltas = append(deltas, d)
	}
	sort.Slice(deltas, func(i, j int) bool { return deltas[i].Name < deltas[j].Name })
	return deltas
}

// Write prints d as plain text, one section per kind of change, with
// aligned columns. Hashes are shortened to 12 hex digits, and unchanged
// inputs and metrics are counted but not listed.
func (d Diff) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }

	p("runs %s -> %s\n", orNone(d.A), orNone(d.B))

	// Inputs.
	p("\ninputs: %d added, %d removed, %d changed, %d unchanged\n",
		len(d.InputsAdded), len(d.InputsRemoved), len(d.InputsChanged), d.InputsUnchanged)
	for _, in := range d.InputsAdded {
		p("  + %s\t%s\t%s\tsha256 %s\n", in.Path, in.Kind, sizeText(in), shortHash(in.SHA256))
	}
	for _, in := range d.InputsRemoved {
		p("  - %s\t%s\t%s\tsha256 %s\n", in.Path, in.Kind, sizeText(in), shortHash(in.SHA256))
	}
	for _, c := range d.InputsChanged {
		p("  ~ %s\t%s\t%s -> %s\tsha256 %s -> %s\n", c.New.Path, c.New.Kind,
			sizeText(c.Old), sizeText(c.New), shortHash(c.Old.SHA256), shortHash(c.New.SHA256))
	}

	// Config and effective settings.
	writeConfigChanges(p, "config", "a config", d.ConfigChanges, d.ConfigSections)
	writeConfigChanges(p, "effective settings", "recorded stage settings", d.EffectiveChanges, d.EffectiveSections)

	// Stages.
	p("\nstages: %d changed\n", len(d.Stages))
	for _, s := range d.Stages {
		p("  %s\t%s -> %s\n", s.Name, stageLine(s.Old), stageLine(s.New))
		for _, r := range reasonChanges(s.Old, s.New) {
			p("    %s\t%d -> %d\n", r.reason, r.old, r.new)
		}
	}

	// Timings, apart from the stage changes.
	if len(d.Timings) > 0 {
		p("\ntimings: %d changed by %.0f%% and %.0fs or more (not counted as stage changes)\n", len(d.Timings), 100*timingMinRelative, timingMinSeconds)
		for _, t := range d.Timings {
			p("  %s\t%.1fs -> %.1fs\t%+.1fs\n", t.Name, t.Old, t.New, t.New-t.Old)
		}
	}

	// Metrics.
	unchanged := 0
	for _, m := range d.Metrics {
		if m.InOld && m.InNew && m.Delta == 0 {
			unchanged++
		}
	}
	p("\nmetrics: %d changed, %d unchanged\n", len(d.Metrics)-unchanged, unchanged)
	for _, m := range d.Metrics {
		switch {
		case m.InOld && m.InNew && m.Delta == 0:
			continue
		case m.InOld && m.InNew:
			rel := "n/a"
			if m.HasRelative {
				rel = fmt.Sprintf("%+.2f%%", 100*m.Relative)
			}
			p("  %s\t%s -> %s\t%s\t(%s)\n", m.Name, formatFloat(m.Old), formatFloat(m.New), formatSigned(m.Delta), rel)
		case m.InNew:
			p("  %s\t(absent) -> %s\tadded\n", m.Name, formatFloat(m.New))
		default:
			p("  %s\t%s -> (absent)\tremoved\n", m.Name, formatFloat(m.Old))
		}
	}
	return tw.Flush()
}

// writeConfigChanges prints one section of changed config keys under
// title. A whole config present in one run only becomes the header line,
// and each section present in one run only becomes one line instead of
// one line per key. The what argument names the whole config in that header.
func writeConfigChanges(p func(string, ...any), title, what string, changes []ConfigChange, sections []SectionChange) {
	if len(sections) == 1 && (sections[0].Key == "" || sections[0].Key == "effective") {
		s := sections[0]
		if s.Added {
			p("\n%s: %s added (first run with %s)\n", title, keyCount(s.Keys), what)
		} else {
			p("\n%s: %s removed (new run has no %s)\n", title, keyCount(s.Keys), what)
		}
		return
	}

	p("\n%s: %d changed\n", title, len(changes))
	for _, s := range sections {
		if s.Added {
			p("  %s\t%s added (section absent in the old run)\n", s.Key, keyCount(s.Keys))
		} else {
			p("  %s\t%s removed (section absent in the new run)\n", s.Key, keyCount(s.Keys))
		}
	}
	for _, c := range changes {
		if !inSection(c.Key, sections) {
			p("  %s\t%s -> %s\n", c.Key, orAbsent(c.Old), orAbsent(c.New))
		}
	}
}

func keyCount(n int) string {
	if n == 1 {
		return "1 key"
	}
	return fmt.Sprintf("%d keys", n)
}

// sizeText describes a Parquet file by its rows and a model file by its
// bytes.
func sizeText(in Input) string {
	if in.Kind == "model" {
		return fmt.Sprintf("%d bytes", in.Bytes)
	}
	return fmt.Sprintf("%d rows", in.Rows)
}

type reasonChange struct {
	reason   string
	old, new int64
}

// reasonChanges lists the reason codes whose counts differ between two
// stage summaries, sorted by code; a nil summary has no reasons.
func reasonChanges(old, new *StageSummary) []reasonChange {
	var oldReasons, newReasons map[string]int64
	if old != nil {
		oldReasons = old.Reasons
	}
	if new != nil {
		newReasons = new.Reasons
	}

	var changes []reasonChange
	for reason, n := range newReasons {
		if oldReasons[reason] != n {
			changes = append(changes, reasonChange{reason: reason, old: oldReasons[reason], new: n})
		}
	}
	for reason, n := range oldReasons {
		if _, ok := newReasons[reason]; !ok {
			changes = append(changes, reasonChange{reason: reason, old: n})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].reason < changes[j].reason })
	return changes
}

func stageLine(s *StageSummary) string {
	if s == nil {
		return "(absent)"
	}
	line := ""
	if s.Counts != nil {
		line = fmt.Sprintf("in %d kept %d rejected %d", s.Counts.In, s.Counts.Kept, s.Counts.Rejected)
	} else {
		// Stages without a corpus manifest show their stats instead.
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(s.Stats)) {
			if !isTimingStat(k) {
				parts = append(parts, k+" "+formatFloat(s.Stats[k]))
			}
		}
		line = strings.Join(parts, " ")
	}
	if s.Seconds != 0 {
		if line != "" {
			line += " "
		}
		line += fmt.Sprintf("%.1fs", s.Seconds)
	}
	if line == "" {
		line = "(no counts)"
	}
	return line
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "(none)"
	}
	return h
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func orAbsent(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}

func formatFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func formatSigned(v float64) string {
	s := formatFloat(v)
	if v >= 0 {
		s = "+" + s
	}
	return s
}
