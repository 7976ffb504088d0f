package safetensors

// Sharded checkpoints follow huggingface_hub's
// serialization/_base.py (split_state_dict_into_shards_factory, v0.2x),
// which transformers 4.x save_pretrained uses. Tensors are taken in order,
// and a new shard starts when the next tensor would push the current one
// past the limit. A tensor larger than the limit gets a shard of its own.
// Shards are named model-00001-of-0000N.safetensors, and
// model.safetensors.index.json maps every tensor name to its shard.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/adapt-llm/adapt/internal/atomicfile"
)

// File names of a Hugging Face model folder.
const (
	// SingleFile holds every weight when the model is not sharded.
	SingleFile = "model.safetensors"
	// IndexFile maps tensor names to shard files when the model is sharded.
	IndexFile = "model.safetensors.index.json"
)

// DefaultMaxShardBytes is the shard size limit WriteFolder uses when given
// 0: 5 GB (5,000,000,000 bytes), MAX_SHARD_SIZE in huggingface_hub's
// serialization/_base.py and the "5GB" default of max_shard_size in
// transformers 4.x save_pretrained.
const DefaultMaxShardBytes int64 = 5_000_000_000

// shardName matches the shard names WriteFolder writes, so that stale
// shards of an earlier save can be removed.
var shardName = regexp.MustCompile(`^model-[0-9]{5}-of-[0-9]{5}\.safetensors$`)

// Index is the content of model.safetensors.index.json.
type Index struct {
	// Metadata holds "total_size", the summed byte size of every tensor's
	// data, and whatever else the writer added.
	Metadata map[string]any `json:"metadata"`
	// WeightMap maps each tensor name to the shard file, relative to the
	// index's folder, that stores it.
	WeightMap map[string]string `json:"weight_map"`
}

