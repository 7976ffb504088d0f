package collect

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzHTMLToText(f *testing.F) {
	f.Add([]byte(`<html><title>a</title><p>x<b>y</b></p><script>z</script><pre> q </pre></html>`))
	f.Add([]byte(`<p>&amp;&#0;&unknown;<br/><div`))
	f.Fuzz(func(t *testing.T, data []byte) {
		text, title := htmlToText(data)
		if utf8.Valid(data) && (!utf8.ValidString(text) || !utf8.ValidString(title)) {
			t.Errorf("valid UTF-8 input gave invalid UTF-8 output %q / %q", text, title)
		}
		if len(title) > maxTitle {
			t.Errorf("title has %d bytes, want at most %d", len(title), maxTitle)
		}
	})
}

func FuzzParseJSONL(f *testing.F) {
	f.Add([]byte("{\"text\":\"a\"}\n{\"text\":1}\nnot json\r\n{\"text\":\"b\u2028c\"}"))
	f.Add([]byte("\n\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := 0
		for _, line := range strings.Split(string(data), "\n") {
			if strings.TrimSpace(strings.TrimSuffix(line, "\r")) != "" {
				lines++
			}
		}
		records := parseJSONL(data, []string{DefaultTextColumn})
		if len(records) != lines {
			t.Errorf("got %d records, want one per non-blank line (%d)", len(records), lines)
		}
		for _, r := range records {
			if r.err != nil && r.text != "" {
				t.Errorf("line %d: invalid record has text %q", r.line, r.text)
			}
		}
	})
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("\uFEFFtext,title\n\"a\nb\",t\nbad\"quote,x\n"))
	f.Add([]byte("a,b\n1,2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		records, err := parseCSV(data, []string{DefaultTextColumn})
		if err != nil && records != nil {
			t.Errorf("got records and error %v", err)
		}
		total := 0
		for _, r := range records {
			total += len(r.raw)
			if r.err != nil && r.text != "" {
				t.Errorf("line %d: invalid record has text %q", r.line, r.text)
			}
		}
		if total > len(data) {
			t.Errorf("records cover %d bytes of a %d-byte input", total, len(data))
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`[{"text":"a","id":1},2,{"body":"b"}]`), "text")
	f.Add([]byte(`{"k1":{"q":"a","c":["x","y"]},"k2":{"q":null}}`), "q+c")
	f.Add([]byte(`{"text":"single"} {"text":"second"}`), "text")
	f.Add([]byte("\uFEFF[\n]"), "text")
	f.Fuzz(func(t *testing.T, data []byte, column string) {
		records, err := parseJSON(data, strings.Split(column, "+"))
		if err != nil && records != nil {
			t.Errorf("got %d records and error %v", len(records), err)
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, r := range records {
			if r.err != nil && r.text != "" {
				t.Errorf("line %d: invalid record has text %q", r.line, r.text)
			}
			if r.line < 1 || r.line > lines {
				t.Errorf("record line %d is outside the %d lines of the input", r.line, lines)
			}
			if !bytes.Contains(data, r.raw) {
				t.Errorf("line %d: raw %q is not part of the input", r.line, r.raw)
			}
		}
	})
}

func FuzzExtractPDFText(f *testing.F) {
	f.Add(buildPDF("t", []pdfPage{{lines: []string{"one", "two"}}, {lines: []string{"three"}}}, nil, ""))
	f.Add(buildPDF("scan", []pdfPage{{image: true}}, nil, ""))
	f.Add(encryptedPDF())
	f.Add([]byte("%PDF-1.7\n%%EOF\n"))
	f.Add(buildPDFStreams(helveticaNoWidths, "BT /F1 12 Tf 14 TL 72 720 Td [(a b)-250(c)] TJ T* (d) ' ET"))
	f.Fuzz(func(t *testing.T, data []byte) {
		text, title, err := extractPDFText(data)
		if err != nil && (text != "" || title != "") {
			t.Errorf("got text %q / title %q with error %v", text, title, err)
		}
		if err == nil && strings.TrimSpace(strings.ReplaceAll(text, "\f", "")) == "" {
			t.Error("no error for a PDF without text")
		}
		if len(title) > maxTitle {
			t.Errorf("title has %d bytes, want at most %d", len(title), maxTitle)
		}
	})
}

func FuzzParseParquet(f *testing.F) {
	f.Add(writeParquet(f, []parquetRow{{Body: "a", ID: 1, Title: "t"}, {Body: "b"}}), "body")
	f.Add(writeParquet(f, []parquetRow{{Body: "a"}}), "text")
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"), "text")
	f.Fuzz(func(t *testing.T, data []byte, column string) {
		records, err := parseParquet(data, strings.Split(column, "+"))
		if err != nil && records != nil {
			t.Errorf("got %d records and error %v", len(records), err)
		}
		for i, r := range records {
			if r.line != i+1 {
				t.Errorf("record %d has row number %d", i, r.line)
			}
			if !json.Valid(r.raw) {
				t.Errorf("row %d: raw %q is not JSON", r.line, r.raw)
			}
		}
	})
}
