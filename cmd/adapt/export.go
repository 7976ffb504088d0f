package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/model/gguf"
)

func (a *adapt) exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "convert a model folder to a GGUF file for llama.cpp and Ollama",
		Description: "Converts a Hugging Face model folder, by default the merged model that finetune wrote,\n" +
			"to one GGUF file, the format that llama.cpp and Ollama load. --type sets the type of the\n" +
			"weight matrices: f16 (half the size of f32, rounded to half precision) or f32 (the\n" +
			"float32 weights unchanged). The file is written under a temporary name in the folder\n" +
			"of --out and renamed when complete. A missing model folder, one without config.json,\n" +
			"or a model the exporter cannot convert exits with status 3.\n\n" +
			"Reads:  --model (default WORKSPACE/finetune/model/): config.json, model.safetensors,\n" +
			"        tokenizer.json, tokenizer_config.json\n" +
			"Writes: --out\n\n" +
			exitStatusHelp(exitOK, exitFailure, exitUsage, exitBadInput, exitBusy, exitInterrupted),
		Flags: []cli.Flag{
			workspaceFlag(defaultWorkspace),
			configFlag(),
			&cli.PathFlag{Name: "model", Usage: "Hugging Face model folder to convert (default WORKSPACE/finetune/model)"},
			&cli.StringFlag{Name: "type", Value: "f16", Usage: "type of the weight matrices in the file: f16 or f32"},
			&cli.PathFlag{Name: "out", Usage: "GGUF file to write, such as model.gguf (required)"},
		},
		OnUsageError: a.onUsageError,
		Action:       a.exportAction,
	}
}

// exportFileTypes are the --type values. gguf.ParseFileType also accepts
// q8_0, which export does not offer.
var exportFileTypes = []string{"f16", "f32"}

func (a *adapt) exportAction(c *cli.Context) error {
	if _, err := checkArgs(c, 0); err != nil {
		return err
	}
	out := c.Path("out")
	if out == "" {
		return usageErrorf("missing --out FILE.gguf: give the GGUF file to write")
	}
	if err := checkOutFile(out, "--out", "model.gguf"); err != nil {
		return err
	}
	typeName := strings.ToLower(c.String("type"))
	if !slices.Contains(exportFileTypes, typeName) {
		return usageErrorf("invalid --type %q: use f16 or f32", c.String("type"))
	}
	typ, err := gguf.ParseFileType(typeName)
	if err != nil {
		return &usageError{err: fmt.Errorf("invalid --type: %w", err)}
	}

	_, ws, err := loadConfig(c)
	if err != nil {
		return err
	}
	modelDir := ws.tunedModelDir()
	if c.IsSet("model") {
		modelDir = c.Path("model")
	} else if err := checkWorkspace(ws); err != nil {
		return err
	}
	if err := checkModelDir(modelDir, "model folder"); err != nil {
		return err
	}

	// Lock when the command reads the workspace's model or writes into the
	// workspace, so a finetune running there cannot swap the model's files
	// halfway through the export.
	if !c.IsSet("model") || inWorkspace(ws, out) {
		release, err := a.lockWorkspace(ws)
		if err != nil {
			return err
		}
		defer release()
	}

	start := time.Now()
	if err := exportStage(modelDir, out, typ); err != nil {
		return err
	}
	info, err := os.Stat(out)
	if err != nil {
		return fmt.Errorf("checking the exported file: %w", err)
	}
	a.out.stage("export", fmt.Sprintf("%s -> %s (%s, %.1f MB)", modelDir, out, typeName, float64(info.Size())/1e6), time.Since(start))
	return nil
}

// exportStage writes the GGUF file at out. gguf.Export writes through
// gguf.Write, which fills a temporary file in out's folder and renames it
// to out when complete, so a failed export never leaves a file at out that
// looks complete. Tests replace it.
var exportStage = func(modelDir, out string, typ gguf.GGMLType) error {
	dir := filepath.Dir(out)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the folder of %s: %w", out, err)
	}
	// gguf.Export names the step and modelDir in its errors.
	return gguf.Export(modelDir, out, typ)
}
