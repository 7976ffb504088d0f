package collect

// Parquet input files are read with github.com/parquet-go/parquet-go v0.32.1
// (Apache Parquet format 2.x). Only top-level, non-repeated columns are
// used; nested and repeated columns are skipped.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/parquet-go/parquet-go"
)

// DefaultTextColumn is the column read as document text when
// Source.TextColumn is empty.
const DefaultTextColumn = "text"

// parquetReadRows is how many rows parseParquet decodes per call.
const parquetReadRows = 256

// parseParquet reads the rows of a Parquet file as records. textColumn names
// the text column; "id", "title", "url" and "license" are used when present,
// and other scalar columns go to the record's fields as strings. Each
// record's raw bytes are the row's columns as a JSON object with sorted keys,
// so its hash changes when any column does. It returns an error when the
// file does not open, lacks the text column, or fails to decode; a panic
// inside the Parquet library on damaged input is returned as an error.
func parseParquet(data []byte, textColumn string) (out []record, err error) {
	row := 0
	defer func() {
		if p := recover(); p != nil {
			out = nil
			err = fmt.Errorf("decoder fault near row %d: %v", row+1, p)
		}
	}()

	file, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("opening Parquet footer: %w", err)
	}

	// Map the usable top-level columns to their leaf column index.
	schema := file.Schema()
	names := map[int]string{}
	textIndex := -1
	for _, field := range schema.Fields() {
		leaf, ok := schema.Lookup(field.Name())
		if !ok || !field.Leaf() || leaf.MaxRepetitionLevel > 0 {
			continue
		}
		names[leaf.ColumnIndex] = field.Name()
		if field.Name() == textColumn {
			textIndex = leaf.ColumnIndex
		}
	}
	if textIndex < 0 {
		return nil, fmt.Errorf("no top-level %q column (columns are %v); set the source's text_column", textColumn, schema.Columns())
	}

	reader := parquet.NewReader(file)
	defer reader.Close()
	rows := make([]parquet.Row, parquetReadRows)
	for {
		n, readErr := reader.ReadRows(rows)
		for _, values := range rows[:n] {
			row++
			out = append(out, parquetRecord(row, values, names, textIndex))
		}
		if readErr == io.EOF {
			break
		}
		if readErr != nil {
			return nil, fmt.Errorf("reading row %d: %w", row+1, readErr)
		}
		if n == 0 {
			return nil, fmt.Errorf("reading row %d: reader made no progress", row+1)
		}
	}
	if int64(row) != file.NumRows() {
		return nil, fmt.Errorf("read %d rows but the footer lists %d", row, file.NumRows())
	}
	return out, nil
}

// parquetRecord converts one row to a record. A null or missing text value
// gives an empty text, which the caller rejects as empty.
func parquetRecord(row int, values parquet.Row, names map[int]string, textIndex int) record {
	rec := record{line: row, fields: map[string]string{}}
	all := map[string]string{}
	for _, v := range values {
		name, ok := names[v.Column()]
		if !ok || v.IsNull() {
			continue
		}
		s := parquetString(v)
		all[name] = s
		switch {
		case v.Column() == textIndex:
			rec.text = s
		case len(s) <= maxMetaValue:
			rec.fields[name] = s
		}
	}
	rec.raw, _ = json.Marshal(all) // a map of strings always encodes
	return rec
}

// parquetString formats a value by its physical type: byte arrays as text,
// numbers in decimal, booleans as "true" or "false".
func parquetString(v parquet.Value) string {
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	case parquet.Boolean:
		return strconv.FormatBool(v.Boolean())
	case parquet.Int32:
		return strconv.FormatInt(int64(v.Int32()), 10)
	case parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10)
	case parquet.Float:
		return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32)
	case parquet.Double:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64)
	default:
		return v.String()
	}
}
