package safetensors

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// HashFolder returns the hex SHA-256 digest that identifies the weights of
// the Hugging Face model folder dir. When dir/model.safetensors exists it is
// that file's SHA-256, the value sha256sum prints. Otherwise dir must hold
// model.safetensors.index.json, and the digest is the SHA-256 of the lines
// "<file> <sha256>\n" for the index and then for each shard it lists, in
// name order. Other files in dir (config.json, tokenizer.json) are not
// hashed. Errors name the missing or unreadable file.
func HashFolder(dir string) (string, error) {
	single := filepath.Join(dir, SingleFile)
	sum, err := hashFile(single)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return sum, err
	}

	indexPath := filepath.Join(dir, IndexFile)
	data, err := os.ReadFile(indexPath)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("hashing model weights: neither %s nor %s exists; a model folder needs one of them: %w", single, IndexFile, err)
	}
	if err != nil {
		return "", fmt.Errorf("hashing safetensors index: %w", err)
	}
	idx, err := ParseIndex(data, indexPath)
	if err != nil {
		return "", err
	}

	// One line per file, the index first, so that a changed shard list and
	// a changed shard both change the digest.
	shardSet := map[string]bool{}
	for _, shard := range idx.WeightMap {
		shardSet[shard] = true
	}
	shards := make([]string, 0, len(shardSet))
	for shard := range shardSet {
		shards = append(shards, shard)
	}
	sort.Strings(shards)

	h := sha256.New()
	indexSum := sha256.Sum256(data)
	fmt.Fprintf(h, "%s %s\n", IndexFile, hex.EncodeToString(indexSum[:]))
	for _, shard := range shards {
		sum, err := hashFile(filepath.Join(dir, shard))
		if err != nil {
			return "", fmt.Errorf("hashing shard listed in %s: %w", indexPath, err)
		}
		fmt.Fprintf(h, "%s %s\n", shard, sum)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashFile returns the hex SHA-256 digest of the file at path.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	defer f.Close()

	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
