package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// gpt2ConfigJSON is the config.json of a GPT-2 model of width nEmbd, enough
// for the LoRA rank check, which reads no weights.
func gpt2ConfigJSON(nEmbd int) string {
	return fmt.Sprintf(`{"model_type": "gpt2", "vocab_size": 64, "n_positions": 32, "n_embd": %d, "n_layer": 1, "n_head": 2}`, nEmbd)
}

// llamaGQAConfigJSON is the config.json of a Llama model with grouped-query
// attention: hidden size 64, 8 query heads and 2 key/value heads of size 8,
// so q_proj is 64 -> 64 and k_proj and v_proj are 64 -> 16.
const llamaGQAConfigJSON = `{"model_type": "llama", "vocab_size": 64, "hidden_size": 64, "intermediate_size": 96,
	"num_hidden_layers": 1, "num_attention_heads": 8, "num_key_value_heads": 2, "max_position_embeddings": 32}`

func TestFinetuneFlagRangeMessages(t *testing.T) {
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	model := writeModel(t, filepath.Join(dir, "model"))
	writeFile(t, filepath.Join(ws, "clean", "manifest.json"), "{}")
	finetune := []string{"finetune", "-w", ws, "--base-model", model}

	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"negative max steps", []string{"--max-steps", "-1"}, "adapt: invalid --max-steps -1: must be >= 0 (0 means one pass over the training split)\n"},
		{"negative lora rank", []string{"--lora", "--lora-r", "-3"}, "adapt: invalid --lora-r -3: must be >= 0 (0 means 8)\n"},
		{"unknown schedule", []string{"--lr-schedule", "step"}, "adapt: invalid --lr-schedule step: must be \"cosine\", \"linear\" or \"constant\"\n"},
		{"replay fraction of one", []string{"--replay", "g.jsonl", "--replay-fraction", "1"}, "adapt: invalid --replay-fraction 1: must be in [0, 1)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAdapt(t, append(finetune, tt.args...)...)
			if code != exitUsage {
				t.Errorf("got exit status %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if !strings.HasPrefix(stderr, tt.wantStderr) {
				t.Errorf("got stderr %q, want it to start with %q", stderr, tt.wantStderr)
			}
			if n := strings.Count(stderr, "invalid"); n != 1 {
				t.Errorf("got %d uses of \"invalid\" in %q, want 1", n, stderr)
			}
		})
	}
}

