package neardup

// Signature files are Parquet files written and read with
// github.com/parquet-go/parquet-go v0.32.1, one Record per row (columns id,
// shard, row, signature as list<uint64>), zstd-compressed. The parameters
// that signatures depend on are stored as JSON under the key paramsKey in
// the file's key-value metadata, so Merge can refuse to compare signatures
// made differently.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/adapt-llm/adapt/corpus"
	"github.com/parquet-go/parquet-go"
)

// paramsKey is the Parquet key-value metadata key of fileParams.
const paramsKey = "adapt.neardup.params"

// batchSize is the number of documents a worker of Signatures takes at a
// time.
const batchSize = 64

// fileParams are the parameters stored in a signature file.
type fileParams struct {
	Hash        string  `json:"hash"`
	NumPerm     int     `json:"num_perm"`
	ShingleSize int     `json:"shingle_size"`
	Threshold   float64 `json:"threshold"`
	SkipVerify  bool    `json:"skip_verify"`
}

func paramsOf(cfg Config) fileParams {
	return fileParams{Hash: hashVersion, NumPerm: cfg.NumPerm, ShingleSize: cfg.ShingleSize, Threshold: cfg.Threshold, SkipVerify: cfg.SkipVerify}
}

// Signatures computes the signature of every document in docs, which come
// from the shard named shard, on GOMAXPROCS goroutines. Records are returned
// in row order, Row counting documents from 0. Texts are hashed as they are,
// so pass the normalized text that the clean chain produces. Only the
// documents being hashed are held in memory.
//
// Signatures returns the first error of docs, an error wrapping
// ErrInvalidConfig for a bad cfg, or ctx's error when it is canceled.
func Signatures(ctx context.Context, cfg Config, shard string, docs iter.Seq2[corpus.Document, error]) ([]Record, error) {
	h, err := NewHasher(cfg)
	if err != nil {
		return nil, err
	}

	// Workers hash batches of documents and keep their records locally.
	type batch struct {
		records []Record
		texts   []string
	}
	workers := runtime.GOMAXPROCS(0)
	batches := make(chan batch, workers)
	results := make([][]Record, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for b := range batches {
				for i := range b.records {
					b.records[i].Signature = h.Signature(b.texts[i])
				}
				results[w] = append(results[w], b.records...)
			}
		})
	}

	// Read documents and hand them out in batches.
	var readErr error
	var row int64
	next := batch{records: make([]Record, 0, batchSize), texts: make([]string, 0, batchSize)}
	for doc, err := range docs {
		if err != nil {
			readErr = err
			break
		}
		if err := ctx.Err(); err != nil {
			readErr = fmt.Errorf("computing signatures of shard %s after %d documents: %w", shard, row, err)
			break
		}
		next.records = append(next.records, Record{ID: doc.ID, Shard: shard, Row: row})
		next.texts = append(next.texts, doc.Text)
		row++
		if len(next.records) == batchSize {
			batches <- next
			next = batch{records: make([]Record, 0, batchSize), texts: make([]string, 0, batchSize)}
		}
	}
	if len(next.records) > 0 && readErr == nil {
		batches <- next
	}
	close(batches)
	wg.Wait()
	if readErr != nil {
		return nil, readErr
	}

	var records []Record
	for _, r := range results {
		records = append(records, r...)
	}
	slices.SortFunc(records, func(x, y Record) int { return cmp.Compare(x.Row, y.Row) })
	return records, nil
}

