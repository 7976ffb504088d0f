package collect

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// recordCase is one input file read with a text_column setting, and the
// documents and rejected rows it should give.
type recordCase struct {
	name, file, content, textColumn string
	wantTexts                       []string
	// wantRejected lists, per rejected row in order, substrings that its
	// detail must contain besides the file path.
	wantRejected [][]string
}

func runRecordCases(t *testing.T, cases []recordCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, tc.file, tc.content)
			_, docs, rejected := runCollect(t, Source{Path: dir, TextColumn: tc.textColumn})

			var texts []string
			for _, d := range docs {
				texts = append(texts, d.Text)
			}
			if got, want := strings.Join(texts, "|"), strings.Join(tc.wantTexts, "|"); got != want {
				t.Errorf("texts:\ngot  %q\nwant %q", got, want)
			}
			if len(rejected) != len(tc.wantRejected) {
				t.Fatalf("got %d rejected rows %+v, want %d", len(rejected), rejected, len(tc.wantRejected))
			}
			for i, r := range rejected {
				if r.Reason != ReasonInvalidFormat {
					t.Errorf("rejected %d: reason got %q, want %q", i, r.Reason, ReasonInvalidFormat)
				}
				for _, want := range append([]string{path}, tc.wantRejected[i]...) {
					if !strings.Contains(r.Detail, want) {
						t.Errorf("rejected %d: detail %q does not contain %q", i, r.Detail, want)
					}
				}
			}
		})
	}
}

func TestTextColumnJSONL(t *testing.T) {
	qa := `{"id":"q1","question":"Is it benign?","answer":"Yes."}` + "\n" +
		`{"id":"q2","question":"Any fever?","answer":""}` + "\n" +
		`{"id":"q3","question":"Dose?"}` + "\n"
	runRecordCases(t, []recordCase{
		{name: "default text field", file: "a.jsonl", content: `{"text":"plain"}` + "\n", wantTexts: []string{"plain"}},
		{name: "other field", file: "a.jsonl", content: `{"body":"from body","text":"ignored"}` + "\n", textColumn: "body",
			wantTexts: []string{"from body"}},
		{name: "joined fields", file: "qa.jsonl", content: qa, textColumn: "question+answer",
			wantTexts:    []string{"Is it benign?\n\nYes.", "Any fever?"},
			wantRejected: [][]string{{"line 3", `"answer"`, "text_column", "id, question"}}},
		{name: "spaces around plus", file: "qa.jsonl", content: qa, textColumn: "question + id",
			wantTexts: []string{"Is it benign?\n\nq1", "Any fever?\n\nq2", "Dose?\n\nq3"}},
		{name: "array of strings", file: "a.jsonl", content: `{"contexts":["one","","two"]}` + "\n", textColumn: "contexts",
			wantTexts: []string{"one\n\ntwo"}},
		{name: "missing default field", file: "a.jsonl", content: `{"body":"x"}` + "\n",
			wantRejected: [][]string{{"line 1", `no "text" field`, "body", "text_column"}}},
		{name: "number is not text", file: "a.jsonl", content: `{"text":7}` + "\n",
			wantRejected: [][]string{{"line 1", `"text"`, "not a string"}}},
	})
}

func TestTextColumnCSV(t *testing.T) {
	runRecordCases(t, []recordCase{
		{name: "default text column", file: "a.csv", content: "id,text\n1,plain\n", wantTexts: []string{"plain"}},
		{name: "other column any case", file: "a.csv", content: "ID,Body\n1,from body\n", textColumn: "body",
			wantTexts: []string{"from body"}},
		{name: "joined columns", file: "qa.csv", content: "question,answer\nIs it benign?,Yes.\nAny fever?,\n", textColumn: "question+answer",
			wantTexts: []string{"Is it benign?\n\nYes.", "Any fever?"}},
		{name: "missing column", file: "qa.csv", content: "question,reply\nq,a\n", textColumn: "question+answer",
			wantRejected: [][]string{{`"answer"`, "question,reply", "text_column"}}},
		{name: "missing default column", file: "a.csv", content: "body\nx\n",
			wantRejected: [][]string{{`"text"`, "text_column"}}},
	})
}

func TestTextColumnParquetJoined(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "cases.parquet", string(writeParquet(t, []parquetRow{{Body: "Opinion.", Title: "A v. B", Court: "IL"}})))
	_, docs, rejected := runCollect(t, Source{Path: dir, TextColumn: "title+body"})
	if len(docs) != 1 || len(rejected) != 0 {
		t.Fatalf("got %d docs and %d rejected, want 1 and 0", len(docs), len(rejected))
	}
	if got, want := docs[0].Text, "A v. B\n\nOpinion."; got != want {
		t.Errorf("text: got %q, want %q", got, want)
	}
	if got, want := docs[0].Meta["court"], "IL"; got != want {
		t.Errorf("court: got %q, want %q", got, want)
	}
}

