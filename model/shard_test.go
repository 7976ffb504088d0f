package model

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/adapt-llm/adapt/model/safetensors"
)

// withMaxShardBytes sets MaxShardBytes for one test.
func withMaxShardBytes(t *testing.T, n int64) {
	old := MaxShardBytes
	MaxShardBytes = n
	t.Cleanup(func() { MaxShardBytes = old })
}

func TestSaveLoadSharded(t *testing.T) {
	gpt2 := NewGPT2(GPT2Config{VocabSize: 50, NPositions: 16, NEmbd: 16, NLayer: 2, NHead: 2}, 1)
	llama := NewLlama(smallLlama(), 2)
	cases := []struct {
		name string
		m    CausalLM
	}{
		{"gpt2", gpt2},
		{"llama", llama},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// 4 KiB of F32 data per shard splits these models into several
			// shards while keeping each small tensor whole.
			withMaxShardBytes(t, 4096)
			dir := t.TempDir()
			if err := c.m.Save(dir); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, safetensors.SingleFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("stat model.safetensors: got %v, want not exist", err)
			}
			idx := readIndex(t, dir)
			shards := map[string]bool{}
			for _, s := range idx.WeightMap {
				shards[s] = true
			}
			if len(shards) < 2 {
				t.Errorf("got %d shards, want at least 2", len(shards))
			}
			var wantTotal int
			for _, p := range c.m.Parameters() {
				wantTotal += 4 * len(p.Data)
				if idx.WeightMap[p.Name] == "" {
					t.Errorf("index lacks %s", p.Name)
				}
			}
			if got, ok := idx.Metadata["total_size"].(float64); !ok || int(got) != wantTotal {
				t.Errorf("total_size = %v, want %d", idx.Metadata["total_size"], wantTotal)
			}

			loaded, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			want, got := c.m.Parameters(), loaded.Parameters()
			if len(got) != len(want) {
				t.Fatalf("loaded %d parameters, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].Name != want[i].Name || !slices.Equal(got[i].Data, want[i].Data) {
					t.Errorf("parameter %d: got %s, want %s with equal data", i, got[i].Name, want[i].Name)
				}
			}

			// Saving again unsharded removes the shards and the index.
			withMaxShardBytes(t, 0)
			if err := c.m.Save(dir); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if wantNames := []string{"config.json", "model.safetensors"}; !slices.Equal(names, wantNames) {
				t.Errorf("folder holds %v, want %v", names, wantNames)
			}
		})
	}
}

func readIndex(t *testing.T, dir string) *safetensors.Index {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, safetensors.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	var idx safetensors.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	return &idx
}

func TestLoadShardedErrors(t *testing.T) {
	withMaxShardBytes(t, 4096)
	m := NewLlama(smallLlama(), 2)
	cases := []struct {
		name    string
		corrupt func(t *testing.T, dir string)
		want    error
	}{
		{"missing shard", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "model-00002-of-"+lastShardSuffix(t, dir))); err != nil {
				t.Fatal(err)
			}
		}, os.ErrNotExist},
		{"tensor absent from shard", func(t *testing.T, dir string) {
			idx := readIndex(t, dir)
			idx.WeightMap["model.embed_tokens.weight"] = "model-00002-of-" + lastShardSuffix(t, dir)
			writeIndex(t, dir, idx)
		}, safetensors.ErrCorrupt},
		{"index without weight_map", func(t *testing.T, dir string) {
			writeIndex(t, dir, &safetensors.Index{Metadata: map[string]any{"total_size": 1}})
		}, safetensors.ErrCorrupt},
		{"index not json", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, safetensors.IndexFile), []byte(`{"weight_map": [`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, safetensors.ErrCorrupt},
		{"tensor missing from index", func(t *testing.T, dir string) {
			idx := readIndex(t, dir)
			delete(idx.WeightMap, "model.norm.weight")
			writeIndex(t, dir, idx)
		}, ErrMissingTensor},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := m.Save(dir); err != nil {
				t.Fatal(err)
			}
			c.corrupt(t, dir)
			_, err := LoadLlama(dir)
			if !errors.Is(err, c.want) {
				t.Fatalf("got error %v, want one wrapping %v", err, c.want)
			}
			t.Logf("error: %v", err)
		})
	}
}

// lastShardSuffix returns "0000N.safetensors" for the shard count N of the
// sharded model in dir.
func lastShardSuffix(t *testing.T, dir string) string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "model-00001-of-*.safetensors"))
	if err != nil || len(matches) != 1 {
		t.Fatalf("glob first shard: %v %v", matches, err)
	}
	return filepath.Base(matches[0])[len("model-00001-of-"):]
}

func writeIndex(t *testing.T, dir string, idx *safetensors.Index) {
	t.Helper()
	data, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, safetensors.IndexFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
}
