package corpus

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xitongsys/parquet-go/reader"
	"github.com/xitongsys/parquet-go/source"
)

// memFile is an in-memory source.ParquetFile for the xitongsys reader.
type memFile struct{ *bytes.Reader }

func (memFile) Write([]byte) (int, error)                 { return 0, io.ErrUnexpectedEOF }
func (memFile) Close() error                              { return nil }
func (m memFile) Open(string) (source.ParquetFile, error) { return m, nil }
func (memFile) Create(string) (source.ParquetFile, error) { return nil, io.ErrUnexpectedEOF }

// TestShardsReadByIndependentReader checks that a second Parquet
// implementation, github.com/xitongsys/parquet-go v1.6.2, decodes the zstd
// shards this package writes: row count, the id and text columns, and the
// keys of the meta map.
func TestShardsReadByIndependentReader(t *testing.T) {
	dir := t.TempDir()
	docs := sampleDocs()
	writeShards(t, dir, ShardOptions{}, docs)
	data, err := os.ReadFile(filepath.Join(dir, "shard-00000.parquet"))
	if err != nil {
		t.Fatal(err)
	}

	pr, err := reader.NewParquetColumnReader(memFile{bytes.NewReader(data)}, 1)
	if err != nil {
		t.Fatalf("opening with xitongsys reader: %v", err)
	}
	defer pr.ReadStop()
	if got, want := pr.GetNumRows(), int64(len(docs)); got != want {
		t.Fatalf("NumRows: got %d, want %d", got, want)
	}

	column := func(suffix string) []any {
		t.Helper()
		for _, path := range pr.SchemaHandler.ValueColumns {
			ex := pr.SchemaHandler.InPathToExPath[path]
			if strings.HasSuffix(ex, suffix) {
				values, _, _, err := pr.ReadColumnByPath(path, 100)
				if err != nil {
					t.Fatalf("reading column %s: %v", ex, err)
				}
				return values
			}
		}
		t.Fatalf("column %q not found in %v", suffix, pr.SchemaHandler.ValueColumns)
		return nil
	}

	ids, texts := column("\x01id"), column("\x01text")
	for i, d := range docs {
		if got := fmt.Sprint(ids[i]); got != d.ID {
			t.Errorf("row %d id: got %q, want %q", i, got, d.ID)
		}
		if got := fmt.Sprint(texts[i]); got != d.Text {
			t.Errorf("row %d text: got %q, want %q", i, got, d.Text)
		}
	}

	var keys []string
	for _, k := range column("\x01meta\x01key_value\x01key") {
		if k != nil {
			keys = append(keys, fmt.Sprint(k))
		}
	}
	if got, want := strings.Join(keys, ","), "format,record,"; got != want {
		t.Errorf("meta keys: got %q, want %q", got, want)
	}
}

// FuzzReadParquet checks that damaged Parquet bytes give an error, never a
// panic.
func FuzzReadParquet(f *testing.F) {
	dir := f.TempDir()
	w := NewShardWriter(dir, ShardOptions{})
	w.Write(sampleDocs()...)
	w.Close()
	valid, _ := os.ReadFile(filepath.Join(dir, "shard-00000.parquet"))
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte("PAR1PAR1"))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		ReadParquet(bytes.NewReader(data), int64(len(data)), func([]Document) bool { return true })
		ReadParquet(bytes.NewReader(data), int64(len(data)), func([]Rejected) bool { return true })
	})
}
