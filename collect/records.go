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
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// record is one document-sized unit of a JSONL or CSV file.
type record struct {
	line int // 1-based line where the record starts
	// element is the record's 1-based position in a JSON array. It
	// distinguishes records that start on the same line of a one-line
	// JSON file. Zero for other formats.
	element int
	raw     []byte // the record's bytes as read
	text    string
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
// and decodes each non-blank line as a JSON object whose text is in the
// fields named by textFields (see jsonRecordText). U+2028, U+2029 and U+0085
// inside a line are text, not separators.
func parseJSONL(data []byte, textFields []string) []record {
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
		out = append(out, decodeJSONRecord(lineNo, line, textFields, ""))
	}
	return out
}

// decodeJSONRecord decodes the JSON object raw that starts on line lineNo.
// Errors start with where, or with the line when where is empty.
func decodeJSONRecord(lineNo int, raw []byte, textFields []string, where string) record {
	rec := record{line: lineNo, raw: raw}
	if where == "" {
		where = fmt.Sprintf("line %d", lineNo)
	}
	obj, ok := splitJSONObject(raw)
	if !ok {
		// splitJSONObject rejects invalid JSON and anything but an object.
		// json.Unmarshal then gives the error message, or a nil map for null.
		if err := json.Unmarshal(raw, &obj); err != nil {
			rec.err = fmt.Errorf("%s: invalid JSON object: %w", where, err)
			return rec
		}
	}
	text, err := jsonRecordText(obj, textFields)
	if err != nil {
		rec.err = fmt.Errorf("%s: %w", where, err)
		return rec
	}
	rec.text = text
	rec.fields = jsonMetaFields(obj, textFields)
	return rec
}

// maxListedFields is how many field names an error about a missing text
// field lists.
const maxListedFields = 10

// jsonRecordText returns the text of a JSON object: the values of the named
// fields, each a string or an array of strings, with the non-empty parts
// joined by a blank line. A null value counts as empty. It returns an error
// naming the field when one is missing or holds another type.
func jsonRecordText(obj map[string]json.RawMessage, textFields []string) (string, error) {
	var parts []string
	for _, name := range textFields {
		raw, ok := obj[name]
		if !ok {
			return "", fmt.Errorf("record has no %q field (fields are %s); set the source's text_column to the field that contains the text",
				name, listFieldNames(obj))
		}
		var s string
		var list []string
		switch {
		case isJSONString(raw):
			parts = appendNonEmpty(parts, unquoteJSON(raw))
		case json.Unmarshal(raw, &s) == nil:
			parts = appendNonEmpty(parts, s)
		case json.Unmarshal(raw, &list) == nil:
			for _, item := range list {
				parts = appendNonEmpty(parts, item)
			}
		default:
			return "", fmt.Errorf("field %q is not a string or an array of strings", name)
		}
	}
	return strings.Join(parts, textFieldSeparator), nil
}

// textFieldSeparator joins the parts of a text made of several fields.
const textFieldSeparator = "\n\n"

func appendNonEmpty(parts []string, s string) []string {
	if strings.TrimSpace(s) == "" {
		return parts
	}
	return append(parts, s)
}

// listFieldNames returns the sorted keys of obj, at most maxListedFields of
// them, joined by commas.
func listFieldNames(obj map[string]json.RawMessage) string {
	if len(obj) == 0 {
		return "none"
	}
	names := slices.Sorted(maps.Keys(obj))
	if len(names) > maxListedFields {
		return strings.Join(names[:maxListedFields], ", ") + fmt.Sprintf(" and %d more", len(names)-maxListedFields)
	}
	return strings.Join(names, ", ")
}

// jsonMetaFields returns the scalar fields of obj other than the text
// fields, leaving out values longer than maxMetaValue.
func jsonMetaFields(obj map[string]json.RawMessage, textFields []string) map[string]string {
	fields := map[string]string{}
	for name, value := range obj {
		if slices.Contains(textFields, name) {
			continue
		}
		if s, ok := jsonScalar(value); ok && len(s) <= maxMetaValue {
			fields[name] = s
		}
	}
	return fields
}

// jsonScalar returns a JSON string, number or boolean as text.
func jsonScalar(value json.RawMessage) (string, bool) {
	value = bytes.TrimSpace(value)
	if len(value) == 0 {
		return "", false
	}
	switch value[0] {
	case '"':
		if !isJSONString(value) {
			return "", false
		}
		return unquoteJSON(value), true
	case '{', '[', 'n':
		return "", false
	default:
		return string(value), true
	}
}

// splitJSONObject returns the members of the JSON object raw, the same map
// that json.Unmarshal into a map[string]json.RawMessage gives. The values
// share raw's memory. It checks raw with json.Valid and then reads it once
// more with a light loop. It returns false when raw is not valid JSON or not
// an object. A repeated key keeps its last value, as in encoding/json.
func splitJSONObject(raw []byte) (map[string]json.RawMessage, bool) {
	if !json.Valid(raw) {
		return nil, false
	}
	i := skipJSONSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, false
	}
	obj := map[string]json.RawMessage{}
	i = skipJSONSpace(raw, i+1)
	if raw[i] == '}' {
		return obj, true
	}
	for {
		end := jsonStringEnd(raw, i)
		key := unquoteJSON(raw[i:end])
		i = skipJSONSpace(raw, end)
		i = skipJSONSpace(raw, i+1) // past ':'
		end = jsonValueEnd(raw, i)
		obj[key] = raw[i:end:end]
		i = skipJSONSpace(raw, end)
		if raw[i] == '}' {
			return obj, true
		}
		i = skipJSONSpace(raw, i+1) // past ','
	}
}

