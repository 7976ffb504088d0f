package model

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/adapt-llm/adapt/tensor"
)

// LlamaConfig is the Hugging Face config.json of a Llama-family model:
// transformers v4 LlamaConfig, MistralConfig and Qwen2Config, which share
// these fields. Sizes are counts.
type LlamaConfig struct {
	// ModelType is "llama" (Llama 2 and 3, TinyLlama, SmolLM), "mistral" or
	// "qwen2".
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures,omitempty"`
	// VocabSize is the number of token embeddings (V).
	VocabSize int `json:"vocab_size"`
	// HiddenSize is the model width (C).
	HiddenSize int `json:"hidden_size"`
	// IntermediateSize is the width of the SwiGLU MLP (I).
	IntermediateSize  int `json:"intermediate_size"`
	NumHiddenLayers   int `json:"num_hidden_layers"`
	NumAttentionHeads int `json:"num_attention_heads"`
	// NumKeyValueHeads is the number of key/value heads (NKV) for
	// grouped-query attention; NumAttentionHeads must be a multiple of it.
	// Zero means NumAttentionHeads.
	NumKeyValueHeads int `json:"num_key_value_heads,omitempty"`
	// HeadDim is the head size (HS). Zero means HiddenSize/NumAttentionHeads.
	// It must be even.
	HeadDim int `json:"head_dim,omitempty"`
	// MaxPositionEmbeddings is the longest sequence the model was trained
	// for and the longest that Forward accepts.
	MaxPositionEmbeddings int `json:"max_position_embeddings"`
	// RMSNormEps is added to the mean square in every RMSNorm. Zero means
	// 1e-6, transformers' LlamaConfig default.
	RMSNormEps float64 `json:"rms_norm_eps"`
	// RopeTheta is the RoPE base. Zero means 10000.
	RopeTheta float64 `json:"rope_theta,omitempty"`
	// RopeScaling stretches RoPE frequencies. Nil means none.
	RopeScaling *RopeScalingConfig `json:"rope_scaling,omitempty"`
	// HiddenAct must be "silu" (or empty, meaning silu).
	HiddenAct string `json:"hidden_act,omitempty"`
	// AttentionBias adds biases to q_proj, k_proj, v_proj and o_proj
	// (Llama). Qwen2 always has q/k/v biases and never an o_proj bias,
	// whatever this field is set to.
	AttentionBias bool `json:"attention_bias,omitempty"`
	// MLPBias must be false: biased MLP projections are not implemented.
	MLPBias bool `json:"mlp_bias,omitempty"`
	// TieWordEmbeddings makes lm_head reuse model.embed_tokens.weight.
	TieWordEmbeddings bool `json:"tie_word_embeddings"`
	// SlidingWindow is Mistral's and Qwen2's attention window in tokens;
	// nil or zero means none. Qwen2 uses it only when UseSlidingWindow is
	// true. Where it applies, MaxPositions is capped at it, because within
	// the window sliding attention equals full causal attention.
	SlidingWindow    *int `json:"sliding_window,omitempty"`
	UseSlidingWindow bool `json:"use_sliding_window,omitempty"`
	// InitializerRange is the standard deviation NewLlama draws weights
	// with. Zero means 0.02.
	InitializerRange float64 `json:"initializer_range,omitempty"`
	// TorchDType records the weights' dtype; Save writes "float32".
	TorchDType string `json:"torch_dtype,omitempty"`

	// Extra holds the config.json fields not named above (bos_token_id,
	// eos_token_id, pad_token_id, transformers_version, ...), written back
	// unchanged by Save.
	Extra map[string]json.RawMessage `json:"-"`
}

// RopeScalingConfig is config.json's rope_scaling object. See
// tensor.RoPEScaling for the meaning of each field.
type RopeScalingConfig struct {
	// RopeType is "default", "linear" or "llama3". Older configs spell it
	// "type"; either key is accepted.
	RopeType                      string  `json:"rope_type,omitempty"`
	Type                          string  `json:"type,omitempty"`
	Factor                        float64 `json:"factor,omitempty"`
	LowFreqFactor                 float64 `json:"low_freq_factor,omitempty"`
	HighFreqFactor                float64 `json:"high_freq_factor,omitempty"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings,omitempty"`
}

