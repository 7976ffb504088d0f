package collect

import (
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
		records := parseJSONL(data)
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
		records, err := parseCSV(data)
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