// skipJSONSpace returns the index of the first byte at or after i in raw
// that is not JSON white space.
func skipJSONSpace(raw []byte, i int) int {
	for i < len(raw) {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// jsonStringEnd returns the index just past the valid JSON string that
// starts with the quote at raw[i].
func jsonStringEnd(raw []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(raw[i:], '"')
		i += j
		// The quote ends the string unless an odd number of backslashes
		// precede it.
		n := 0
		for k := i - 1; raw[k] == '\\'; k-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i
		}
	}
}

// jsonValueEnd returns the index just past the valid JSON value that starts
// at raw[i].
func jsonValueEnd(raw []byte, i int) int {
	switch raw[i] {
	case '"':
		return jsonStringEnd(raw, i)
	case '{', '[':
		depth := 0
		for {
			switch raw[i] {
			case '"':
				i = jsonStringEnd(raw, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
	default: // number, true, false or null
		for i < len(raw) {
			switch raw[i] {
			case ' ', '\t', '\n', '\r', ',', '}', ']':
				return i
			}
			i++
		}
		return i
	}
}

// isJSONString reports whether raw, a JSON value already checked as valid,
// is a string, that is whether it starts and ends with a quote.
func isJSONString(raw []byte) bool {
	return len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"'
}

// unquoteJSON decodes the JSON string raw, quotes included, which must
// already be checked as valid, so the long text of a record is not scanned
// again. It gives the same result as json.Unmarshal into a string (Go 1.26
// encoding/json unquote). Escapes are decoded, and an unpaired surrogate
// escape and each byte of invalid UTF-8 become U+FFFD.
func unquoteJSON(raw []byte) string {
	body := raw[1 : len(raw)-1]
	i := 0
	for i < len(body) {
		c := body[i]
		if c == '\\' || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	if i == len(body) {
		return string(body)
	}
	buf := make([]byte, 0, len(body)+2*utf8.UTFMax)
	buf = append(buf, body[:i]...)
	for i < len(body) {
		c := body[i]
		switch {
		case c == '\\':
			i++
			if i >= len(body) {
				// Not reached for checked input; keep the byte as it is.
				buf = append(buf, c)
				break
			}
			switch e := body[i]; e {
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r := hex4(body[i+1:])
				i += 5
				if utf16.IsSurrogate(r) {
					if i+1 < len(body) && body[i] == '\\' && body[i+1] == 'u' {
						if r2 := hex4(body[i+2:]); r2 >= 0 {
							if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
								buf = utf8.AppendRune(buf, dec)
								i += 6
								continue
							}
						}
					}
					r = unicode.ReplacementChar
				}
				if r < 0 {
					r = unicode.ReplacementChar
				}
				buf = utf8.AppendRune(buf, r)
				continue
			default: // '"', '\\', '/' and, in encoding/json, '\''
				buf = append(buf, e)
			}
			i++
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(body[i:])
			buf = utf8.AppendRune(buf, r)
			i += size
		}
	}
	return string(buf)
}

// hex4 returns the value of the four hexadecimal digits at the start of b,
// or -1 when b does not start with four of them.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// errNoTextColumn is the detail of a CSV file whose header lacks a text
// column.
var errNoTextColumn = errors.New("header has no text column")

// parseCSV reads a CSV file whose first row is a header that names the text
// columns in textColumns (matched without regard to case or surrounding
// spaces). The non-empty values of several text columns are joined by a
// blank line. A leading UTF-8 byte order mark is skipped. Quoted fields may
// contain newlines, and lines have no length limit. It returns an error only
// when the header is missing or lacks a text column. A bad row becomes a
// record with err set, and reading goes on with the next row.
func parseCSV(data []byte, textColumns []string) ([]record, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1

	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	for i, name := range header {
		header[i] = strings.ToLower(strings.TrimSpace(name))
	}
	textCols := make([]int, len(textColumns))
	for i, name := range textColumns {
		textCols[i] = slices.Index(header, strings.ToLower(name))
		if textCols[i] < 0 {
			return nil, fmt.Errorf("%w %q (header is %q); set the source's text_column to the column that contains the text",
				errNoTextColumn, name, strings.Join(header, ","))
		}
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
			var parts []string
			for _, col := range textCols {
				parts = appendNonEmpty(parts, fields[col])
			}
			rec.text = strings.Join(parts, textFieldSeparator)
			rec.fields = map[string]string{}
			for i, name := range header {
				if !slices.Contains(textCols, i) && name != "" && len(fields[i]) <= maxMetaValue {
					rec.fields[name] = fields[i]
				}
			}
		}
		out = append(out, rec)
	}
}