// Defaults of transformers v4 LlamaConfig.
const (
	defaultRMSNormEps = 1e-6
	defaultRopeTheta  = 10000
)

// llamaConfigKeys lists the JSON keys of LlamaConfig's named fields.
var llamaConfigKeys = func() []string {
	var keys []string
	typ := reflect.TypeFor[LlamaConfig]()
	for i := 0; i < typ.NumField(); i++ {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}()

// UnmarshalJSON decodes config.json, keeping unknown fields in Extra.
func (c *LlamaConfig) UnmarshalJSON(data []byte) error {
	type plain LlamaConfig
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	for _, k := range llamaConfigKeys {
		delete(all, k)
	}
	p.Extra = nil
	if len(all) > 0 {
		p.Extra = all
	}
	*c = LlamaConfig(p)
	return nil
}

// MarshalJSON encodes the named fields and Extra as one object with sorted
// keys. A named field wins over an Extra entry of the same key.
func (c LlamaConfig) MarshalJSON() ([]byte, error) {
	type plain LlamaConfig
	named, err := json.Marshal(plain(c))
	if err != nil {
		return nil, err
	}
	all := make(map[string]json.RawMessage, len(c.Extra)+len(llamaConfigKeys))
	for k, v := range c.Extra {
		all[k] = v
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(named, &fields); err != nil {
		return nil, err
	}
	for k, v := range fields {
		all[k] = v
	}
	return json.Marshal(all)
}

// EOSTokenIDs returns eos_token_id from Extra, which config.json stores as
// one id or (Llama 3.1) a list. It returns nil when the value is absent
// or null.
func (c LlamaConfig) EOSTokenIDs() []int {
	return c.tokenIDs("eos_token_id")
}

// BOSTokenIDs returns bos_token_id from Extra like EOSTokenIDs.
func (c LlamaConfig) BOSTokenIDs() []int {
	return c.tokenIDs("bos_token_id")
}

func (c LlamaConfig) tokenIDs(key string) []int {
	raw, ok := c.Extra[key]
	if !ok {
		return nil
	}
	var single int
	if json.Unmarshal(raw, &single) == nil && string(raw) != "null" {
		return []int{single}
	}
	var many []int
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}

// withDefaults fills the fields whose zero value means a default.
func (c LlamaConfig) withDefaults() LlamaConfig {
	if c.ModelType == "" {
		c.ModelType = "llama"
	}
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	if c.RMSNormEps == 0 {
		c.RMSNormEps = defaultRMSNormEps
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = defaultRopeTheta
	}
	if c.HiddenAct == "" {
		c.HiddenAct = "silu"
	}
	if c.InitializerRange == 0 {
		c.InitializerRange = initStd
	}
	if len(c.Architectures) == 0 {
		switch c.ModelType {
		case "mistral":
			c.Architectures = []string{"MistralForCausalLM"}
		case "qwen2":
			c.Architectures = []string{"Qwen2ForCausalLM"}
		default:
			c.Architectures = []string{"LlamaForCausalLM"}
		}
	}
	return c
}

// qkvBias reports whether q_proj, k_proj and v_proj have biases.
func (c LlamaConfig) qkvBias() bool {
	return c.AttentionBias || c.ModelType == "qwen2"
}

// oBias reports whether o_proj has a bias.
func (c LlamaConfig) oBias() bool {
	return c.AttentionBias && c.ModelType != "qwen2"
}

// slidingWindow returns the attention window in tokens, or 0 for none.
func (c LlamaConfig) slidingWindow() int {
	if c.SlidingWindow == nil || *c.SlidingWindow <= 0 {
		return 0
	}
	if c.ModelType == "qwen2" && !c.UseSlidingWindow {
		return 0
	}
	return *c.SlidingWindow
}

// ropeScaling converts RopeScaling for package tensor.
func (c LlamaConfig) ropeScaling() tensor.RoPEScaling {
	s := c.RopeScaling
	if s == nil {
		return tensor.RoPEScaling{}
	}
	typ := s.RopeType
	if typ == "" {
		typ = s.Type
	}
	return tensor.RoPEScaling{
		Type:                 typ,
		Factor:               s.Factor,
		LowFreqFactor:        s.LowFreqFactor,
		HighFreqFactor:       s.HighFreqFactor,
		OriginalMaxPositions: s.OriginalMaxPositionEmbeddings,
	}
}

// validate returns an error wrapping ErrUnsupported for a configuration
// this package cannot run. It expects withDefaults to have run.
func (c LlamaConfig) validate() error {
	switch c.ModelType {
	case "llama", "mistral", "qwen2":
	default:
		return fmt.Errorf("%w: model_type %q, want \"llama\", \"mistral\" or \"qwen2\"", ErrUnsupported, c.ModelType)
	}
	if c.HiddenAct != "silu" {
		return fmt.Errorf("%w: hidden_act %q, only \"silu\" is implemented", ErrUnsupported, c.HiddenAct)
	}
	if c.MLPBias {
		return fmt.Errorf("%w: mlp_bias is true, only bias-free MLP projections are implemented", ErrUnsupported)
	}
	if c.VocabSize <= 0 || c.HiddenSize <= 0 || c.IntermediateSize <= 0 || c.NumHiddenLayers <= 0 ||
		c.NumAttentionHeads <= 0 || c.NumKeyValueHeads <= 0 || c.MaxPositionEmbeddings <= 0 || c.HeadDim <= 0 {
		return fmt.Errorf("%w: vocab_size %d, hidden_size %d, intermediate_size %d, num_hidden_layers %d, num_attention_heads %d, num_key_value_heads %d, head_dim %d and max_position_embeddings %d must all be positive",
			ErrUnsupported, c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim, c.MaxPositionEmbeddings)
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return fmt.Errorf("%w: num_attention_heads %d is not a multiple of num_key_value_heads %d", ErrUnsupported, c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("%w: head size %d is odd, RoPE needs an even head size", ErrUnsupported, c.HeadDim)
	}
	if c.RMSNormEps < 0 || c.RopeTheta < 0 {
		return fmt.Errorf("%w: rms_norm_eps %g and rope_theta %g must not be negative", ErrUnsupported, c.RMSNormEps, c.RopeTheta)
	}
	return c.validateRopeScaling()
}

func (c LlamaConfig) validateRopeScaling() error {
	s := c.ropeScaling()
	switch s.Type {
	case "", "default":
		return nil
	case "linear", "llama3":
		if !(s.Factor >= 1) {
			return fmt.Errorf("%w: rope_scaling factor %g must be >= 1", ErrUnsupported, s.Factor)
		}
	default:
		return fmt.Errorf("%w: rope_scaling type %q, only \"default\", \"linear\" and \"llama3\" are implemented", ErrUnsupported, s.Type)
	}
	if s.Type == "llama3" && (s.LowFreqFactor <= 0 || s.HighFreqFactor <= s.LowFreqFactor || s.OriginalMaxPositions <= 0) {
		return fmt.Errorf("%w: llama3 rope_scaling needs 0 < low_freq_factor (%g) < high_freq_factor (%g) and original_max_position_embeddings (%d) > 0",
			ErrUnsupported, s.LowFreqFactor, s.HighFreqFactor, s.OriginalMaxPositions)
	}
	return nil
}

// readLlamaConfig reads and validates dir/config.json.
func readLlamaConfig(dir string) (LlamaConfig, error) {
	data, path, err := readConfigFile(dir)
	if err != nil {
		return LlamaConfig{}, err
	}
	var cfg LlamaConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return LlamaConfig{}, fmt.Errorf("parsing %s: %w", path, err)
	}
	if cfg.ModelType == "" {
		return LlamaConfig{}, fmt.Errorf("%s: %w: model_type is missing", path, ErrUnsupported)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return LlamaConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
