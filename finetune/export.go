package finetune

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/adapt-llm/adapt/tokenizer"
)

// SaveModelFolder writes a model folder at dir without ever leaving a
// partial one there: write fills a new temporary folder beside dir, which
// then replaces dir.
func SaveModelFolder(dir string, write func(tmp string) error) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("creating temporary model folder: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op after the rename

	if err := write(tmp); err != nil {
		return fmt.Errorf("writing model folder %s: %w", dir, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("writing model folder %s: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("replacing model folder %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("renaming model folder into place: %w", err)
	}
	return nil
}

// copyTokenizerFiles copies tokenizer.json and tokenizer_config.json from
// the base model folder into dir, writing a GPT-2 style tokenizer_config.json
// when the base has none, and writes generation_config.json when the base
// has none.
func copyTokenizerFiles(baseDir, dir string, tok *tokenizer.Tokenizer, eot int32, maxLength int) error {
	for _, name := range []string{"tokenizer.json", "tokenizer_config.json", "generation_config.json", "vocab.json", "merges.txt", "special_tokens_map.json"} {
		data, err := os.ReadFile(filepath.Join(baseDir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("copying %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("copying %s: %w", name, err)
		}
	}
	// NOTE: a base folder without tokenizer_config.json gets a GPT-2 style
	// one (GPT2Tokenizer), which is wrong for Llama-family tokenizers.
	eotText := endOfTextToken
	if text, ok := tok.IDToToken(eot); ok {
		eotText = text
	}
	return WriteTokenizerConfigs(dir, eotText, eot, maxLength, false)
}

// WriteTokenizerConfigs writes the tokenizer_config.json and
// generation_config.json of a GPT-2 style model whose beginning, end and
// unknown token are eotText with id eotID and whose context is maxLength
// tokens, as Hugging Face transformers 4.x writes them for GPT-2. Files
// already in dir are kept unless overwrite is set.
func WriteTokenizerConfigs(dir, eotText string, eotID int32, maxLength int, overwrite bool) error {
	files := map[string]any{
		"tokenizer_config.json": map[string]any{
			"tokenizer_class":  "GPT2Tokenizer",
			"bos_token":        eotText,
			"eos_token":        eotText,
			"unk_token":        eotText,
			"model_max_length": maxLength,
			"add_prefix_space": false,
		},
		"generation_config.json": map[string]any{
			"bos_token_id": eotID,
			"eos_token_id": eotID,
		},
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err == nil && !overwrite {
			continue
		}
		if err := writeJSON(path, content); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}
