// Command llamacpp is the adapt side of check.sh, which runs adapt's GGUF
// exports in llama.cpp (through node-llama-cpp) and compares the output.
//
//	go run ./benchmarks/llamacpp hf -checkpoint stories260K.bin -tokenizer tok512.bin -out DIR
//	go run ./benchmarks/llamacpp generate -model DIR|FILE.gguf -prompt TEXT -n 24
//	go run ./benchmarks/llamacpp tokenize -model DIR|FILE.gguf -texts TEXTS.json
//
// hf converts a llama2.c checkpoint and tokenizer to a Hugging Face folder
// (config.json, model.safetensors, tokenizer.json), the input of
// `adapt export`. generate loads a Hugging Face folder or a GGUF file,
// decodes greedily with model.Generate and prints one JSON object with the
// prompt ids, the generated ids, the decoded text and the logits [V] of
// the first generated position. tokenize prints the ids of each text of a
// JSON array of strings, without BOS and with special-token text encoded
// as plain text, as llama.cpp's tokenizer does with parse_special off.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/model/gguf"
	"github.com/adapt-llm/adapt/model/llama2c"
	"github.com/adapt-llm/adapt/tokenizer"
)

// output is the JSON that generate prints and check.mjs reads.
type output struct {
	Source       string    `json:"source"`
	Prompt       string    `json:"prompt"`
	PromptIDs    []int32   `json:"prompt_ids"`
	Generated    []int32   `json:"generated_ids"`
	Text         string    `json:"text"`
	FirstLogits  []float32 `json:"first_logits"`
	Architecture string    `json:"architecture"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: llamacpp hf|generate|tokenize [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "hf":
		err = runHF(os.Args[2:])
	case "generate":
		err = runGenerate(os.Args[2:])
	case "tokenize":
		err = runTokenize(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: use hf, generate or tokenize", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "llamacpp:", err)
		os.Exit(1)
	}
}

func runHF(args []string) error {
	flags := flag.NewFlagSet("hf", flag.ExitOnError)
	checkpoint := flags.String("checkpoint", "", "llama2.c checkpoint (.bin)")
	tokPath := flags.String("tokenizer", "", "llama2.c tokenizer (tok512.bin)")
	out := flags.String("out", "", "Hugging Face folder to write")
	flags.Parse(args)
	if *checkpoint == "" || *tokPath == "" || *out == "" {
		return fmt.Errorf("missing flag: hf needs -checkpoint, -tokenizer and -out")
	}

	m, err := llama2c.LoadLlama(*checkpoint)
	if err != nil {
		return err
	}
	v, err := llama2c.ReadTokenizer(*tokPath)
	if err != nil {
		return err
	}
	if m.Config.Extra == nil {
		m.Config.Extra = map[string]json.RawMessage{}
	}
	m.Config.Extra["bos_token_id"] = json.RawMessage(fmt.Sprint(v.BOS))
	m.Config.Extra["eos_token_id"] = json.RawMessage(fmt.Sprint(v.EOS))
	if err := m.Save(*out); err != nil {
		return err
	}
	js, err := v.TokenizerJSON()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(*out, "tokenizer.json"), js, 0o644)
}

func runGenerate(args []string) error {
	flags := flag.NewFlagSet("generate", flag.ExitOnError)
	path := flags.String("model", "", "Hugging Face folder or GGUF file")
	prompt := flags.String("prompt", "Once upon a time", "prompt text")
	n := flags.Int("n", 24, "number of tokens to generate")
	flags.Parse(args)

	m, encode, decode, err := load(*path)
	if err != nil {
		return err
	}
	ids := encode(*prompt)
	gen, err := model.Generate(m, ids, model.GenerateOptions{MaxNewTokens: *n})
	if err != nil {
		return err
	}
	logits := m.Forward(ids, 1, len(ids))
	V := m.VocabSize()
	o := output{
		Source:      *path,
		Prompt:      *prompt,
		PromptIDs:   ids,
		Generated:   gen,
		Text:        decode(append(slices.Clone(ids), gen...)),
		FirstLogits: slices.Clone(logits[(len(ids)-1)*V : len(ids)*V]),
	}
	switch m.(type) {
	case *model.GPT2:
		o.Architecture = "gpt2"
	case *model.Llama:
		o.Architecture = "llama"
	}
	return json.NewEncoder(os.Stdout).Encode(o)
}

func runTokenize(args []string) error {
	flags := flag.NewFlagSet("tokenize", flag.ExitOnError)
	path := flags.String("model", "", "Hugging Face folder or GGUF file")
	textsPath := flags.String("texts", "", "JSON array of strings")
	flags.Parse(args)

	data, err := os.ReadFile(*textsPath)
	if err != nil {
		return err
	}
	var texts []string
	if err := json.Unmarshal(data, &texts); err != nil {
		return fmt.Errorf("reading %s: %w", *textsPath, err)
	}
	encode, err := loadTokenizer(*path)
	if err != nil {
		return err
	}
	out := make([][]int32, len(texts))
	for i, t := range texts {
		out[i] = encode(t)
		if out[i] == nil {
			out[i] = []int32{}
		}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// loadTokenizer returns the plain encoder (no BOS) of the tokenizer at path.
func loadTokenizer(path string) (func(string) []int32, error) {
	if strings.HasSuffix(path, ".gguf") {
		f, err := gguf.Read(path)
		if err != nil {
			return nil, err
		}
		v, err := f.Vocab()
		if err != nil {
			return nil, err
		}
		return func(s string) []int32 {
			ids, err := v.Encode(s, false)
			if err != nil {
				panic(err)
			}
			return ids
		}, nil
	}
	tok, err := tokenizer.LoadDir(path)
	if err != nil {
		return nil, err
	}
	return func(s string) []int32 {
		return tok.EncodeWithOptions(s, tokenizer.EncodeOptions{SplitSpecialTokens: true})
	}, nil
}

// load returns the model at path with its prompt encoder (BOS added when the
// tokenizer's post-processor or the GGUF add_bos_token flag requests it) and
// decoder (special tokens skipped).
func load(path string) (model.CausalLM, func(string) []int32, func([]int32) string, error) {
	if strings.HasSuffix(path, ".gguf") {
		f, err := gguf.Read(path)
		if err != nil {
			return nil, nil, nil, err
		}
		arch, _ := f.String("general.architecture")
		var m model.CausalLM
		var v *gguf.Vocab
		if arch == "gpt2" {
			m, v, err = gguf.LoadGPT2(path)
		} else {
			m, v, err = gguf.LoadLlama(path)
		}
		if err != nil {
			return nil, nil, nil, err
		}
		encode := func(s string) []int32 {
			ids, err := v.Encode(s, v.AddBOS)
			if err != nil {
				panic(err)
			}
			return ids
		}
		return m, encode, v.Decode, nil
	}

	m, err := model.Load(path)
	if err != nil {
		return nil, nil, nil, err
	}
	tok, err := tokenizer.LoadDir(path)
	if err != nil {
		return nil, nil, nil, err
	}
	decode := func(ids []int32) string { return tok.Decode(ids, true) }
	return m, tok.Encode, decode, nil
}
