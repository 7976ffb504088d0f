package collect

// Compressed inputs: gzip (RFC 1952, read with compress/gzip) and Zstandard
// (RFC 8878, read with github.com/klauspost/compress/zstd v1.20.4). The
// format of the content is chosen from the extension under the compression
// suffix, so "notes.jsonl.gz" is read as JSON Lines.

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Compression names recorded in Document.Meta["compression"].
const (
	compressionGzip = "gzip"
	compressionZstd = "zstd"
)

// maxDecompressedBytes caps the decompressed size of one file: 1 GiB. A
// larger file is rejected as invalid_format, which also stops a small
// compressed file that expands without bound.
const maxDecompressedBytes = 1 << 30

// splitCompression returns the file name without its compression suffix and
// the compression it names, or name unchanged and "" when it has none.
func splitCompression(name string) (inner, compression string) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".gz":
		return name[:len(name)-3], compressionGzip
	case ".zst":
		return name[:len(name)-4], compressionZstd
	}
	return name, ""
}

// zstdDecoders reuses Zstandard decoders, whose tables are costly to build.
var zstdDecoders = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxDecompressedBytes))
	if err != nil {
		panic("collect: creating zstd decoder: " + err.Error())
	}
	return d
}}

// offsetReader counts the compressed bytes a decompressor has consumed, so
// that an error can name the byte offset it was found near.
type offsetReader struct {
	r      *bytes.Reader
	offset int64
}

func (o *offsetReader) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	o.offset += int64(n)
	return n, err
}

func (o *offsetReader) ReadByte() (byte, error) {
	b, err := o.r.ReadByte()
	if err == nil {
		o.offset++
	}
	return b, err
}

// decompress returns the decompressed content of data. On corrupt data the
// error names the compressed byte offset the decoder had read up to (exact
// for gzip, which reads byte by byte, and at block granularity for zstd) and
// how many bytes it had produced.
func decompress(compression string, data []byte) ([]byte, error) {
	src := &offsetReader{r: bytes.NewReader(data)}
	var out bytes.Buffer
	var err error

	switch compression {
	case compressionGzip:
		var zr *gzip.Reader
		zr, err = gzip.NewReader(src)
		if err == nil {
			out.Grow(min(4*len(data), maxDecompressedBytes))
			_, err = io.Copy(&out, io.LimitReader(zr, maxDecompressedBytes+1))
		}
	case compressionZstd:
		d := zstdDecoders.Get().(*zstd.Decoder)
		if err = d.Reset(src); err == nil {
			out.Grow(min(4*len(data), maxDecompressedBytes))
			_, err = io.Copy(&out, io.LimitReader(d, maxDecompressedBytes+1))
		}
		d.Reset(nil)
		zstdDecoders.Put(d)
	default:
		panic("collect: unknown compression " + compression)
	}

	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("truncated stream: %w", err)
		}
		return nil, fmt.Errorf("corrupt %s data near compressed byte offset %d (%d bytes decompressed): %v; recompress or replace the file",
			compression, src.offset, out.Len(), err)
	}
	if out.Len() > maxDecompressedBytes {
		return nil, fmt.Errorf("%s data expands past the %d-byte limit", compression, maxDecompressedBytes)
	}
	return out.Bytes(), nil
}
