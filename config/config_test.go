package config

import (
	"encoding/json"
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
		// Models left out default to base and <workspace>/finetune/model,
		// so a -w flag moves the tuned model with the workspace.
		{"eval models left to the default", len(cfg.Eval.Models), 0},
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

func TestParseUnknownKeySuggestsPlace(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantLine int
		wantKey  string
		wantMsg  string
	}{
		{"domain at top level", "workspace: ws\ncollect:\n  sources: []\ndomain: legal\n", 4, "domain", `unknown key "domain"; did you mean collect.domain? Allowed keys here: clean, collect,`},
		{"flattened lora rank", "lora_r: 4\n", 1, "lora_r", "did you mean finetune.lora.r?"},
		{"flag spelling of max steps", "max-steps: 4\n", 1, "max-steps", "did you mean finetune.max_steps?"},
		{"max steps at top level", "max_steps: 4\n", 1, "max_steps", "did you mean finetune.max_steps?"},
		{"text column at top level", "text_column: body\n", 1, "text_column", "did you mean collect.sources[].text_column?"},
		{"domain in finetune", "finetune:\n  domain: legal\n", 2, "finetune.domain", "did you mean collect.domain? Allowed keys here: adam_beta1,"},
		{"lora rank in finetune", "finetune:\n  lora_r: 4\n", 2, "finetune.lora_r", "did you mean finetune.lora.r?"},
		{"key in two sections", "seed: 1\n", 1, "seed", "did you mean eval.seed or finetune.seed?"},
		{"key in three sections", "path: x\n", 1, "path", "did you mean collect.sources[].path, eval.task_sets[].path or finetune.replay.path?"},
		{"typo without suggestion", "reprot:\n  out: x\n", 1, "reprot", `unknown key "reprot"; allowed keys here: clean, collect,`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "adapt.yaml", "")
			if !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("got %v, want an error wrapping ErrUnknownKey", err)
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("got %T, want *Error", err)
			}
			if cerr.Line != tt.wantLine {
				t.Errorf("got line %d, want %d", cerr.Line, tt.wantLine)
			}
			if cerr.Key != tt.wantKey {
				t.Errorf("got key %q, want %q", cerr.Key, tt.wantKey)
			}
			if !strings.Contains(cerr.Msg, tt.wantMsg) {
				t.Errorf("got message %q, want it to contain %q", cerr.Msg, tt.wantMsg)
			}
		})
	}
}

