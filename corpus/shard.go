package corpus

// Shards are Parquet files (Apache Parquet format 2.x) written and read with
// github.com/parquet-go/parquet-go v0.32.1. Every column is zstd-compressed.
// Rows are written in row groups of at most rowGroupRows rows, so readers can
// stream a shard without holding it in memory.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"iter"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// Defaults for ShardOptions.
const (
	// DefaultShardRows is the row limit per shard when ShardOptions.MaxRows
	// is zero.
	DefaultShardRows = 100_000
	// DefaultShardBytes is the size limit per shard when
	// ShardOptions.MaxBytes is zero: 256 MiB of uncompressed row data.
	DefaultShardBytes = 256 << 20

	// rowGroupRows and rowGroupBytes bound one Parquet row group, which the
	// writer buffers in memory before compressing it.
	rowGroupRows  = 8192
	rowGroupBytes = 32 << 20
)

// RejectedName is the file name of a stage's rejected-documents file.
const RejectedName = "rejected.parquet"

// ShardOptions configures a ShardWriter.
type ShardOptions struct {
	// MaxRows is the maximum number of rows per shard. Zero means
	// DefaultShardRows.
	MaxRows int64
	// MaxBytes is the maximum uncompressed row data per shard in bytes,
	// estimated as the sum of the string, map and fixed-size field sizes. A
	// shard is closed after the row that crosses the limit, so one large row
	// can make a shard bigger. Zero means DefaultShardBytes.
	MaxBytes int64
	// RelDir is the folder that ShardInfo.Path starts with, relative to the
	// workspace (for example "collect"). Empty means the base name of the
	// writer's folder.
	RelDir string
	// CreatedBy is recorded as the Parquet file's created_by field, for
	// example "adapt 0.3.0". Empty means "adapt".
	CreatedBy string
}

func (o ShardOptions) withDefaults(dir string) ShardOptions {
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultShardRows
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultShardBytes
	}
	if o.RelDir == "" {
		o.RelDir = filepath.Base(filepath.Clean(dir))
	}
	if o.CreatedBy == "" {
		o.CreatedBy = "adapt"
	}
	return o
}

// ShardWriter writes documents to shard-00000.parquet, shard-00001.parquet,
// ... in one folder, starting a new shard when the current one reaches
// MaxRows rows or MaxBytes bytes. Each shard is written under a hidden
// temporary name, and Close renames them all, so a failed run leaves no file
// that looks like a finished shard. A ShardWriter is not safe for concurrent
// use.
type ShardWriter struct {
	dir   string
	opts  ShardOptions
	cur   *fileWriter[Document]
	done  []*fileWriter[Document]
	err   error
	close bool
}

// NewShardWriter returns a writer of document shards in dir, which must
// exist. No file is created until the first Write.
func NewShardWriter(dir string, opts ShardOptions) *ShardWriter {
	return &ShardWriter{dir: dir, opts: opts.withDefaults(dir)}
}

// Write appends docs to the current shard, starting new shards as the limits
// require. After an error the writer is unusable, so call Abort.
func (w *ShardWriter) Write(docs ...Document) error {
	if w.err != nil {
		return w.err
	}
	if w.close {
		panic("corpus: ShardWriter.Write after Close")
	}
	for i := range docs {
		if w.cur == nil {
			name := fmt.Sprintf("shard-%05d.parquet", len(w.done))
			w.cur, w.err = newFileWriter[Document](w.dir, name, w.opts.CreatedBy)
			if w.err != nil {
				return w.err
			}
		}
		doc := docs[i]
		doc.CollectedAt = encodeTime(doc.CollectedAt)
		if w.err = w.cur.write(&doc, documentSize(&doc)); w.err != nil {
			return w.err
		}
		if w.cur.rows >= w.opts.MaxRows || w.cur.bytes >= w.opts.MaxBytes {
			if w.err = w.cur.finish(); w.err != nil {
				return w.err
			}
			w.done = append(w.done, w.cur)
			w.cur = nil
		}
	}
	return nil
}

// Close finishes the last shard, renames every shard to its final name and
// returns them in order. Zero documents give zero shards. On error, the
// temporary files are removed.
func (w *ShardWriter) Close() ([]ShardInfo, error) {
	if w.close {
		panic("corpus: ShardWriter.Close called twice")
	}
	w.close = true
	if w.err == nil && w.cur != nil {
		if w.err = w.cur.finish(); w.err == nil {
			w.done = append(w.done, w.cur)
			w.cur = nil
		}
	}
	if w.err != nil {
		w.abort()
		return nil, w.err
	}

	infos := make([]ShardInfo, 0, len(w.done))
	for _, fw := range w.done {
		if err := fw.rename(); err != nil {
			w.abort()
			return nil, err
		}
		infos = append(infos, fw.info(w.opts.RelDir))
	}
	return infos, nil
}

// Abort removes every file the writer created, renamed or not. It is safe to
// call after Close or after an error.
func (w *ShardWriter) Abort() {
	w.close = true
	w.abort()
}

