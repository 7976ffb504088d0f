// Package config reads the YAML file that drives `adapt run` and the
// --config flag of every stage. The file has two top-level settings
// (workspace, device) and one section per stage (collect, clean, finetune,
// eval, report). A missing section or field takes
// the default described on its field. A key that the file format does not
// define is rejected with its line number.
//
// The file is decoded with gopkg.in/yaml.v3 (v3.0.1), YAML 1.2.
package config

import (
	"path/filepath"
	"strings"

	"github.com/adapt-llm/adapt/clean"
	"github.com/adapt-llm/adapt/collect"
	"github.com/adapt-llm/adapt/eval"
	"github.com/adapt-llm/adapt/finetune"
	"github.com/adapt-llm/adapt/iterate"
	"github.com/adapt-llm/adapt/tensor"
)

// Config is the whole content of an adapt YAML file.
//
// Relative paths in the file are resolved against the folder that contains
// the file, so a config works from any current directory.
type Config struct {
	// Workspace is the folder that stages read from and write to. Empty
	// means the --workspace flag's value (./workspace unless set).
	Workspace string `yaml:"workspace" json:"workspace"`

	// Device is the compute backend that runs the models of finetune and
	// eval: "cpu" (the pure-Go and OpenBLAS kernels) or another name that
	// tensor.Backends lists in this build, such as "cuda" in a build with
	// the CUDA backend. Empty means "cpu". The --device flag overrides it.
	Device string `yaml:"device" json:"device,omitempty"`

	Collect Collect `yaml:"collect" json:"collect"`
	// Clean holds the clean stage's settings; clean.Config documents each
	// key with its unit, range and what zero means. Settings the file
	// leaves out keep the values of clean.DefaultConfig. A relative
	// terminology_file is resolved against the config file's folder.
	Clean    clean.Config `yaml:"clean" json:"clean"`
	Finetune Finetune     `yaml:"finetune" json:"finetune"`
	Eval     Eval         `yaml:"eval" json:"eval"`
	Iterate  Iterate      `yaml:"iterate" json:"iterate"`
	Report   Report       `yaml:"report" json:"report"`
}

// Iterate configures the regression gates that adapt iterate (and adapt
// run, which ends with it) applies to each new run.
type Iterate struct {
	// Gates are checked on the metrics of each new run, keyed
	// "<model>/<task_set>/<metric>" as in run.json. Any failed gate makes
	// the command exit with status 4. Empty means no gates.
	Gates []iterate.Gate `yaml:"gates" json:"gates,omitempty"`

	// Baseline is the run id that percentage gates compare against. Empty
	// means the newest earlier run that had gates checked and passed them
	// all, so that neither a failed run nor one recorded without gates
	// becomes the next run's reference.
	Baseline string `yaml:"baseline" json:"baseline,omitempty"`
}

// Collect configures the collect stage.
type Collect struct {
	// Domain is the target domain written on every document ("legal",
	// "medical", "financial" or any other name of letters, digits, '-'
	// and '_'). Empty means "general".
	Domain string `yaml:"domain" json:"domain"`

	// ShardRows is the maximum number of documents per output Parquet
	// shard, at least 0. Zero means corpus.DefaultShardRows.
	ShardRows int `yaml:"shard_rows" json:"shard_rows"`

	// MinDomainScore is the minimum domain score a document needs to be
	// kept, in matches of the domain's term list per 100 tokens (see
	// collect.DomainScore), at least 0. Documents below it are rejected
	// with reason "off_domain". Zero turns the filter off. A positive value
	// needs a Domain with a built-in term list (collect.DomainNames).
	MinDomainScore float64 `yaml:"min_domain_score" json:"min_domain_score,omitempty"`

	// Sources lists where documents come from, in order. The collect stage
	// needs at least one, from here or from --source.
	Sources []Source `yaml:"sources" json:"sources"`
}

// Source is one place to collect documents from: a local file or folder
// (kind "local", the default) or a remote source ("web", "pubmed", "edgar",
// "courtlistener"). collect.Source documents every key, its unit and what
// zero means. Relative local paths are resolved against the config file's
// folder.
type Source = collect.Source

// Finetune configures the finetune stage: the base model plus every
// training setting of finetune.Config, whose field comments give each
// setting's unit, range and zero meaning. Settings the file leaves out
// keep the values of finetune.DefaultConfig. The keys are:
//
//   - lora: enabled (false), r (rank, 0 means 8), alpha (0 means 2*r),
//     dropout (in [0, 1), 0 means none) and target_modules (empty means
//     PEFT's default for the architecture). Absent means full fine-tuning.
//     With LoRA on, finetune writes <workspace>/finetune/adapter/ (a PEFT
//     folder) next to the merged model in <workspace>/finetune/model/.
//   - lr_schedule: decay after warm-up, "cosine", "linear" or "constant".
//     Empty means "cosine".
//   - early_stop_patience: validation passes without a new best loss
//     before training stops, at least 0. Zero means never stop early. A
//     positive value needs val_fraction above 0.
//   - early_stop_min_delta: how much lower than the best (nats) a
//     validation loss must be to count as new best, at least 0.
//   - replay: path (JSONL file or shard folder of general text, resolved
//     against the config file's folder) and fraction (share of training
//     sequences taken from it, in [0, 1); 0 means no replay).
type Finetune struct {
	// BaseModel is the Hugging Face model folder (config.json,
	// model.safetensors, tokenizer.json) to start from. The finetune stage
	// needs it, from here or from --base-model.
	BaseModel string `yaml:"base_model" json:"base_model"`

	finetune.Config `yaml:",inline"`
}

