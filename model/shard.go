package model

import (
	"fmt"
	"path/filepath"

	"github.com/adapt-llm/adapt/model/safetensors"
)

// MaxShardBytes is the largest weights file, in bytes of tensor data, that
// GPT2.Save and Llama.Save write before they split the weights into
// model-00001-of-0000N.safetensors shards with a
// model.safetensors.index.json. Zero means safetensors.DefaultMaxShardBytes
// (5 GB, the huggingface_hub and transformers 4.x default). Tests lower it
// to exercise sharding on tiny models; a negative value makes Save panic.
var MaxShardBytes int64 = safetensors.DefaultMaxShardBytes

// readWeights reads the safetensors weights of the model folder dir in
// either layout, single file or sharded, and returns them with the path
// that names them in errors.
func readWeights(dir string) ([]safetensors.Tensor, string, error) {
	file, source, err := safetensors.ReadFolder(dir)
	if err != nil {
		return nil, source, err
	}
	return file.Tensors, source, nil
}

// writeWeights writes params (with any attached adapter merged through
// data) as F32 safetensors into dir, sharded above MaxShardBytes.
func writeWeights(dir string, params []*Param, data func(*Param) []float32) error {
	tensors := make([]safetensors.Tensor, 0, len(params))
	for _, p := range params {
		tensors = append(tensors, safetensors.FromFloat32(p.Name, p.Shape, data(p)))
	}
	if _, err := safetensors.WriteFolder(dir, tensors, map[string]string{"format": "pt"}, MaxShardBytes); err != nil {
		return fmt.Errorf("saving model weights to %s: %w", filepath.Clean(dir), err)
	}
	return nil
}
