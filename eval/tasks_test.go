package eval

import (
	"errors"
	"strings"
	"testing"
)

func TestReadJSONL(t *testing.T) {
	cases := []struct {
		name    string
		input   string
		maxDocs int
		want    []document
		wantErr string
	}{
		{"ids and defaults", `{"text":"a","id":"x"}` + "\n\n" + `{"text":"b"}` + "\n", 0, []document{{"x", "a"}, {"line-3", "b"}}, ""},
		{"max docs", "{\"text\":\"a\"}\n{\"text\":\"b\"}\n", 1, []document{{"line-1", "a"}}, ""},
		{"missing text", `{"id":"x"}`, 0, nil, "t.jsonl:1: missing"},
		{"null text", `{"text":null}`, 0, nil, "t.jsonl:1: missing"},
		{"invalid json", "{\"text\":\"a\"}\n{oops\n", 0, nil, "t.jsonl:2: invalid JSON"},
		{"text not a string", `{"text":3}`, 0, nil, "t.jsonl:1: invalid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readJSONL(strings.NewReader(tc.input), "t.jsonl", tc.maxDocs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error: got %v, want one containing %q", err, tc.wantErr)
				}
				if !errors.Is(err, ErrBadTaskSet) {
					t.Errorf("error: got %v, want one wrapping ErrBadTaskSet", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("document %d: got %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestLoadTaskSetUnknownKind(t *testing.T) {
	_, err := loadTaskSet(TaskSet{Name: "x", Kind: "csv"})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("got %v, want ErrInvalidConfig", err)
	}
}

func FuzzReadJSONL(f *testing.F) {
	f.Add("{\"text\":\"a\",\"id\":\"x\"}\n{\"text\":\"b\"}\n")
	f.Add("{\"text\":1}\n")
	f.Add("\n\n[]\n")
	f.Fuzz(func(t *testing.T, input string) {
		docs, err := readJSONL(strings.NewReader(input), "f.jsonl", 0)
		if err == nil && len(docs) > strings.Count(input, "\n")+1 {
			t.Errorf("%d documents from %d lines", len(docs), strings.Count(input, "\n")+1)
		}
	})
}
