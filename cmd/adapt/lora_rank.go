package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/adapt-llm/adapt/config"
	"github.com/adapt-llm/adapt/model"
)

// loraRankLimit describes the largest LoRA rank that a base model allows for
// a set of target modules: the smaller dimension of the narrowest targeted
// layer. model.NewLoRA rejects a larger rank because it would add
// parameters without raising the rank of the update B A.
type loraRankLimit struct {
	maxRank int    // min(in, out) of layer, the largest allowed rank
	layer   string // the target module name of the narrowest layer, such as "c_attn"
	in, out int    // in_features and out_features of layer
}

// loraRankError is a LoRA rank above the largest rank the base model
// allows. runFinetune returns it wrapped in an inputError, and
// finetuneAction turns it into a usage error when --lora-r set the rank.
type loraRankError struct {
	rank      int
	baseModel string
	limit     loraRankLimit
}

// Error names the config key, as for a rank that came from the config file.
func (e *loraRankError) Error() string {
	return fmt.Sprintf("invalid finetune.lora.r %d: %s; set finetune.lora.r between 1 and %d", e.rank, e.reason(), e.limit.maxRank)
}

// flagError returns the usage error for a rank that --lora-r set.
func (e *loraRankError) flagError() error {
	return usageErrorf("invalid --lora-r %d: %s; use --lora-r between 1 and %d", e.rank, e.reason(), e.limit.maxRank)
}

func (e *loraRankError) reason() string {
	return fmt.Sprintf("the largest rank that base model %s allows is %d, the smaller dimension of its %s layers (%d in, %d out)",
		e.baseModel, e.limit.maxRank, e.limit.layer, e.limit.in, e.limit.out)
}

// loraFlagError returns err as a usage error naming --lora-r when it holds a
// loraRankError and --lora-r is set, and err unchanged otherwise.
func loraFlagError(c *cli.Context, err error) error {
	var rankErr *loraRankError
	if c.IsSet("lora-r") && errors.As(err, &rankErr) {
		return rankErr.flagError()
	}
	return err
}

// checkLoRARank returns an input error wrapping a *loraRankError when LoRA
// is on with a rank above the largest one that the base model allows. It
// reads only the base model's config.json, so a bad rank fails before the
// finetune stage loads the weights and packs the data. A rank of 0 (the
// default) passes, and so does a config.json or target that this check
// cannot interpret. model.NewLoRA still rejects a bad rank in those cases,
// when the stage attaches the adapter.
func checkLoRARank(cfg config.Finetune) error {
	if cfg.LoRA == nil || !cfg.LoRA.Enabled || cfg.LoRA.R <= 0 {
		return nil
	}
	limit, ok := maxLoRARank(cfg.BaseModel, cfg.LoRA.TargetModules)
	if !ok || cfg.LoRA.R <= limit.maxRank {
		return nil
	}
	return &inputError{err: &loraRankError{rank: cfg.LoRA.R, baseModel: cfg.BaseModel, limit: limit}}
}

// maxLoRARank returns the rank limit of the layers that targets select in
// the model folder dir. Empty targets mean PEFT's defaults, as in
// model.NewLoRA. A target matches the layers whose module path ends in it
// ("mlp.c_proj") or else in its last dotted component. ok is false
// when config.json cannot be read, its model_type is not one of those
// architectures or a target names no layer of it.
func maxLoRARank(dir string, targets []string) (loraRankLimit, bool) {
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return loraRankLimit{}, false
	}
	var head struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return loraRankLimit{}, false
	}

	// shapes maps each target module name to its in_features and
	// out_features.
	// NOTE: these shapes repeat the layer lists of model.GPT2 and
	// model.Llama. A layer or architecture added there without an entry
	// here skips this check, and the stage then reports the rank itself.
	var shapes map[string][2]int
	switch head.ModelType {
	case "gpt2":
		var c model.GPT2Config
		if err := json.Unmarshal(data, &c); err != nil {
			return loraRankLimit{}, false
		}
		C := c.NEmbd
		// "c_proj" matches both projections, whose smaller dimension is C.
		shapes = map[string][2]int{
			"c_attn": {C, 3 * C}, "c_proj": {C, C}, "c_fc": {C, 4 * C},
			"attn.c_proj": {C, C}, "mlp.c_proj": {4 * C, C},
		}
		if len(targets) == 0 {
			targets = []string{"c_attn"}
		}
	case "llama", "mistral", "qwen2":
		var c model.LlamaConfig
		if err := json.Unmarshal(data, &c); err != nil || c.NumAttentionHeads <= 0 {
			return loraRankLimit{}, false
		}
		kvHeads, headDim := c.NumKeyValueHeads, c.HeadDim
		if kvHeads == 0 {
			kvHeads = c.NumAttentionHeads
		}
		if headDim == 0 {
			headDim = c.HiddenSize / c.NumAttentionHeads
		}
		C, I, Q, KV := c.HiddenSize, c.IntermediateSize, c.NumAttentionHeads*headDim, kvHeads*headDim
		shapes = map[string][2]int{
			"q_proj": {C, Q}, "k_proj": {C, KV}, "v_proj": {C, KV}, "o_proj": {Q, C},
			"gate_proj": {C, I}, "up_proj": {C, I}, "down_proj": {I, C},
		}
		if len(targets) == 0 {
			targets = []string{"q_proj", "v_proj"}
		}
	default:
		return loraRankLimit{}, false
	}

	limit := loraRankLimit{}
	for _, target := range targets {
		name := target
		shape, known := shapes[name]
		if !known {
			name = target[strings.LastIndexByte(target, '.')+1:]
			shape, known = shapes[name]
		}
		if !known {
			return loraRankLimit{}, false
		}
		if rank := min(shape[0], shape[1]); limit.layer == "" || rank < limit.maxRank {
			limit = loraRankLimit{maxRank: rank, layer: name, in: shape[0], out: shape[1]}
		}
	}
	return limit, limit.layer != "" && limit.maxRank > 0
}
