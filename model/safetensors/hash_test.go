package safetensors

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func hashTestTensors(last float32) []Tensor {
	return []Tensor{
		FromFloat32("a", []int{3}, []float32{1, 2, 3}),
		FromFloat32("b", []int{2}, []float32{4, last}),
	}
}

func TestHashFolderSingleFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteFolder(dir, hashTestTensors(5), nil, 0); err != nil {
		t.Fatal(err)
	}
	got, err := HashFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, SingleFile))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if want := hex.EncodeToString(sum[:]); got != want {
		t.Errorf("HashFolder = %s, want the file's SHA-256 %s", got, want)
	}
}

func TestHashFolderSharded(t *testing.T) {
	dirA, dirB, dirC := t.TempDir(), t.TempDir(), t.TempDir()
	for _, c := range []struct {
		dir  string
		last float32
	}{{dirA, 5}, {dirB, 5}, {dirC, 6}} {
		if _, err := WriteFolder(c.dir, hashTestTensors(c.last), nil, 12); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dirA, SingleFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat %s = %v, want a sharded folder", SingleFile, err)
	}

	hashA, err := HashFolder(dirA)
	if err != nil {
		t.Fatal(err)
	}
	hashB, err := HashFolder(dirB)
	if err != nil {
		t.Fatal(err)
	}
	hashC, err := HashFolder(dirC)
	if err != nil {
		t.Fatal(err)
	}
	if hashA != hashB {
		t.Errorf("same weights: got %s and %s, want equal digests", hashA, hashB)
	}
	if hashA == hashC {
		t.Errorf("different shard contents: got %s for both, want different digests", hashA)
	}
}

func TestHashFolderMissingShard(t *testing.T) {
	dir := t.TempDir()
	written, err := WriteFolder(dir, hashTestTensors(5), nil, 12)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, written[0])); err != nil {
		t.Fatal(err)
	}
	if _, err := HashFolder(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error = %v, want fs.ErrNotExist", err)
	}
}

func TestHashFolderNoWeights(t *testing.T) {
	if _, err := HashFolder(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error = %v, want fs.ErrNotExist", err)
	}
}