func TestTextColumnEmptyName(t *testing.T) {
	for _, column := range []string{"question++answer", "+", "text+"} {
		t.Run(column, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Run(context.Background(), Options{
				Sources: []Source{{Path: dir, TextColumn: column}}, OutDir: filepath.Join(dir, "out"),
			})
			if !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("Run: got %v, want ErrInvalidOptions", err)
			}
		})
	}
}

// pubmedQA is a file in the layout of the PubMedQA data set: one object
// that maps article ids to records.
const pubmedQA = `{
  "21645374": {
    "QUESTION": "Do mitochondria play a role in remodelling lace plant leaves?",
    "CONTEXTS": ["Programmed cell death occurs in lace plant leaves.", "Mitochondria were imaged."],
    "LONG_ANSWER": "Mitochondria play a role.",
    "final_decision": "yes",
    "YEAR": "2011"
  },
  "16418930": {
    "QUESTION": "Is the landolt C a useful optotype?",
    "CONTEXTS": ["Visual acuity was measured."],
    "final_decision": "no"
  }
}
`

func TestJSONInput(t *testing.T) {
	runRecordCases(t, []recordCase{
		{name: "array of records", file: "a.json", content: "[\n{\"text\":\"one\"},\n  {\"text\":\"two\"},\n 3\n]",
			wantTexts:    []string{"one", "two"},
			wantRejected: [][]string{{"line 4", "element 3", "not a JSON object"}}},
		{name: "array with text_column", file: "a.json", content: `[{"abstract":"Aspirin lowers fever."}]`, textColumn: "abstract",
			wantTexts: []string{"Aspirin lowers fever."}},
		{name: "object of records", file: "pqa.json", content: pubmedQA, textColumn: "QUESTION+CONTEXTS",
			wantTexts: []string{
				"Do mitochondria play a role in remodelling lace plant leaves?\n\nProgrammed cell death occurs in lace plant leaves.\n\nMitochondria were imaged.",
				"Is the landolt C a useful optotype?\n\nVisual acuity was measured.",
			}},
		{name: "object of records missing field", file: "pqa.json", content: pubmedQA, textColumn: "QUESTION+LONG_ANSWER",
			wantTexts:    []string{"Do mitochondria play a role in remodelling lace plant leaves?\n\nMitochondria play a role."},
			wantRejected: [][]string{{"line 9", `"16418930"`, `no "LONG_ANSWER" field`, "text_column"}}},
		{name: "object of records without text_column", file: "pqa.json", content: pubmedQA,
			wantRejected: [][]string{{"line 2", `no "text" field`, "CONTEXTS", "text_column"}, {"line 9", `no "text" field`}}},
		{name: "single document", file: "doc.json", content: `{"title":"Note","text":"Body text.","tags":["a"]}`,
			wantTexts: []string{"Body text."}},
		{name: "single object without text", file: "doc.json", content: `{"title":"Note","body":"Body text."}`,
			wantRejected: [][]string{{`no "text" field`, "body, title", "text_column"}}},
		{name: "scalar", file: "n.json", content: `42`,
			wantRejected: [][]string{{"not an array or object"}}},
		{name: "invalid JSON", file: "bad.json", content: "[\n{\"text\":\"a\"},\n{\"text\":}\n]",
			wantRejected: [][]string{{"line 3", "invalid JSON"}}},
		{name: "two values", file: "two.json", content: "{\"text\":\"a\"}\n{\"text\":\"b\"}\n",
			wantRejected: [][]string{{"line 2", "data after", ".jsonl"}}},
	})
}

func TestJSONRecordMeta(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "pqa.json", pubmedQA)
	_, docs, rejected := runCollect(t, Source{Path: dir, TextColumn: "QUESTION"})
	if len(docs) != 2 || len(rejected) != 0 {
		t.Fatalf("got %d docs and %d rejected, want 2 and 0", len(docs), len(rejected))
	}
	checks := []struct{ name, got, want string }{
		{"record_id", docs[0].Meta["record_id"], "21645374"},
		{"second record_id", docs[1].Meta["record_id"], "16418930"},
		{"scalar field", docs[0].Meta["final_decision"], "yes"},
		{"record line", docs[0].Meta["record"], "2"},
		{"format", docs[0].Meta["format"], formatJSON},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if docs[0].RawSHA256 == docs[1].RawSHA256 {
		t.Errorf("both records have raw hash %s, want one per record", docs[0].RawSHA256)
	}
}
