package config

import (
	"fmt"
	"path"
	"reflect"
	"regexp"
	"strings"

	"github.com/adapt-llm/adapt/clean"
	"github.com/adapt-llm/adapt/collect"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
)

// namePattern is the pattern for domain, model and task-set names, which
// end up in file names such as eval/<model>__<task_set>.json.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// Validate checks every field against its documented range and returns an
// *Error for the first one outside it. It does not check that files exist:
// the stages do that when they run.
func (c *Config) Validate() error {
	steps := []func() error{c.Collect.validate, c.validateClean, c.Finetune.validate, c.Eval.validate}
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

func (c *Collect) validate() error {
	if c.Domain != "" && !namePattern.MatchString(c.Domain) {
		return invalid("collect.domain", "%q is not a valid name; use letters, digits, '-' and '_'", c.Domain)
	}
	if c.ShardRows < 0 {
		return invalid("collect.shard_rows", "%d is negative; use 0 for the default or a row count of at least 1", c.ShardRows)
	}
	for i, s := range c.Sources {
		key := fmt.Sprintf("collect.sources[%d]", i)
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
	return &Error{Key: stageErrorKey("clean", err, clean.ErrInvalidConfig, reflect.TypeOf(c.Clean)), Msg: err.Error(), Err: ErrInvalid}
}

func (f *Finetune) validate() error {
	err := f.Config.Validate()
	if err == nil {
		return nil
	}
	return &Error{Key: stageErrorKey("finetune", err, finetune.ErrInvalidConfig, reflect.TypeOf(f.Config)), Msg: err.Error(), Err: ErrInvalid}
}

// stageErrorKey returns "section.field" when a stage's validation error
// (sentinel, then ": field ...") starts with a yaml key of configType, and
// section otherwise, so the error can point at the field's line.
func stageErrorKey(section string, err, sentinel error, configType reflect.Type) string {
	rest := strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
	rest = strings.TrimPrefix(rest, section+".")
	field, _, _ := strings.Cut(rest, " ")
	field = strings.TrimSuffix(field, ":")
	field, _, _ = strings.Cut(field, "[")
	if _, ok := yamlFields(configType)[field]; ok {
		return section + "." + field
	}
	return section
}

func (e *Eval) validate() error {
	if err := e.Config.Validate(); err != nil {
		return &Error{Key: stageErrorKey("eval", err, eval.ErrInvalidConfig, reflect.TypeOf(e.Config)), Msg: err.Error(), Err: ErrInvalid}
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
