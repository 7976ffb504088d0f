package collect

// JSON input files follow RFC 8259 as implemented by encoding/json. A file
// contains one value: an array of record objects, an object whose values are
// all record objects (keyed by record id), or a single record object.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// parseJSON reads the records of a JSON file. textFields name the fields
// that hold the text (see jsonRecordText).
//   - An array gives one record per element. An element that is not an
//     object becomes an invalid record.
//   - An object that has every text field is one record.
//   - Otherwise, an object whose values are all objects gives one record per
//     value, in file order, and the key becomes the record's "id" field.
//
// Each record's line is the line where its value starts. It returns an
// error when the file is not valid JSON, holds something other than an array
// or object, or is an object that neither has the text fields nor maps keys
// to objects.
func parseJSON(data []byte, textFields []string) ([]record, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, nil
	}
	if err := checkSingleJSONValue(data); err != nil {
		return nil, err
	}

	switch trimmed[0] {
	case '[':
		return parseJSONArray(data, textFields)
	case '{':
		return parseJSONObject(data, textFields)
	default:
		return nil, fmt.Errorf("top-level JSON value is not an array or object; want an array of records or an object")
	}
}

// checkSingleJSONValue returns an error naming the line when data is not
// exactly one valid JSON value.
func checkSingleJSONValue(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var value json.RawMessage
	if err := dec.Decode(&value); err != nil {
		return jsonPositionError(data, err, dec.InputOffset())
	}
	if _, err := dec.Token(); err != io.EOF {
		offset := dec.InputOffset()
		return fmt.Errorf("line %d: data after the top-level JSON value; a .json file contains one value, so rename the file to .jsonl for one record per line",
			lineAt(data, offset))
	}
	return nil
}

// jsonPositionError wraps a decoding error with the line where it occurred.
func jsonPositionError(data []byte, err error, offset int64) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		offset = syntax.Offset
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		offset = int64(len(data))
	}
	return fmt.Errorf("line %d: invalid JSON: %w", lineAt(data, offset), err)
}

// lineAt returns the 1-based line of byte offset in data.
func lineAt(data []byte, offset int64) int {
	offset = min(max(offset, 0), int64(len(data)))
	return 1 + bytes.Count(data[:offset], []byte("\n"))
}

// jsonMember is one element of a JSON array or value of a JSON object, with
// the byte offset where it starts.
type jsonMember struct {
	key    string // the object key; empty for array elements
	value  json.RawMessage
	offset int64
}

// readJSONMembers returns the elements of the array or the key-value pairs
// of the object that data holds, in file order. data must be one valid
// JSON array or object (see checkSingleJSONValue).
func readJSONMembers(data []byte) ([]jsonMember, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	open, err := dec.Token()
	if err != nil {
		return nil, jsonPositionError(data, err, dec.InputOffset())
	}
	isObject := open == json.Delim('{')

	var members []jsonMember
	for dec.More() {
		var m jsonMember
		if isObject {
			key, err := dec.Token()
			if err != nil {
				return nil, jsonPositionError(data, err, dec.InputOffset())
			}
			m.key, _ = key.(string) // object keys are always strings
		}
		m.offset = valueStart(data, dec.InputOffset())
		if err := dec.Decode(&m.value); err != nil {
			return nil, jsonPositionError(data, err, dec.InputOffset())
		}
		members = append(members, m)
	}
	return members, nil
}

// valueStart skips the whitespace, commas and colons that the decoder
// leaves before a value at offset.
func valueStart(data []byte, offset int64) int64 {
	for offset < int64(len(data)) {
		switch data[offset] {
		case ' ', '\t', '\r', '\n', ',', ':':
			offset++
		default:
			return offset
		}
	}
	return offset
}

func parseJSONArray(data []byte, textFields []string) ([]record, error) {
	members, err := readJSONMembers(data)
	if err != nil {
		return nil, err
	}
	out := make([]record, 0, len(members))
	for i, m := range members {
		line := lineAt(data, m.offset)
		if !isJSONObject(m.value) {
			out = append(out, record{line: line, element: i + 1, raw: m.value,
				err: fmt.Errorf("line %d: array element %d is not a JSON object", line, i+1)})
			continue
		}
		rec := decodeJSONRecord(line, m.value, textFields, "")
		rec.element = i + 1
		out = append(out, rec)
	}
	return out, nil
}

func parseJSONObject(data []byte, textFields []string) ([]record, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("line 1: invalid JSON object: %w", err)
	}

	// An object with the text fields is one document.
	hasText := true
	for _, name := range textFields {
		if _, ok := obj[name]; !ok {
			hasText = false
		}
	}
	start := valueStart(data, int64(len(data)-len(bytes.TrimLeft(data, " \t\r\n"))))
	if hasText {
		return []record{decodeJSONRecord(lineAt(data, start), bytes.TrimSpace(data), textFields, "")}, nil
	}

	// An object of objects is a map from record id to record.
	members, err := readJSONMembers(data)
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if !isJSONObject(m.value) {
			_, err := jsonRecordText(obj, textFields)
			return nil, fmt.Errorf("%w; to read it as records instead, make it an array of objects or an object whose values are all objects (the value of %q is not an object)",
				err, m.key)
		}
	}
	out := make([]record, 0, len(members))
	for _, m := range members {
		line := lineAt(data, m.offset)
		rec := decodeJSONRecord(line, m.value, textFields, fmt.Sprintf("line %d (record %q)", line, m.key))
		if rec.err == nil {
			rec.fields["id"] = m.key
		}
		out = append(out, rec)
	}
	return out, nil
}

// isJSONObject reports whether value, which is valid JSON, is an object.
func isJSONObject(value json.RawMessage) bool {
	value = bytes.TrimSpace(value)
	return len(value) > 0 && value[0] == '{'
}
