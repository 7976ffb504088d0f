package main

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/config"
)

func TestEvalPlanUsesWorkspaceRecords(t *testing.T) {
	ws := workspace(t.TempDir())
	base := t.TempDir()
	writeFile(t, ws.path("collect", "manifest.json"), `{"schema_version":1,"stage":"collect","config":{"domain":"legal"}}`)
	writeFile(t, ws.path("finetune", "metrics.json"), `{"base_model":"`+base+`"}`)

	var logs bytes.Buffer
	a := &adapt{log: slog.New(slog.NewTextHandler(&logs, nil))}
	models, taskSets := a.evalPlan(ws, config.Default())
	if len(models) != 2 || models[0].Name != "base" || models[0].Dir != base || models[1].Name != "tuned" {
		t.Errorf("models = %+v, want base at %s (from metrics.json) and tuned", models, base)
	}
	if len(taskSets) != 1 || taskSets[0].Name != "legal-heldout" {
		t.Errorf("task sets = %+v, want one named legal-heldout (the collect manifest's domain)", taskSets)
	}

	// A recorded base model folder that no longer exists is left out.
	writeFile(t, ws.path("finetune", "metrics.json"), `{"base_model":"`+filepath.Join(base, "gone")+`"}`)
	if models, _ := a.evalPlan(ws, config.Default()); len(models) != 1 || models[0].Name != "tuned" {
		t.Errorf("models with a missing base folder = %+v, want tuned only", models)
	}
	if !strings.Contains(logs.String(), "not scoring the base model") {
		t.Errorf("log %q lacks a warning about the missing base model", logs.String())
	}
}

func TestReplayOverlap(t *testing.T) {
	ws := workspace(t.TempDir())
	dir := t.TempDir()
	replay := filepath.Join(dir, "general.jsonl")
	copyOfReplay := filepath.Join(dir, "copy.jsonl")
	other := filepath.Join(dir, "other.jsonl")
	writeFile(t, replay, `{"text": "general text"}`+"\n")
	writeFile(t, copyOfReplay, `{"text": "general text"}`+"\n")
	writeFile(t, other, `{"text": "something else"}`+"\n")
	writeFile(t, ws.path("finetune", "metrics.json"), `{"config":{"replay":{"path":"`+replay+`","fraction":0.1}}}`)

	taskSets := []config.TaskSet{
		{Name: "same-file", Kind: config.TaskSetJSONL, Path: replay},
		{Name: "same-bytes", Kind: config.TaskSetJSONL, Path: copyOfReplay},
		{Name: "other", Kind: config.TaskSetJSONL, Path: other},
		{Name: "heldout", Kind: config.TaskSetCorpusHeldout, Path: ws.cleanDir()},
	}
	got := replayOverlap(ws, taskSets)
	if len(got) != 2 || got[0] != "same-file" || got[1] != "same-bytes" {
		t.Errorf("replayOverlap = %q, want [same-file same-bytes]", got)
	}
}
