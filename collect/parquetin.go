package collect

// Parquet input files are read with github.com/parquet-go/parquet-go v0.32.1
// (Apache Parquet format 2.x). Only top-level, non-repeated columns are
// used; nested and repeated columns are skipped.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// DefaultTextColumn is the column read as document text when
// Source.TextColumn is empty.
const DefaultTextColumn = "text"

// parquetReadRows is how many rows parseParquet decodes per call.
const parquetReadRows = 256

// parseParquet reads the rows of a Parquet file as records. textColumns
// names the text columns, whose non-empty values are joined by a blank
// line. "id", "title", "url" and "license" are used when present,
// and other scalar columns go to the record's fields as strings. Each
// record's raw bytes are the row's columns as a JSON object with sorted keys,
// so its hash changes when any column does. It returns an error when the
// file does not open, lacks a text column, or fails to decode; a panic
// inside the Parquet library on damaged input is returned as an error.
func parseParquet(data []byte, textColumns []string) (out []record, err error) {
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
	textIndexes := make([]int, len(textColumns))
	for i := range textIndexes {
		textIndexes[i] = -1
	}
	for _, field := range schema.Fields() {
		leaf, ok := schema.Lookup(field.Name())
		if !ok || !field.Leaf() || leaf.MaxRepetitionLevel > 0 {
			continue
		}
		names[leaf.ColumnIndex] = field.Name()
		for i, name := range textColumns {
			if field.Name() == name {
				textIndexes[i] = leaf.ColumnIndex
			}
		}
	}
	for i, index := range textIndexes {
		if index < 0 {
			return nil, fmt.Errorf("no top-level %q column (columns are %v); set the source's text_column", textColumns[i], schema.Columns())
		}
	}

	reader := parquet.NewReader(file)
	defer reader.Close()
	rows := make([]parquet.Row, parquetReadRows)
	for {
		n, readErr := reader.ReadRows(rows)
		for _, values := range rows[:n] {
			row++
			out = append(out, parquetRecord(row, values, names, textIndexes))
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

// parquetRecord converts one row to a record. textIndexes are the leaf
// column indexes of the text columns in order. A null or missing text value
// counts as empty, and a row whose text values are all empty gives an empty
// text, which the caller rejects as empty.
func parquetRecord(row int, values parquet.Row, names map[int]string, textIndexes []int) record {
	rec := record{line: row, fields: map[string]string{}}
	all := map[string]string{}
	texts := make([]string, len(textIndexes))
	for _, v := range values {
		name, ok := names[v.Column()]
		if !ok || v.IsNull() {
			continue
		}
		s := parquetString(v)
		all[name] = s
		switch i := slices.Index(textIndexes, v.Column()); {
		case i >= 0:
			texts[i] = s
		case len(s) <= maxMetaValue:
			rec.fields[name] = s
		}
	}
	var parts []string
	for _, text := range texts {
		parts = appendNonEmpty(parts, text)
	}
	rec.text = strings.Join(parts, textFieldSeparator)
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
