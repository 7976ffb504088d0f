package config

import (
	"fmt"
	"math"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/adapt-llm/adapt/clean"
	"github.com/adapt-llm/adapt/collect"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
	"github.com/adapt-llm/adapt/tensor"
)

// namePattern is the pattern for domain, model and task-set names, which
// end up in file names such as eval/<model>__<task_set>.json.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// Validate checks every field against its documented range and returns an
// *Error for the first one outside it. It does not check that files exist:
// the stages do that when they run.
func (c *Config) Validate() error {
	steps := []func() error{c.validateDevice, c.Collect.validate, c.validateClean, c.Finetune.validate, c.Eval.validate, c.Iterate.validate}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func invalid(key, format string, args ...any) error {
	return &Error{Key: key, Msg: fmt.Sprintf(format, args...), Err: ErrInvalid}
}

// validateDevice checks Device against the backends of this build. The
// cmd/adapt --device flag is checked by tensor.SetBackend instead.
func (c *Config) validateDevice() error {
	if c.Device == "" || slices.Contains(tensor.Backends(), c.Device) {
		return nil
	}
	hint := ""
	if c.Device == "cuda" {
		hint = "; this build of adapt has no CUDA backend"
	}
	return &Error{
		Key: "device",
		Msg: fmt.Sprintf("%v: %q%s; available: %s", tensor.ErrUnknownBackend, c.Device, hint, strings.Join(tensor.Backends(), ", ")),
		Err: ErrInvalid,
	}
}

func (c *Collect) validate() error {
	if c.Domain != "" && !namePattern.MatchString(c.Domain) {
		return invalid("collect.domain", "%q is not a valid name; use letters, digits, '-' and '_'", c.Domain)
	}
	if c.ShardRows < 0 {
		return invalid("collect.shard_rows", "%d is negative; use 0 for the default or a row count of at least 1", c.ShardRows)
	}
	if !(c.MinDomainScore >= 0) || math.IsInf(c.MinDomainScore, 0) {
		return invalid("collect.min_domain_score", "%g is negative or not finite; use 0 to turn the domain filter off", c.MinDomainScore)
	}
	domain := c.Domain
	if domain == "" {
		domain = DefaultDomain
	}
	if c.MinDomainScore > 0 && !slices.Contains(collect.DomainNames(), domain) {
		return invalid("collect.min_domain_score", "domain %q has no built-in term list (built-in: %s); set collect.domain to one of them or min_domain_score to 0",
			domain, strings.Join(collect.DomainNames(), ", "))
	}
	for i, s := range c.Sources {
		key := fmt.Sprintf("collect.sources[%d]", i)
		if s.License != "" {
			if err := ValidateLicense(s.License); err != nil {
				return invalid(key+".license", "%v", err)
			}
		}
		switch s.Kind {
		case "", SourceLocal:
		case collect.KindWeb, collect.KindPubMed, collect.KindEDGAR, collect.KindCourtListener:
			// The collect stage checks the remote settings when it runs.
			continue
		default:
			return invalid(key+".kind", "unsupported source kind %q; use %q, %q, %q, %q or %q",
				s.Kind, SourceLocal, collect.KindWeb, collect.KindPubMed, collect.KindEDGAR, collect.KindCourtListener)
		}
		if s.Path == "" {
			return invalid(key+".path", "missing; set the file or folder to collect")
		}
		for j, pattern := range append(append([]string(nil), s.Include...), s.Exclude...) {
			if _, err := path.Match(pattern, ""); err != nil {
				field := "include"
				if j >= len(s.Include) {
					field, j = "exclude", j-len(s.Include)
				}
				return invalid(fmt.Sprintf("%s.%s[%d]", key, field, j), "invalid glob pattern %q: %v", pattern, err)
			}
		}
	}
	return nil
}

func (c *Config) validateClean() error {
	err := c.Clean.Validate()
	if err == nil {
		return nil
	}
	return stageError("clean", err, clean.ErrInvalidConfig, reflect.TypeOf(c.Clean))
}

func (f *Finetune) validate() error {
	if err := f.Config.Validate(); err != nil {
		return stageError("finetune", err, finetune.ErrInvalidConfig, reflect.TypeOf(f.Config))
	}

	// Early stopping watches the validation loss, so it needs a
	// validation split.
	if f.EarlyStopPatience > 0 && f.ValFraction == 0 {
		return invalid("finetune.early_stop_patience", "%d needs a validation split, but val_fraction is 0; set finetune.val_fraction above 0 (for example 0.05) or early_stop_patience to 0", f.EarlyStopPatience)
	}
	return nil
}

// stageError wraps a stage's validation error as an *Error for the key it
// is about. The message drops the leading "<sentinel>: " and the key,
// because the *Error already shows both.
func stageError(section string, err, sentinel error, configType reflect.Type) *Error {
	key := stageErrorKey(section, err, sentinel, configType)
	msg := strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
	msg = strings.TrimPrefix(msg, key+": ")
	return &Error{Key: key, Msg: msg, Err: ErrInvalid}
}

// stageErrorKey returns the dotted key ("finetune.lora.r") that a stage's
// validation error (sentinel, then ": field ...") starts with, as deep as
// configType has yaml keys for it, and section otherwise, so the error can
// point at the field's line. List indexes are dropped.
func stageErrorKey(section string, err, sentinel error, configType reflect.Type) string {
	rest := strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
	rest = strings.TrimPrefix(rest, section+".")
	field, _, _ := strings.Cut(rest, " ")
	field = strings.TrimSuffix(field, ":")

	key := section
	t := configType
	for _, part := range strings.Split(field, ".") {
		part, _, _ = strings.Cut(part, "[")
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			break
		}
		fieldType, ok := yamlFields(t)[part]
		if !ok {
			break
		}
		key += "." + part
		t = fieldType
	}
	return key
}