// Eval configures the eval stage: the models, the task sets, and the
// scoring settings of eval.Config (context length, stride, bootstrap),
// whose field comments give each setting's unit, range and zero meaning.
// Settings the file leaves out keep the values of eval.DefaultConfig.
type Eval struct {
	// Models lists the models to score. Empty means two models: "base" (the
	// finetune base model) and "tuned" (<workspace>/finetune/model).
	Models []Model `yaml:"models" json:"models"`

	// TaskSets lists what the models are scored on. Empty means one
	// "<domain>-heldout" set of kind "corpus-heldout" on the clean output.
	TaskSets []TaskSet `yaml:"task_sets" json:"task_sets"`

	eval.Config `yaml:",inline"`
}

// Model names one model folder to evaluate.
type Model struct {
	// Name is the short name used in result file names ("base", "tuned"):
	// letters, digits, '-' and '_'. Required.
	Name string `yaml:"name" json:"name"`

	// Dir is the Hugging Face model folder. Required. A Dir that starts
	// with WorkspacePlaceholder ("${workspace}/finetune/model") is relative
	// to the workspace of the run, which --workspace may change, and the
	// stage expands it with ExpandWorkspace.
	Dir string `yaml:"dir" json:"dir"`
}

// TaskSet is one set of texts to score the models on.
type TaskSet struct {
	// Name is the short name used in result file names: letters, digits,
	// '-' and '_'. Required.
	Name string `yaml:"name" json:"name"`

	// Kind is "corpus-heldout" (the held-out split of a corpus folder) or
	// "jsonl" (a JSON Lines file with a "text" field per line). Required.
	Kind string `yaml:"kind" json:"kind"`

	// Path is the corpus folder for "corpus-heldout" (empty means
	// <workspace>/clean) or the file for "jsonl" (required). Like
	// Model.Dir, it may start with WorkspacePlaceholder.
	Path string `yaml:"path" json:"path"`

	// ValFraction is the share of the corpus used as the held-out split for
	// "corpus-heldout", in [0, 1]. Zero means finetune.val_fraction, so the
	// split is the one that finetune held out of training.
	ValFraction float64 `yaml:"val_fraction" json:"val_fraction"`

	// MaxDocs caps how many documents are scored, at least 0. Zero means no
	// cap.
	MaxDocs int `yaml:"max_docs" json:"max_docs"`

	// Optional is set by adapt for a task set it adds by default, which eval
	// skips with a warning when it has no documents. It is not read from
	// the file.
	Optional bool `yaml:"-" json:"-"`
}

// Report configures the report stage.
type Report struct {
	// Out is the HTML file to write. Empty means
	// <workspace>/report/report.html.
	Out string `yaml:"out" json:"out"`
}

// SourceLocal is the Source.Kind of local files and folders.
const SourceLocal = collect.KindLocal

// Task set kinds accepted in TaskSet.Kind.
const (
	TaskSetCorpusHeldout = "corpus-heldout"
	TaskSetJSONL         = "jsonl"
)

// WorkspacePlaceholder starts a model dir or task set path that is
// relative to the workspace of the run rather than to the config file.
const WorkspacePlaceholder = "${workspace}"

// ExpandWorkspace replaces a leading WorkspacePlaceholder in path with the
// workspace folder ws and returns other paths unchanged.
func ExpandWorkspace(path, ws string) string {
	rest, ok := strings.CutPrefix(path, WorkspacePlaceholder)
	if !ok {
		return path
	}
	return filepath.Join(ws, rest)
}

// DefaultDomain is the domain used when Collect.Domain is empty.
const DefaultDomain = "general"

// Default returns a Config with every default filled in. Fields whose
// default is the stage's own default stay zero, except the clean, finetune
// and eval settings, which start from each stage's DefaultConfig.
func Default() *Config {
	c := &Config{
		Clean:    clean.DefaultConfig(),
		Finetune: Finetune{Config: finetune.DefaultConfig()},
		Eval:     Eval{Config: eval.DefaultConfig()},
	}
	c.applyDefaults()
	return c
}

// applyDefaults fills the defaults that do not depend on the workspace.
func (c *Config) applyDefaults() {
	if c.Device == "" {
		c.Device = tensor.DefaultBackend
	}
	if c.Collect.Domain == "" {
		c.Collect.Domain = DefaultDomain
	}
	for i := range c.Collect.Sources {
		s := &c.Collect.Sources[i]
		if s.Kind == "" {
			s.Kind = SourceLocal
		}
		if s.License == "" {
			s.License = "unknown"
		}
	}
}
