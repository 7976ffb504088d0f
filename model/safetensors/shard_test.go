package safetensors

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSplitShards(t *testing.T) {
	// Sizes in units of 4-byte elements; the limit is 10 units. The first
	// case is the example in huggingface_hub's split_state_dict_into_shards_factory.
	cases := []struct {
		name  string
		sizes []int
		want  [][]int
	}{
		{"greedy in order", []int{6, 6, 2, 6, 2, 2}, [][]int{{6}, {6, 2}, {6, 2, 2}}},
		{"oversized tensor alone", []int{2, 12, 3}, [][]int{{12}, {2, 3}}},
		{"fits in one", []int{5, 5}, [][]int{{5, 5}}},
		{"empty", nil, [][]int{nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tensors []Tensor
			for i, n := range c.sizes {
				tensors = append(tensors, FromFloat32(fmt.Sprint("t", i, "_", n), []int{n}, make([]float32, n)))
			}
			shards, total := splitShards(tensors, 40)
			var got [][]int
			for _, s := range shards {
				var sizes []int
				for _, t := range s {
					sizes = append(sizes, len(t.Data)/4)
				}
				got = append(got, sizes)
			}
			if !slices.EqualFunc(got, c.want, slices.Equal) {
				t.Errorf("shards = %v, want %v", got, c.want)
			}
			wantTotal := 0
			for _, n := range c.sizes {
				wantTotal += 4 * n
			}
			if total != int64(wantTotal) {
				t.Errorf("total = %d, want %d", total, wantTotal)
			}
		})
	}
}

func TestWriteFolderRoundTrip(t *testing.T) {
	in := []Tensor{
		FromFloat32("a", []int{3}, []float32{1, 2, 3}),
		FromFloat32("b", []int{2}, []float32{4, 5}),
		FromFloat32("c", []int{4}, []float32{6, 7, 8, 9}),
	}
	dir := t.TempDir()
	written, err := WriteFolder(dir, in, nil, 12)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", IndexFile}
	if !slices.Equal(written, wantFiles) {
		t.Errorf("written = %v, want %v", written, wantFiles)
	}
	f, source, err := ReadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, IndexFile); source != want {
		t.Errorf("source = %s, want %s", source, want)
	}
	for _, want := range in {
		got, ok := f.Tensor(want.Name)
		if !ok || !slices.Equal(got.Data, want.Data) || !slices.Equal(got.Shape, want.Shape) {
			t.Errorf("tensor %s: got %v %v, want %v %v", want.Name, got.Shape, got.Data, want.Shape, want.Data)
		}
	}
}

func TestReadFolderNoWeights(t *testing.T) {
	_, _, err := ReadFolder(t.TempDir())
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got error %v, want one wrapping os.ErrNotExist", err)
	}
}

func TestParseIndexRejects(t *testing.T) {
	cases := []struct {
		name string
		data string
	}{
		{"not json", `{"weight_map":`},
		{"no weight_map", `{"metadata": {"total_size": 8}}`},
		{"empty weight_map", `{"weight_map": {}}`},
		{"parent folder", `{"weight_map": {"w": "../model.safetensors"}}`},
		{"subfolder", `{"weight_map": {"w": "sub/model.safetensors"}}`},
		{"not safetensors", `{"weight_map": {"w": "pytorch_model.bin"}}`},
		{"empty shard name", `{"weight_map": {"w": ""}}`},
		{"weight_map not strings", `{"weight_map": {"w": 3}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseIndex([]byte(c.data), "index.json")
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got error %v, want ErrCorrupt", err)
			}
		})
	}
}

func FuzzParseIndex(f *testing.F) {
	f.Add([]byte(`{"metadata": {"total_size": 8}, "weight_map": {"w": "model-00001-of-00002.safetensors"}}`))
	f.Add([]byte(`{"weight_map": {"w": "..\\x.safetensors"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := ParseIndex(data, "fuzz")
		if err != nil {
			return
		}
		// Every accepted shard name must stay inside the model folder.
		for _, shard := range idx.WeightMap {
			if filepath.Base(shard) != shard || filepath.Join("dir", shard) == "dir" {
				t.Fatalf("accepted shard name %q escapes the folder", shard)
			}
		}
	})
}