// WriteSignatures writes records to a Parquet signature file at path, with
// the parameters of cfg (defaults applied) in its metadata. The file is
// written under a temporary name in the same folder and renamed at the end,
// so a failed write leaves no file at path.
func WriteSignatures(path string, cfg Config, records []Record) (err error) {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	for _, rec := range records {
		if n := len(rec.Signature); n != 0 && n != cfg.NumPerm {
			panic(fmt.Sprintf("neardup: WriteSignatures: shard %q row %d has %d values, config num_perm is %d", rec.Shard, rec.Row, n, cfg.NumPerm))
		}
	}
	params, err := json.Marshal(paramsOf(cfg))
	if err != nil {
		return fmt.Errorf("encoding signature parameters: %w", err)
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating signature file for %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := parquet.NewGenericWriter[Record](tmp,
		parquet.Compression(&parquet.Zstd),
		parquet.CreatedBy("adapt", "", ""),
		parquet.KeyValueMetadata(paramsKey, string(params)),
	)
	if _, err := w.Write(records); err != nil {
		return fmt.Errorf("writing signatures to %s: %w", tmp.Name(), err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("writing footer of %s: %w", tmp.Name(), err)
	}
	// CreateTemp makes the file 0600; a signature file is an ordinary
	// output, readable like the shards beside it.
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("setting mode of %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("renaming signature file to %s: %w", path, err)
	}
	return nil
}

// ReadSignatures reads a signature file written by WriteSignatures and
// returns its records and the Config it was written with. It returns an
// error wrapping ErrCorruptSignatures when the parameters are missing or
// invalid or a signature has the wrong length.
func ReadSignatures(path string) ([]Record, Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Config{}, fmt.Errorf("opening signature file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, Config{}, fmt.Errorf("reading size of signature file %s: %w", path, err)
	}
	pf, err := parquet.OpenFile(f, info.Size())
	if err != nil {
		return nil, Config{}, fmt.Errorf("%w: %s is not a readable Parquet file: %v; recompute it with WriteSignatures", ErrCorruptSignatures, path, err)
	}

	// Parameters.
	raw, ok := pf.Lookup(paramsKey)
	if !ok {
		return nil, Config{}, fmt.Errorf("%w: %s has no %s metadata; it was not written by WriteSignatures", ErrCorruptSignatures, path, paramsKey)
	}
	var params fileParams
	if err := json.Unmarshal([]byte(raw), &params); err != nil {
		return nil, Config{}, fmt.Errorf("%w: %s: metadata %s: %v", ErrCorruptSignatures, path, paramsKey, err)
	}
	cfg := Config{NumPerm: params.NumPerm, ShingleSize: params.ShingleSize, Threshold: params.Threshold, SkipVerify: params.SkipVerify}
	if err := cfg.Validate(); err != nil || params.NumPerm == 0 || params.ShingleSize == 0 || params.Threshold == 0 {
		return nil, Config{}, fmt.Errorf("%w: %s: metadata %s contains invalid parameters %s", ErrCorruptSignatures, path, paramsKey, raw)
	}
	if params.Hash != hashVersion {
		return nil, Config{}, fmt.Errorf("%w: %s uses hash %q, this version computes %q; recompute its signatures", ErrParamsMismatch, path, params.Hash, hashVersion)
	}

	// Rows.
	var records []Record
	var rowErr error
	err = corpus.ReadParquet(f, info.Size(), func(rows []Record) bool {
		for _, rec := range rows {
			if n := len(rec.Signature); n != 0 && n != cfg.NumPerm {
				rowErr = fmt.Errorf("%w: %s row %d has a signature of %d values, metadata num_perm is %d", ErrCorruptSignatures, path, len(records), n, cfg.NumPerm)
				return false
			}
			records = append(records, rec)
		}
		return true
	})
	if err != nil {
		return nil, Config{}, fmt.Errorf("%w: reading rows of %s: %v", ErrCorruptSignatures, path, err)
	}
	if rowErr != nil {
		return nil, Config{}, rowErr
	}
	return records, cfg, nil
}

// Merge reads the signature files at paths, in any order, and clusters all
// their records together with Cluster, using the parameters stored in the
// files. The decisions do not depend on the order of paths. Merge returns
// an error wrapping ErrParamsMismatch when the files' parameters differ,
// and the errors of ReadSignatures and Cluster.
func Merge(paths ...string) (Decisions, error) {
	var all []Record
	var cfg Config
	for i, path := range paths {
		records, fileCfg, err := ReadSignatures(path)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			cfg = fileCfg
		} else if fileCfg != cfg {
			return nil, fmt.Errorf("%w: %s has %+v but %s has %+v", ErrParamsMismatch, path, fileCfg, paths[0], cfg)
		}
		all = append(all, records...)
	}
	return Cluster(cfg, all)
}