func TestKnownPlacesCap(t *testing.T) {
	type item struct {
		Name string `yaml:"name"`
	}
	type section struct {
		Name  string `yaml:"name"`
		Items []item `yaml:"items"`
	}
	type root struct {
		A section `yaml:"a"`
		B section `yaml:"b"`
	}
	rootType := reflect.TypeOf(root{})
	tests := []struct {
		key  string
		want []string
	}{
		{"items", []string{"a.items[]", "b.items[]"}},
		{"items_name", []string{"a.items[].name", "b.items[].name"}},
		{"b-items-name", []string{"b.items[].name"}},
		{"name", nil}, // four places, more than maxKnownPlaces
		{"title", nil},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got := knownPlaces(rootType, tt.key)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
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

func TestParseStageKeys(t *testing.T) {
	yamlText := `device: cpu
collect:
  domain: medical
  min_domain_score: 0.5
  sources:
    - path: data/trials.parquet
      text_column: abstract
    - kind: web
      seeds: ['http://127.0.0.1:8080/']
      allowed_hosts: [127.0.0.1]
      max_depth: 2
      requests_per_second: 0.5
      timeout_seconds: 10
    - kind: pubmed
      query: asthma
      max_documents: 20
      token_env: NCBI_API_KEY
clean:
  normalization: NFKC
  boilerplate_min_docs: 3
  terminology_file: terms.yaml
  max_top_ngram_char_fraction: [0.2, 0.18]
finetune:
  lora:
    enabled: true
    r: 16
    alpha: 32
    dropout: 0.05
    target_modules: [c_attn, c_proj]
  lr_schedule: linear
  val_fraction: 0.1
  early_stop_patience: 3
  early_stop_min_delta: 0.01
  replay:
    path: general.jsonl
    fraction: 0.2
`
	cfg, err := Parse([]byte(yamlText), "a.yaml", "/base")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"device", cfg.Device, "cpu"},
		{"min domain score", cfg.Collect.MinDomainScore, 0.5},
		{"text column", cfg.Collect.Sources[0].TextColumn, "abstract"},
		{"local path resolved", cfg.Collect.Sources[0].Path, filepath.Join("/base", "data", "trials.parquet")},
		{"web seeds", cfg.Collect.Sources[1].Seeds, []string{"http://127.0.0.1:8080/"}},
		{"web allowed hosts", cfg.Collect.Sources[1].AllowedHosts, []string{"127.0.0.1"}},
		{"web max depth", cfg.Collect.Sources[1].MaxDepth, 2},
		{"web rate", cfg.Collect.Sources[1].RequestsPerSecond, 0.5},
		{"web timeout", cfg.Collect.Sources[1].TimeoutSeconds, 10.0},
		{"pubmed query", cfg.Collect.Sources[2].Query, "asthma"},
		{"pubmed max documents", cfg.Collect.Sources[2].MaxDocuments, 20},
		{"pubmed token env", cfg.Collect.Sources[2].TokenEnv, "NCBI_API_KEY"},
		{"normalization", cfg.Clean.Normalization, "NFKC"},
		{"boilerplate min docs", cfg.Clean.BoilerplateMinDocs, 3},
		{"terminology file resolved", cfg.Clean.TerminologyFile, filepath.Join("/base", "terms.yaml")},
		{"top n-gram fractions", cfg.Clean.MaxTopNgramCharFraction, []float64{0.2, 0.18}},
		{"unset clean key keeps default", cfg.Clean.MinWords, clean.DefaultConfig().MinWords},
		{"lora", cfg.Finetune.LoRA, &finetune.LoRAConfig{Enabled: true, R: 16, Alpha: 32, Dropout: 0.05, TargetModules: []string{"c_attn", "c_proj"}}},
		{"lr schedule", cfg.Finetune.LRSchedule, "linear"},
		{"early stop patience", cfg.Finetune.EarlyStopPatience, 3},
		{"early stop min delta", cfg.Finetune.EarlyStopMinDelta, 0.01},
		{"replay", cfg.Finetune.Replay, finetune.ReplayConfig{Path: filepath.Join("/base", "general.jsonl"), Fraction: 0.2}},
		{"unset finetune key keeps default", cfg.Finetune.LearningRate, finetune.DefaultConfig().LearningRate},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

// TestEveryStageKeyLoads sets each yaml key of the clean and finetune
// configs to its zero value, so a field added to a stage's Config without
// a yaml tag that checkKeys and the decoder agree on fails here.
func TestEveryStageKeyLoads(t *testing.T) {
	sections := []struct {
		name string
		typ  reflect.Type
	}{
		{"clean", reflect.TypeOf(clean.Config{})},
		{"finetune", reflect.TypeOf(Finetune{})},
	}
	for _, section := range sections {
		for key, fieldType := range yamlFields(section.typ) {
			t.Run(section.name+"."+key, func(t *testing.T) {
				// JSON is YAML flow style, so the value fits on the key's line.
				value, err := json.Marshal(reflect.Zero(fieldType).Interface())
				if err != nil {
					t.Fatalf("marshaling the zero %s: %v", fieldType, err)
				}
				doc := fmt.Sprintf("%s:\n  %s: %s", section.name, key, strings.TrimSpace(string(value)))
				_, err = Parse([]byte(doc), "keys.yaml", "")
				if errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrSyntax) {
					t.Errorf("document %q: got %v, want the key accepted", doc, err)
				}
			})
		}
	}
}

func TestParseInvalidStageKeys(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantErr  error
		wantKey  string
		wantLine int
		wantMsg  string
	}{
		{"unknown device", "workspace: ws\ndevice: cuda\n", ErrInvalid, "device", 2, "no CUDA backend; available: cpu"},
		{"negative domain score", "collect:\n  domain: legal\n  min_domain_score: -1\n", ErrInvalid, "collect.min_domain_score", 3, "negative"},
		{"domain score without term list", "collect:\n  domain: poetry\n  min_domain_score: 2\n", ErrInvalid, "collect.min_domain_score", 3, `domain "poetry" has no built-in term list`},
		{"negative lora rank", "finetune:\n  lora:\n    enabled: true\n    r: -4\n", ErrInvalid, "finetune.lora.r", 4, "lora.r is -4"},
		{"lora dropout of one", "finetune:\n  lora:\n    dropout: 1\n", ErrInvalid, "finetune.lora.dropout", 3, "lora.dropout is 1"},
		{"unknown lora key", "finetune:\n  lora:\n    rank: 8\n", ErrUnknownKey, "finetune.lora.rank", 3, "allowed keys here: alpha, dropout, enabled, r, target_modules"},
		{"unknown schedule", "finetune:\n  max_steps: 10\n  lr_schedule: step\n", ErrInvalid, "finetune.lr_schedule", 3, "lr_schedule is step"},
		{"negative patience", "finetune:\n  early_stop_patience: -1\n", ErrInvalid, "finetune.early_stop_patience", 2, ">= 0"},
		{"early stop without validation", "finetune:\n  val_fraction: 0\n  early_stop_patience: 2\n", ErrInvalid, "finetune.early_stop_patience", 3, "val_fraction is 0"},
		{"replay fraction of one", "finetune:\n  replay:\n    path: g.jsonl\n    fraction: 1\n", ErrInvalid, "finetune.replay.fraction", 4, "replay.fraction is 1"},
		{"replay without path", "finetune:\n  replay:\n    fraction: 0.1\n", ErrInvalid, "finetune.replay.path", 2, "replay.path"},
		{"boilerplate fraction above one", "clean:\n  boilerplate_min_fraction: 2\n", ErrInvalid, "clean.boilerplate_min_fraction", 2, "outside [0, 1]"},
		{"bad n-gram fraction", "clean:\n  max_duplicate_ngram_char_fraction: [0.1, 3]\n", ErrInvalid, "clean.max_duplicate_ngram_char_fraction", 2, "outside [0, 1]"},
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
			if cerr.Line != tt.wantLine {
				t.Errorf("got line %d, want %d (%v)", cerr.Line, tt.wantLine, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got message %q, want it to contain %q", err.Error(), tt.wantMsg)
			}
		})
	}
}

func TestStageErrorNamesKeyOnce(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"clean:\n  min_words: -5\n", "adapt.yaml:2: clean.min_words: -5 is negative; use 0 for no minimum"},
		{"finetune:\n  max_steps: -1\n", "adapt.yaml:2: finetune.max_steps: max_steps is -1, must be >= 0"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "adapt.yaml", "")
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse error = %v, want %q", err, tt.want)
			}
		})
	}
}