func (w *ShardWriter) abort() {
	if w.cur != nil {
		w.cur.remove()
		w.cur = nil
	}
	for _, fw := range w.done {
		fw.remove()
	}
	w.done = nil
}

// RejectedWriter writes a stage's rejected.parquet. The file always exists
// after Close, with zero rows when nothing was rejected. A RejectedWriter is
// not safe for concurrent use.
type RejectedWriter struct {
	fw     *fileWriter[Rejected]
	relDir string
	err    error
}

// NewRejectedWriter creates the temporary file for dir/rejected.parquet.
// opts.RelDir and opts.CreatedBy apply; the size limits do not, because
// rejected rows go to one file.
func NewRejectedWriter(dir string, opts ShardOptions) (*RejectedWriter, error) {
	opts = opts.withDefaults(dir)
	fw, err := newFileWriter[Rejected](dir, RejectedName, opts.CreatedBy)
	if err != nil {
		return nil, err
	}
	return &RejectedWriter{fw: fw, relDir: opts.RelDir}, nil
}

// Write appends rows. After an error the writer is unusable, so call Abort.
func (w *RejectedWriter) Write(rows ...Rejected) error {
	if w.err != nil {
		return w.err
	}
	for i := range rows {
		row := rows[i]
		row.CollectedAt = encodeTime(row.CollectedAt)
		size := documentSize(&row.Document) + int64(len(row.Stage)+len(row.Reason)+len(row.Detail))
		if w.err = w.fw.write(&row, size); w.err != nil {
			return w.err
		}
	}
	return nil
}

// Close finishes the file, renames it to rejected.parquet and describes it.
func (w *RejectedWriter) Close() (ShardInfo, error) {
	if w.err == nil {
		w.err = w.fw.finish()
	}
	if w.err == nil {
		w.err = w.fw.rename()
	}
	if w.err != nil {
		w.fw.remove()
		return ShardInfo{}, w.err
	}
	return w.fw.info(w.relDir), nil
}

// Abort removes the file, renamed or not.
func (w *RejectedWriter) Abort() { w.fw.remove() }

// fileWriter writes one Parquet file of T rows to a temporary name, hashing
// the bytes as they are written.
type fileWriter[T any] struct {
	dir, name, tmp string
	file           *os.File
	hash           hash.Hash
	count          *countingWriter
	pw             *parquet.GenericWriter[T]
	rows, bytes    int64
	groupRows      int64
	groupBytes     int64
	renamed        bool
}

func newFileWriter[T any](dir, name, createdBy string) (*fileWriter[T], error) {
	tmp := filepath.Join(dir, "."+name+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return nil, fmt.Errorf("creating shard %s: %w", tmp, err)
	}
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(f, h)}
	pw := parquet.NewGenericWriter[T](cw,
		parquet.Compression(&parquet.Zstd),
		parquet.CreatedBy(createdBy, "", ""),
		parquet.KeyValueMetadata("adapt.schema_version", fmt.Sprint(SchemaVersion)),
	)
	return &fileWriter[T]{dir: dir, name: name, tmp: tmp, file: f, hash: h, count: cw, pw: pw}, nil
}

func (fw *fileWriter[T]) write(row *T, size int64) error {
	if _, err := fw.pw.Write([]T{*row}); err != nil {
		return fmt.Errorf("writing row %d of %s: %w", fw.rows, fw.tmp, err)
	}
	fw.rows++
	fw.bytes += size
	fw.groupRows++
	fw.groupBytes += size
	if fw.groupRows >= rowGroupRows || fw.groupBytes >= rowGroupBytes {
		if err := fw.pw.Flush(); err != nil {
			return fmt.Errorf("writing row group of %s: %w", fw.tmp, err)
		}
		fw.groupRows, fw.groupBytes = 0, 0
	}
	return nil
}

// finish writes the footer and closes the file.
func (fw *fileWriter[T]) finish() error {
	if err := fw.pw.Close(); err != nil {
		fw.file.Close()
		return fmt.Errorf("writing footer of %s: %w", fw.tmp, err)
	}
	if err := fw.file.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", fw.tmp, err)
	}
	return nil
}

func (fw *fileWriter[T]) rename() error {
	if err := os.Rename(fw.tmp, filepath.Join(fw.dir, fw.name)); err != nil {
		return fmt.Errorf("renaming shard %s: %w", fw.tmp, err)
	}
	fw.renamed = true
	return nil
}

func (fw *fileWriter[T]) remove() {
	fw.file.Close()
	os.Remove(fw.tmp)
	if fw.renamed {
		os.Remove(filepath.Join(fw.dir, fw.name))
	}
}

