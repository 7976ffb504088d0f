package model

import "errors"

// ErrUnsupported is wrapped when a model, adapter or setting is valid for
// its format but this package cannot run it:
//   - Load, when config.json has no model_type or one other than gpt2,
//     llama, mistral or qwen2;
//   - LoadGPT2 (and Load for gpt2), when config.json has no model_type or a
//     model_type other than "gpt2", an activation_function other than
//     gelu_new, an n_inner other than 4*n_embd, a size that is not
//     positive, or n_embd not divisible by n_head;
//   - LoadLlama (and Load for the Llama family), when config.json has no
//     model_type or one other than llama, mistral or qwen2, a hidden_act
//     other than silu, or mlp_bias true. It is also wrapped for a size that
//     is not positive, an odd head size or a negative rms_norm_eps or
//     rope_theta. The same holds when the heads are not a multiple of the
//     key/value heads, or when rope_scaling is not default, linear or llama3
//     with valid factors;
//   - NewLoRA and LoadLoRA, when the model is not a *GPT2 or *Llama, already
//     has an adapter, r is not positive, lora_alpha is negative,
//     lora_dropout is outside [0, 1), or a target module is an invalid
//     pattern or matches no layer. NewLoRA also returns it when any one
//     target entry matches no layer or r exceeds min(in_features,
//     out_features) of a wrapped layer;
//   - ParsePEFTConfig (and so LoadLoRA), when adapter_config.json uses a
//     PEFT feature that is not implemented, such as DoRA or a peft_type
//     other than LORA.
//
// NewGPT2 and NewLlama do not return it: they panic on the same
// configurations, because a configuration built in code is a programmer
// error.
var ErrUnsupported = errors.New("unsupported model")

// ErrMissingTensor is wrapped when weights do not match what the
// configuration requires:
//   - LoadGPT2, LoadLlama and Load, when model.safetensors, or the shards
//     model.safetensors.index.json lists, lack a parameter that config.json
//     implies, or store it with another shape (a tensor the index lists but
//     its shard lacks wraps safetensors.ErrCorrupt instead);
//   - LoadLoRA, when adapter_model.safetensors lacks the A or B tensor of a
//     layer that target_modules selects or stores one with a shape that r
//     and the model do not imply. It is also wrapped for a tensor of a layer
//     that target_modules does not select.
var ErrMissingTensor = errors.New("missing or misshaped tensor")

// ErrInvalidGenerateOptions is wrapped by Generate and Complete when a
// GenerateOptions field is outside its valid range, or StopStrings are set
// without Decode.
var ErrInvalidGenerateOptions = errors.New("invalid generate options")
