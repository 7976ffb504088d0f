package collect

import (
	"bytes"
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

// unquoteCases are JSON strings whose decoding has a corner: escapes,
// surrogate pairs, unpaired surrogates, invalid UTF-8 and line separators.
var unquoteCases = []string{
	`""`,
	`"plain ascii"`,
	`"line\nbreak\ttab\r\b\f\/\\\""`,
	`"caf\u00e9 \u00E9"`,
	`"pair \ud83d\ude00 end"`,
	`"lone high \ud83d end"`,
	`"lone low \ude00 end"`,
	`"high then high \ud83d\ud83d\ude00"`,
	`"high at end \ud83d"`,
	`"high then escape \ud83d\n"`,
	"\"sep \u2028 and \u2029 and \u0085\"",
	"\"bad utf8 \xff\xfe end\"",
	"\"cut rune \xe2\x82 end\"",
	"\"surrogate bytes \xed\xa0\x80\"",
	"\"nul escape \\u0000\"",
	"\"already \uFFFD\"",
	" \"space around\"\n",
	"\"multi byte \u4e16\u754c \U0001F600\"",
}

func TestUnquoteJSON(t *testing.T) {
	for _, raw := range unquoteCases {
		t.Run(raw, func(t *testing.T) {
			checkUnquote(t, []byte(raw))
		})
	}
}

// checkUnquote compares unquoteJSON with json.Unmarshal into a string, for
// raw that json.Unmarshal accepts as a string.
func checkUnquote(t *testing.T, raw []byte) {
	t.Helper()
	var want string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Skipf("not a JSON string: %v", err)
	}
	// Values from json.Unmarshal or splitJSONObject have no white space
	// around them.
	raw = bytes.TrimSpace(raw)
	if !isJSONString(raw) {
		t.Fatalf("isJSONString(%q) = false, want true", raw)
	}
	if got := unquoteJSON(raw); got != want {
		t.Errorf("unquoteJSON(%q) = %q, want %q", raw, got, want)
	}
}

func FuzzUnquoteJSON(f *testing.F) {
	for _, raw := range unquoteCases {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkUnquote(t, raw)
	})
}

// benchRecord returns a JSONL record of about 5 KB: a long text with
// newlines, quotes, escapes and non-ASCII letters, and a few metadata
// fields.
func benchRecord() []byte {
	var text strings.Builder
	for text.Len() < 5000 {
		text.WriteString("Section 4.2 of the \"agreement\" says the lessee pays 1,200 € per month.\n")
		text.WriteString("\tThe court (Müller J.) held that C:\\path is not a place; see ¶ 12.\n")
	}
	obj := map[string]any{
		"id":      "doc-000123",
		"title":   "Müller v. Schmidt",
		"url":     "https://example.org/cases/123",
		"license": "CC-BY-4.0",
		"year":    json.Number("2021"),
		"public":  true,
		"tags":    []string{"lease", "contract"},
		"text":    text.String(),
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	return raw
}

func BenchmarkDecodeJSONRecord(b *testing.B) {
	raw := benchRecord()
	fields := []string{"text"}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		rec := decodeJSONRecord(1, raw, fields, "")
		if rec.err != nil {
			b.Fatal(rec.err)
		}
	}
}

// splitCases are JSON texts for splitJSONObject: objects with nested
// values, escaped keys, repeated keys and white space, and non-objects.
var splitCases = []string{
	`{}`,
	` { } `,
	"{\"text\":\"a\\\"b\\\\\",\"n\":-1.5e3,\"t\":true,\"f\":false,\"z\":null}",
	"{ \"a\" : [1, {\"b\": \"]}\\\"\"}, []] ,\r\n\t\"c\":{\"d\":{}} }",
	`{"k\u00e9y":"v","k\u00e9y":"w"}`,
	`{"a":"x\\"}`,
	`{"a":"\\\"}"}`,
	`{"text":"` + "\u2028\xff" + `"}`,
	`null`,
	`[1,2]`,
	`"s"`,
	`{"a":}`,
	`{"a":1} x`,
	`{"a":1`,
	``,
}

func TestSplitJSONObject(t *testing.T) {
	for _, raw := range splitCases {
		t.Run(raw, func(t *testing.T) {
			checkSplit(t, []byte(raw))
		})
	}
}

// checkSplit compares splitJSONObject with json.Unmarshal into a
// map[string]json.RawMessage.
func checkSplit(t *testing.T, raw []byte) {
	t.Helper()
	var want map[string]json.RawMessage
	wantErr := json.Unmarshal(raw, &want)
	got, ok := splitJSONObject(raw)
	if !ok {
		if wantErr == nil && want != nil {
			t.Fatalf("splitJSONObject(%q) failed, json.Unmarshal gives %q", raw, want)
		}
		return
	}
	if wantErr != nil {
		t.Fatalf("splitJSONObject(%q) = %q, json.Unmarshal fails: %v", raw, got, wantErr)
	}
	if !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
		t.Errorf("splitJSONObject(%q) = %q, want %q", raw, got, want)
	}
}

func FuzzSplitJSONObject(f *testing.F) {
	for _, raw := range splitCases {
		f.Add([]byte(raw))
	}
	f.Add(benchRecord())
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkSplit(t, raw)
	})
}