func (fw *fileWriter[T]) info(relDir string) ShardInfo {
	return ShardInfo{
		Path:   filepath.ToSlash(filepath.Join(relDir, fw.name)),
		SHA256: hex.EncodeToString(fw.hash.Sum(nil)),
		Rows:   fw.rows,
		Bytes:  fw.count.n,
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// documentSize estimates the uncompressed size of d in bytes.
func documentSize(d *Document) int64 {
	const fixed = 8 + 8 + 4 // lang_confidence, collected_at, http_status
	n := int64(fixed + len(d.ID) + len(d.Text) + len(d.Domain) + len(d.Source) + len(d.URL) +
		len(d.License) + len(d.Lang) + len(d.Title) + len(d.RawSHA256) + len(d.DedupCluster))
	for k, v := range d.Meta {
		n += int64(len(k) + len(v))
	}
	for k := range d.Quality {
		n += int64(len(k) + 8)
	}
	for k := range d.Redactions {
		n += int64(len(k) + 8)
	}
	return n
}

// encodeTime maps the zero time.Time, which lies outside the int64
// nanosecond range the Parquet library converts through, to the Unix epoch.
// decodeTimes maps it back, so a zero CollectedAt survives a round trip.
// NOTE: a document really collected at 1970-01-01T00:00:00Z reads back as
// the zero time.
func encodeTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t
}

func decodeTimes(row any) {
	var d *Document
	switch r := row.(type) {
	case *Document:
		d = r
	case *Rejected:
		d = &r.Document
	default:
		return
	}
	if d.CollectedAt.Equal(time.Unix(0, 0)) {
		d.CollectedAt = time.Time{}
	}
}

// ListShards returns the paths of dir's document shards (shard-*.parquet)
// sorted by name, which is the order they were written in. A folder without
// shards gives an empty list, but a missing folder is an error.
func ListShards(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing shards: %w", err)
	}
	var paths []string
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(name, "shard-") && strings.HasSuffix(name, ".parquet") {
			paths = append(paths, filepath.Join(dir, name))
		}
	}
	sort.Strings(paths)
	return paths, nil
}

// ReadShards returns an iterator over the documents in the given shard
// files, in order. It reads one row group batch at a time, so memory use
// does not grow with the file size. After the iterator yields a non-nil
// error it stops. Errors name the file, and a damaged file wraps
// ErrCorruptShard.
func ReadShards(paths ...string) iter.Seq2[Document, error] {
	return func(yield func(Document, error) bool) {
		for _, path := range paths {
			if !readFile(path, yield) {
				return
			}
		}
	}
}

// ReadRejected returns an iterator over the rows of a rejected file, with
// the same streaming and error behavior as ReadShards.
func ReadRejected(path string) iter.Seq2[Rejected, error] {
	return func(yield func(Rejected, error) bool) {
		readFile(path, yield)
	}
}

// Collect drains an iterator from ReadShards or ReadRejected into a slice,
// stopping at the first error.
func Collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	var err error
	seq(func(row T, e error) bool {
		if e != nil {
			err = e
			return false
		}
		out = append(out, row)
		return true
	})
	return out, err
}

// readFile yields the rows of one file and reports whether to go on.
func readFile[T any](path string, yield func(T, error) bool) bool {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		yield(zero, fmt.Errorf("reading shard: %w", err))
		return false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		yield(zero, fmt.Errorf("reading shard: %w", err))
		return false
	}

	stopped := false
	err = ReadParquet(f, info.Size(), func(rows []T) bool {
		for _, row := range rows {
			if !yield(row, nil) {
				stopped = true
				return false
			}
		}
		return true
	})
	if stopped {
		return false
	}
	if err != nil {
		yield(zero, fmt.Errorf("reading %s: %w", path, err))
		return false
	}
	return true
}

// readBatch is the number of rows ReadParquet decodes per call.
const readBatch = 256

// ReadParquet decodes the Parquet data in r (size bytes) as rows of T and
// passes them to fn in batches. fn must not keep the slice. fn returns false
// to stop early, and ReadParquet then returns nil. Columns that the file
// lacks read as zero values. Any decoding fault, including a panic
// inside the Parquet library on damaged input, is returned as an error
// wrapping ErrCorruptShard with the row offset reached.
func ReadParquet[T any](r io.ReaderAt, size int64, fn func(rows []T) bool) (err error) {
	var row int64
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: decoder fault near row %d: %v; rewrite the file with the stage that made it", ErrCorruptShard, row, p)
		}
	}()

	file, err := parquet.OpenFile(r, size)
	if err != nil {
		return fmt.Errorf("%w: opening footer: %v; rewrite the file with the stage that made it", ErrCorruptShard, err)
	}
	reader := parquet.NewGenericReader[T](file)
	defer reader.Close()

	buf := make([]T, readBatch)
	for {
		n, readErr := reader.Read(buf)
		if n > 0 {
			for i := range buf[:n] {
				decodeTimes(&buf[i])
			}
			if !fn(buf[:n]) {
				return nil
			}
			row += int64(n)
			clear(buf[:n])
		}
		if readErr == io.EOF {
			if row != file.NumRows() {
				return fmt.Errorf("%w: read %d rows but the footer lists %d", ErrCorruptShard, row, file.NumRows())
			}
			return nil
		}
		if readErr != nil {
			return fmt.Errorf("%w: reading near row %d: %v", ErrCorruptShard, row, readErr)
		}
	}
}
