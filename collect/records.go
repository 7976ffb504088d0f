package collect

// JSONL follows JSON Lines (https://jsonlines.org): one UTF-8 JSON value per
// line, lines separated by "\n" only. CSV follows RFC 4180 as implemented by
// encoding/csv, with a header row.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// record is one document-sized unit of a JSONL or CSV file.
type record struct {
	line int    // 1-based line where the record starts
	raw  []byte // the record's bytes as read
	text string
	// fields holds the optional title, url, id and license values and any
	// other scalar fields, keyed by name.
	fields map[string]string
	// err is set when the record is invalid; text is then empty.
	err error
}

// maxMetaValue is the maximum length in bytes of an extra scalar field that
// is copied into Document.Meta; longer values are left out.
const maxMetaValue = 1024

// parseJSONL splits data into records at "\n" (a trailing "\r" is dropped)
// and decodes each non-blank line as a JSON object with a string "text"
// field. U+2028, U+2029 and U+0085 inside a line are text, not separators.
func parseJSONL(data []byte) []record {
	var out []record
	for lineNo := 1; len(data) > 0; lineNo++ {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		out = append(out, decodeJSONRecord(lineNo, line))
	}
	return out
}

func decodeJSONRecord(lineNo int, line []byte) record {
	rec := record{line: lineNo, raw: line}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		rec.err = fmt.Errorf("line %d: invalid JSON object: %w", lineNo, err)
		return rec
	}
	rawText, ok := obj["text"]
	if !ok {
		rec.err = fmt.Errorf("line %d: record has no \"text\" field", lineNo)
		return rec
	}
	if err := json.Unmarshal(rawText, &rec.text); err != nil {
		rec.err = fmt.Errorf("line %d: \"text\" is not a string: %w", lineNo, err)
		return rec
	}

	rec.fields = map[string]string{}
	for name, value := range obj {
		if name == "text" {
			continue
		}
		if s, ok := jsonScalar(value); ok && len(s) <= maxMetaValue {
			rec.fields[name] = s
		}
	}
	return rec
}

// jsonScalar returns a JSON string, number or boolean as text.
func jsonScalar(value json.RawMessage) (string, bool) {
	value = bytes.TrimSpace(value)
	if len(value) == 0 {
		return "", false
	}
	switch value[0] {
	case '"':
		var s string
		if json.Unmarshal(value, &s) != nil {
			return "", false
		}
		return s, true
	case '{', '[', 'n':
		return "", false
	default:
		return string(value), true
	}
}

// errNoTextColumn is the detail of a CSV file whose header has no "text"
// column.
var errNoTextColumn = errors.New(`header has no "text" column`)

// parseCSV reads a CSV file whose first row is a header with a "text"
// column (matched without regard to case or surrounding spaces). A leading
// UTF-8 byte order mark is skipped. Quoted fields may contain newlines, and
// lines have no length limit. It returns an error only when the header is
// missing or has no text column. A bad row becomes a record with err set,
// and reading goes on with the next row.
func parseCSV(data []byte) ([]record, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1

	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	textCol := -1
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		header[i] = name
		if name == "text" && textCol < 0 {
			textCol = i
		}
	}
	if textCol < 0 {
		return nil, fmt.Errorf("%w (header is %q)", errNoTextColumn, strings.Join(header, ","))
	}

	var out []record
	start := r.InputOffset()
	for {
		fields, err := r.Read()
		end := r.InputOffset()
		if err == io.EOF {
			return out, nil
		}
		line := 0
		if err == nil {
			line, _ = r.FieldPos(0)
		}
		rec := record{line: line, raw: data[start:end]}
		start = end

		var parseErr *csv.ParseError
		switch {
		case errors.As(err, &parseErr):
			rec.line = parseErr.StartLine
			rec.err = fmt.Errorf("line %d: %w", parseErr.StartLine, parseErr.Err)
		case err != nil:
			// A bytes.Reader returns no read errors, so only parse errors occur.
			panic("collect: unexpected CSV error: " + err.Error())
		case len(fields) != len(header):
			rec.err = fmt.Errorf("line %d: row has %d fields, header has %d", line, len(fields), len(header))
		default:
			rec.text = fields[textCol]
			rec.fields = map[string]string{}
			for i, name := range header {
				if i != textCol && name != "" && len(fields[i]) <= maxMetaValue {
					rec.fields[name] = fields[i]
				}
			}
		}
		out = append(out, rec)
	}
}
