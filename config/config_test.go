package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/clean"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
)

func TestLoadExample(t *testing.T) {
	path := filepath.Join("..", "examples", "adapt.yaml")
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}

	base := filepath.Join("..", "examples")
	checks := []struct {
		name      string
		got, want any
	}{
		{"domain", cfg.Collect.Domain, "legal"},
		{"sources", len(cfg.Collect.Sources), 2},
		{"source 0 path", cfg.Collect.Sources[0].Path, "/usr/share/common-licenses"},
		{"source 1 include", cfg.Collect.Sources[1].Include, []string{"*/copyright"}},
		{"source kind", cfg.Collect.Sources[1].Kind, SourceLocal},
		{"workspace", cfg.Workspace, filepath.Join(base, "..", "workspace")},
		{"base model", cfg.Finetune.BaseModel, filepath.Join(base, "..", "basemodel", "gpt2-debian-small")},
		{"task sets", len(cfg.Eval.TaskSets), 2},
		{"jsonl path", cfg.Eval.TaskSets[1].Path, filepath.Join(base, "..", "basemodel", "heldout-general.jsonl")},
		{"report out", cfg.Report.Out, ""},
		{"max steps", cfg.Finetune.MaxSteps, 60},
		{"unset batch size keeps default", cfg.Finetune.BatchSize, finetune.DefaultConfig().BatchSize},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestParseUnknownKey(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantLine int
		wantKey  string
	}{
		{"top level", "collect:\n  domain: legal\nreprot:\n  out: x\n", 3, "reprot"},
		{"in section", "collect:\n  domain: legal\n  shardrows: 5\n", 3, "collect.shardrows"},
		{"in finetune", "finetune:\n  max_steps: 5\n  lerning_rate: 0.1\n", 3, "finetune.lerning_rate"},
		{"in list item", "collect:\n  sources:\n    - path: /tmp\n    - path: /x\n      inclde: ['*']\n", 5, "collect.sources[1].inclde"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "adapt.yaml", "")
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("got error %v, want *Error", err)
			}
			if !errors.Is(err, ErrUnknownKey) {
				t.Errorf("got %v, want it to wrap ErrUnknownKey", err)
			}
			if cerr.Line != tt.wantLine {
				t.Errorf("got line %d, want %d", cerr.Line, tt.wantLine)
			}
			if cerr.Key != tt.wantKey {
				t.Errorf("got key %q, want %q", cerr.Key, tt.wantKey)
			}
			prefix := fmt.Sprintf("adapt.yaml:%d: ", tt.wantLine)
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("got message %q, want prefix %q", err.Error(), prefix)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	empty, err := Parse(nil, "empty.yaml", "")
	if err != nil {
		t.Fatalf("Parse(empty): %v", err)
	}
	if got, want := empty, Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("empty file: got %+v, want %+v", got, want)
	}

	cfg, err := Parse([]byte("collect:\n  sources:\n    - path: docs\n    - kind: web\n      seeds: ['http://127.0.0.1:8080/']\n"), "a.yaml", "/base")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"domain", cfg.Collect.Domain, DefaultDomain},
		{"kind", cfg.Collect.Sources[0].Kind, SourceLocal},
		{"license", cfg.Collect.Sources[0].License, "unknown"},
		{"relative path", cfg.Collect.Sources[0].Path, filepath.Join("/base", "docs")},
		{"remote source kept", cfg.Collect.Sources[1].Seeds, []string{"http://127.0.0.1:8080/"}},
		{"max steps", cfg.Finetune.MaxSteps, finetune.DefaultConfig().MaxSteps},
		{"learning rate", cfg.Finetune.LearningRate, finetune.DefaultConfig().LearningRate},
		{"redact pii", cfg.Clean.RedactPII, clean.DefaultConfig().RedactPII},
		{"min words", cfg.Clean.MinWords, clean.DefaultConfig().MinWords},
		{"bootstrap samples", cfg.Eval.BootstrapSamples, eval.DefaultConfig().BootstrapSamples},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantErr  error
		wantKey  string
		wantLine int
	}{
		{"negative steps", "finetune:\n  max_steps: -1\n", ErrInvalid, "finetune.max_steps", 2},
		{"bad kind", "eval:\n  task_sets:\n    - name: x\n      kind: mmlu\n", ErrInvalid, "eval.task_sets[0].kind", 4},
		{"jsonl without path", "eval:\n  task_sets:\n    - name: g\n      kind: jsonl\n", ErrInvalid, "eval.task_sets[0].path", 3},
		{"unknown source kind", "collect:\n  sources:\n    - kind: ftp\n      path: /x\n", ErrInvalid, "collect.sources[0].kind", 3},
		{"source without path", "collect:\n  sources:\n    - kind: local\n", ErrInvalid, "collect.sources[0].path", 3},
		{"bad glob", "collect:\n  sources:\n    - path: /x\n      exclude: ['[']\n", ErrInvalid, "collect.sources[0].exclude[0]", 4},
		{"duplicate model", "eval:\n  models:\n    - {name: a, dir: x}\n    - {name: a, dir: y}\n", ErrInvalid, "eval.models[1].name", 4},
		{"bad language", "clean:\n  min_words: 3\n  languages: [english]\n", ErrInvalid, "clean.languages", 3},
		{"negative stride", "eval:\n  stride: -2\n", ErrInvalid, "eval.stride", 2},
		{"negative min words", "clean:\n  min_words: -3\n", ErrInvalid, "clean.min_words", 2},
		{"wrong type", "finetune:\n  max_steps: many\n", ErrSyntax, "", 0},
		{"two documents", "collect: {}\n---\nclean: {}\n", ErrSyntax, "", 0},
		{"not yaml", "collect: [\n", ErrSyntax, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "c.yaml", "")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want an error wrapping %v", err, tt.wantErr)
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("got %T, want *Error", err)
			}
			if cerr.Key != tt.wantKey {
				t.Errorf("got key %q, want %q", cerr.Key, tt.wantKey)
			}
			if tt.wantLine != 0 && cerr.Line != tt.wantLine {
				t.Errorf("got line %d, want %d (%v)", cerr.Line, tt.wantLine, err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("collect:\n  domain: legal\n"))
	f.Add([]byte("eval:\n  task_sets:\n    - {name: a, kind: jsonl, path: x}\n"))
	f.Add([]byte("a: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml", "")
		if err != nil {
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("got %T (%v), want *Error", err, err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
	})
}