func (e *Eval) validate() error {
	if err := e.Config.Validate(); err != nil {
		return stageError("eval", err, eval.ErrInvalidConfig, reflect.TypeOf(e.Config))
	}

	seen := map[string]bool{}
	for i, m := range e.Models {
		key := fmt.Sprintf("eval.models[%d]", i)
		if !namePattern.MatchString(m.Name) {
			return invalid(key+".name", "%q is not a valid name; use letters, digits, '-' and '_'", m.Name)
		}
		if seen[m.Name] {
			return invalid(key+".name", "model name %q appears twice", m.Name)
		}
		seen[m.Name] = true
		if m.Dir == "" {
			return invalid(key+".dir", "missing; set the model folder")
		}
	}

	seen = map[string]bool{}
	for i, ts := range e.TaskSets {
		key := fmt.Sprintf("eval.task_sets[%d]", i)
		if !namePattern.MatchString(ts.Name) {
			return invalid(key+".name", "%q is not a valid name; use letters, digits, '-' and '_'", ts.Name)
		}
		if seen[ts.Name] {
			return invalid(key+".name", "task set name %q appears twice", ts.Name)
		}
		seen[ts.Name] = true
		switch ts.Kind {
		case TaskSetCorpusHeldout:
		case TaskSetJSONL:
			if ts.Path == "" {
				return invalid(key+".path", "missing; a %q task set needs the JSON Lines file", TaskSetJSONL)
			}
		default:
			return invalid(key+".kind", "unsupported kind %q; supported: %q, %q", ts.Kind, TaskSetCorpusHeldout, TaskSetJSONL)
		}
		if ts.ValFraction < 0 || ts.ValFraction > 1 {
			return invalid(key+".val_fraction", "%g is outside [0, 1]; use 0 for the default", ts.ValFraction)
		}
		if ts.MaxDocs < 0 {
			return invalid(key+".max_docs", "%d is negative; use 0 for no cap", ts.MaxDocs)
		}
	}
	return nil
}

func (it *Iterate) validate() error {
	for i, g := range it.Gates {
		if err := g.Validate(); err != nil {
			return invalid(fmt.Sprintf("iterate.gates[%d]", i), "%v", err)
		}
	}
	if strings.ContainsAny(it.Baseline, `/\`) || it.Baseline == "." || it.Baseline == ".." {
		return invalid("iterate.baseline", "%q is not a run id; run ids look like 20261204T200223.123Z-a1b2c3", it.Baseline)
	}
	return nil
}