func TestFinetuneLoRARankTooLarge(t *testing.T) {
	fakeStages(t)
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	writeFile(t, filepath.Join(ws, "clean", "manifest.json"), "{}")
	gpt2 := filepath.Join(dir, "gpt2")
	writeFile(t, filepath.Join(gpt2, "config.json"), gpt2ConfigJSON(32))
	llama := filepath.Join(dir, "llama")
	writeFile(t, filepath.Join(llama, "config.json"), llamaGQAConfigJSON)
	configFile := func(name, text string) string {
		path := filepath.Join(dir, name+".yaml")
		writeFile(t, path, text)
		return path
	}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"absurd flag rank", []string{"--base-model", gpt2, "--lora", "--lora-r", "100000"}, exitUsage,
			"adapt: invalid --lora-r 100000: the largest rank that base model " + gpt2 + " allows is 32, the smaller dimension of its c_attn layers (32 in, 96 out); use --lora-r between 1 and 32\n"},
		{"flag rank one above limit", []string{"--base-model", gpt2, "--lora", "--lora-r", "33"}, exitUsage, "invalid --lora-r 33: the largest rank"},
		{"flag rank at limit", []string{"--base-model", gpt2, "--lora", "--lora-r", "32"}, exitOK, ""},
		{"grouped-query value layers", []string{"--base-model", llama, "--lora", "--lora-r", "17"}, exitUsage,
			"allows is 16, the smaller dimension of its v_proj layers (64 in, 16 out); use --lora-r between 1 and 16"},
		{"config rank", []string{"--base-model", gpt2, "--config", configFile("rank", "finetune:\n  lora:\n    enabled: true\n    r: 500\n")}, exitBadInput,
			"adapt: invalid finetune.lora.r 500: the largest rank that base model " + gpt2 + " allows is 32"},
		{"flag rank overrides config rank", []string{"--base-model", gpt2, "--lora-r", "64", "--config", configFile("rank8", "finetune:\n  lora:\n    enabled: true\n    r: 8\n")}, exitUsage,
			"invalid --lora-r 64: the largest rank"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAdapt(t, append([]string{"finetune", "-w", ws}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("got exit status %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if tt.wantStderr == "" && stderr != "" {
				t.Errorf("got stderr %q, want none", stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("got stderr %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestMaxLoRARank(t *testing.T) {
	dir := t.TempDir()
	gpt2 := filepath.Join(dir, "gpt2")
	writeFile(t, filepath.Join(gpt2, "config.json"), gpt2ConfigJSON(128))
	llama := filepath.Join(dir, "llama")
	writeFile(t, filepath.Join(llama, "config.json"), llamaGQAConfigJSON)
	other := filepath.Join(dir, "other")
	writeFile(t, filepath.Join(other, "config.json"), `{"model_type": "bert", "hidden_size": 64}`)
	broken := filepath.Join(dir, "broken")
	writeFile(t, filepath.Join(broken, "config.json"), `{"model_type": `)

	tests := []struct {
		name    string
		dir     string
		targets []string
		want    loraRankLimit
		wantOK  bool
	}{
		{"gpt2 default target", gpt2, nil, loraRankLimit{maxRank: 128, layer: "c_attn", in: 128, out: 384}, true},
		{"gpt2 mlp projection", gpt2, []string{"mlp.c_proj"}, loraRankLimit{maxRank: 128, layer: "mlp.c_proj", in: 512, out: 128}, true},
		{"llama default targets", llama, nil, loraRankLimit{maxRank: 16, layer: "v_proj", in: 64, out: 16}, true},
		{"llama query and mlp", llama, []string{"self_attn.q_proj", "down_proj"}, loraRankLimit{maxRank: 64, layer: "q_proj", in: 64, out: 64}, true},
		{"unknown target", llama, []string{"c_attn"}, loraRankLimit{}, false},
		{"unknown architecture", other, nil, loraRankLimit{}, false},
		{"malformed config", broken, nil, loraRankLimit{}, false},
		{"missing folder", filepath.Join(dir, "none"), nil, loraRankLimit{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := maxLoRARank(tt.dir, tt.targets)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("got %+v, %v, want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestIterateUnknownRunListsRuns(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	writeFile(t, filepath.Join(empty, "collect", "manifest.json"), "{}")
	two := filepath.Join(dir, "two")
	for _, id := range []string{"20260102T000000.000Z-bbbbbb", "20260101T000000.000Z-aaaaaa"} {
		writeFile(t, filepath.Join(two, "runs", id, "run.json"), `{"id": "`+id+`"}`)
	}
	// A folder without run.json is a record that was never completed.
	writeFile(t, filepath.Join(two, "runs", "unfinished", "notes.txt"), "")
	many := filepath.Join(dir, "many")
	for i := range 12 {
		writeFile(t, filepath.Join(many, "runs", fmt.Sprintf("run-%02d", i), "run.json"), "{}")
	}

	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"no runs", []string{"-w", empty, "nosuch", "other"},
			`adapt: run "nosuch" not found: workspace ` + empty + ` has no runs yet; record one with 'adapt iterate -w ` + empty + "'\n"},
		{"two runs", []string{"-w", two, "nosuch", "20260101T000000.000Z-aaaaaa"},
			`adapt: run "nosuch" not found in workspace ` + two + "; its runs, oldest first: 20260101T000000.000Z-aaaaaa, 20260102T000000.000Z-bbbbbb\n"},
		{"second id unknown", []string{"-w", two, "20260101T000000.000Z-aaaaaa", "nosuch"}, `run "nosuch" not found in workspace`},
		{"more runs than listed", []string{"-w", many, "nosuch", "run-00"},
			"its 10 newest runs, oldest first: run-02, run-03, run-04, run-05, run-06, run-07, run-08, run-09, run-10, run-11 (and 2 older, under " + filepath.Join(many, "runs") + ")\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAdapt(t, append([]string{"iterate"}, tt.args...)...)
			if code != exitBadInput {
				t.Errorf("got exit status %d, want %d; stderr: %s", code, exitBadInput, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("got stderr %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestConfigKeyInWrongSection(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name       string
		yaml       string
		wantStderr string
	}{
		{"domain at top level", "workspace: ws\ncollect:\n  sources: []\ndomain: legal\n", `adapt.yaml:4: domain: unknown key "domain"; did you mean collect.domain?`},
		{"lora rank at top level", "lora_r: 4\n", `adapt.yaml:1: lora_r: unknown key "lora_r"; did you mean finetune.lora.r?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "adapt.yaml")
			writeFile(t, path, tt.yaml)
			code, _, stderr := runAdapt(t, "clean", "-w", filepath.Join(dir, "ws"), "--config", path)
			if code != exitBadInput {
				t.Errorf("got exit status %d, want %d; stderr: %s", code, exitBadInput, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("got stderr %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}