// ParseIndex parses a model.safetensors.index.json held in data; name
// identifies the file in errors. It returns an error wrapping ErrCorrupt
// for invalid JSON, an empty or missing weight_map, or a shard name that is
// not a plain .safetensors file name in the same folder.
func ParseIndex(data []byte, name string) (*Index, error) {
	var idx Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w: invalid index JSON: %v", name, ErrCorrupt, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: %w: weight_map is missing or empty", name, ErrCorrupt)
	}
	for tensor, shard := range idx.WeightMap {
		if shard == "" || shard != filepath.Base(shard) || strings.ContainsAny(shard, `/\`) || shard == "." || shard == ".." || !strings.HasSuffix(shard, ".safetensors") {
			return nil, fmt.Errorf("%s: %w: tensor %q maps to %q, which is not a .safetensors file name in the model folder", name, ErrCorrupt, tensor, shard)
		}
	}
	return &idx, nil
}

// ReadFolder reads the weights of the Hugging Face model folder dir:
// dir/model.safetensors when it exists, otherwise
// dir/model.safetensors.index.json and every shard it lists. It returns
// the tensors as one File (Metadata is the single file's, or nil for a
// sharded model) and the path that names the weights in errors: the
// single file or the index. A shard that cannot be read returns an error
// naming the index and the shard, wrapping fs.ErrNotExist when the shard
// is missing. A tensor that the index lists but its shard lacks returns an
// error wrapping ErrCorrupt. Tensors in a shard that the index does not
// list are ignored, as transformers ignores them.
func ReadFolder(dir string) (*File, string, error) {
	single := filepath.Join(dir, SingleFile)
	if _, err := os.Stat(single); err == nil || !errors.Is(err, fs.ErrNotExist) {
		f, err := Read(single)
		return f, single, err
	}

	indexPath := filepath.Join(dir, IndexFile)
	data, err := os.ReadFile(indexPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, single, fmt.Errorf("reading model weights: neither %s nor %s exists; a model folder needs one of them: %w", single, IndexFile, err)
	}
	if err != nil {
		return nil, indexPath, fmt.Errorf("reading safetensors index: %w", err)
	}
	idx, err := ParseIndex(data, indexPath)
	if err != nil {
		return nil, indexPath, err
	}

	// Group the tensor names by shard, then read each shard once.
	byShard := map[string][]string{}
	for tensor, shard := range idx.WeightMap {
		byShard[shard] = append(byShard[shard], tensor)
	}
	shards := make([]string, 0, len(byShard))
	for shard := range byShard {
		shards = append(shards, shard)
	}
	sort.Strings(shards)

	out := &File{}
	for _, shard := range shards {
		path := filepath.Join(dir, shard)
		f, err := Read(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, indexPath, fmt.Errorf("%s lists shard %s, which is missing; copy the shard into %s or regenerate the index: %w", indexPath, path, dir, err)
		}
		if err != nil {
			return nil, indexPath, fmt.Errorf("reading shard %s listed in %s: %w", shard, indexPath, err)
		}
		names := byShard[shard]
		sort.Strings(names)
		for _, name := range names {
			t, ok := f.Tensor(name)
			if !ok {
				return nil, indexPath, fmt.Errorf("%s: %w: tensor %q is listed in %s but not stored in %s", path, ErrCorrupt, name, indexPath, shard)
			}
			out.Tensors = append(out.Tensors, t)
		}
	}
	sort.Slice(out.Tensors, func(i, j int) bool { return out.Tensors[i].Name < out.Tensors[j].Name })
	return out, indexPath, nil
}

// WriteFolder writes tensors into dir as model.safetensors when their data
// totals at most maxShardBytes, and otherwise as
// model-00001-of-0000N.safetensors shards plus model.safetensors.index.json.
// maxShardBytes 0 means DefaultMaxShardBytes; a negative value panics.
// Tensors are assigned to shards in the order given, so callers pass them in
// parameter order to keep each layer together. Every shard carries metadata
// (nil writes {"format": "pt"}). Each file is written under a temporary name
// and renamed. Once all are in place, WriteFolder removes the files of the
// other layout and any shards left by an earlier save. It returns the file names
// written, relative to dir.
func WriteFolder(dir string, tensors []Tensor, metadata map[string]string, maxShardBytes int64) ([]string, error) {
	if maxShardBytes < 0 {
		panic(fmt.Sprintf("safetensors.WriteFolder: maxShardBytes is %d, want >= 0", maxShardBytes))
	}
	if maxShardBytes == 0 {
		maxShardBytes = DefaultMaxShardBytes
	}

	shards, total := splitShards(tensors, maxShardBytes)
	var written []string
	if len(shards) <= 1 {
		if err := Write(filepath.Join(dir, SingleFile), tensors, metadata); err != nil {
			return nil, err
		}
		written = []string{SingleFile}
	} else {
		idx := Index{Metadata: map[string]any{"total_size": total}, WeightMap: map[string]string{}}
		for i, shard := range shards {
			name := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
			if err := Write(filepath.Join(dir, name), shard, metadata); err != nil {
				return nil, err
			}
			for _, t := range shard {
				idx.WeightMap[t.Name] = name
			}
			written = append(written, name)
		}
		js, err := json.MarshalIndent(idx, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encoding safetensors index: %w", err)
		}
		if err := writeFileAtomic(filepath.Join(dir, IndexFile), append(js, '\n')); err != nil {
			return nil, err
		}
		written = append(written, IndexFile)
	}

	if err := removeStale(dir, written); err != nil {
		return nil, err
	}
	return written, nil
}

// splitShards groups tensors, in order, into shards of at most maxBytes of
// data each, except that a tensor larger than maxBytes gets a shard of its
// own. It returns the shards and the total data size in bytes.
func splitShards(tensors []Tensor, maxBytes int64) ([][]Tensor, int64) {
	var shards [][]Tensor
	var current []Tensor
	var currentBytes, total int64
	for _, t := range tensors {
		size := int64(len(t.Data))
		total += size
		if size > maxBytes {
			shards = append(shards, []Tensor{t})
			continue
		}
		if currentBytes+size > maxBytes && len(current) > 0 {
			shards = append(shards, current)
			current, currentBytes = nil, 0
		}
		current = append(current, t)
		currentBytes += size
	}
	if len(current) > 0 || len(shards) == 0 {
		shards = append(shards, current)
	}
	return shards, total
}

// removeStale deletes the weight files in dir that an earlier save left and
// the latest one did not write: model.safetensors, the index and shards.
func removeStale(dir string, written []string) error {
	keep := map[string]bool{}
	for _, name := range written {
		keep[name] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("listing %s for stale weight files: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if keep[name] || !(name == SingleFile || name == IndexFile || shardName.MatchString(name)) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("removing stale weight file: %w", err)
		}
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// over path.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
