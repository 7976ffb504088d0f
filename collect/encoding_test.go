package collect

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeText(t *testing.T) {
	utf16LE := []byte{0xFF, 0xFE, 'C', 0, 'a', 0, 'f', 0, 0xE9, 0}
	utf16BE := []byte{0xFE, 0xFF, 0, 'C', 0, 'a', 0, 'f', 0, 0xE9}
	cases := []struct {
		name     string
		format   string
		data     []byte
		wantText string
		wantEnc  string
	}{
		{"valid utf-8 untouched", formatText, []byte("Café licensée"), "Café licensée", ""},
		{"latin-1", formatText, []byte("Caf\xe9 licens\xe9e"), "Café licensée", encodingWindows1252},
		{"windows-1252 curly quotes", formatMarkdown, []byte("\x93quoted\x94 \x96 dash"), "\u201cquoted\u201d \u2013 dash", encodingWindows1252},
		{"utf-8 bom", formatText, []byte("\xef\xbb\xbfCaf\xc3\xa9"), "Café", encodingUTF8BOM},
		{"utf-16le bom", formatText, utf16LE, "Café", encodingUTF16LE},
		{"utf-16be bom", formatCSV, utf16BE, "Café", encodingUTF16BE},
		{"html meta charset", formatHTML, []byte(`<html><head><meta charset="iso-8859-2"></head><body>` + "\xb1</body></html>"),
			`<html><head><meta charset="iso-8859-2"></head><body>ą</body></html>`, "iso-8859-2"},
		{"html http-equiv charset", formatHTML, []byte(`<meta http-equiv="Content-Type" content="text/html; charset=windows-1251"><p>` + "\xc0"),
			`<meta http-equiv="Content-Type" content="text/html; charset=windows-1251"><p>А`, "windows-1251"},
		{"html without charset", formatHTML, []byte("<p>Caf\xe9</p>"), "<p>Café</p>", encodingWindows1252},
		// The same clinical note in GB18030 (GBK) bytes.
		{"gb18030 chinese", formatText, []byte("\xbb\xbc\xd5\xdf\xc5\xae\xd0\xd4\xa3\xac\xcb\xc4\xca\xae\xb6\xfe\xcb\xea\xa3\xac\xd2\xf2\xb7\xa2\xc8\xc8\xbf\xc8\xcb\xd4\xc8\xfd\xcc\xec\xc8\xeb\xd4\xba\xa1\xa3"),
			"患者女性，四十二岁，因发热咳嗽三天入院。", encodingGB18030},
		// UTF-8 Chinese with one stray byte: one U+FFFD, the rest intact.
		{"utf-8 with a stray byte", formatText, []byte("患者女性，四十二岁，\xff因发热咳嗽三天入院。"), "患者女性，四十二岁，\uFFFD因发热咳嗽三天入院。", encodingUTF8Repaired},
		// Latin-1 German and French: GB18030 would pair each accented
		// byte with the next letter, but the ideographs stand alone.
		{"latin-1 german", formatText, []byte("M\xfcller f\xfcr Gr\xf6\xdfe, \xdcberweisung an die \xc4rztin in M\xfcnchen."),
			"Müller für Größe, Überweisung an die Ärztin in München.", encodingWindows1252},
		{"latin-1 french", formatText, []byte("Le m\xe9decin a prescrit un traitement \xe0 la patiente \xe2g\xe9e."),
			"Le médecin a prescrit un traitement à la patiente âgée.", encodingWindows1252},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, enc := decodeText(tc.data, tc.format)
			if string(got) != tc.wantText {
				t.Errorf("text: got %q, want %q", got, tc.wantText)
			}
			if enc != tc.wantEnc {
				t.Errorf("encoding: got %q, want %q", enc, tc.wantEnc)
			}
		})
	}
}

func FuzzDecodeText(f *testing.F) {
	f.Add([]byte("Caf\xe9"), false)
	f.Add([]byte{0xFF, 0xFE, 'a', 0, 'b'}, false)
	f.Add([]byte(`<meta charset="shift_jis">`+"\x82\xa0"), true)
	f.Add([]byte("\xbb\xbc\xd5\xdf\xc5\xae\xd0\xd4\xa3\xac"), false)
	f.Add([]byte("患者女性\xff四十二岁"), false)
	f.Fuzz(func(t *testing.T, data []byte, html bool) {
		format := formatText
		if html {
			format = formatHTML
		}
		got, enc := decodeText(data, format)
		if !utf8.Valid(got) {
			t.Errorf("decodeText(%q) with encoding %q returned invalid UTF-8 %q", data, enc, got)
		}
		if enc == "" && !bytes.Equal(got, data) {
			t.Errorf("decodeText changed %q to %q without naming an encoding", data, got)
		}
	})
}

func TestCollectDecodesLatin1Files(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "latin1.txt", "Caf\xe9 cr\xe8me\nThe work is licens\xe9e under the terms below.")
	writeFile(t, dir, "cp1252.md", "# Notice\n\x93Software\x94 means the program.")
	writeFile(t, dir, "utf16.txt", string([]byte{0xFF, 0xFE, 'O', 0, 'k', 0, ' ', 0, 0xE9, 0}))
	writeFile(t, dir, "plain.txt", "Plain UTF-8 caf\u00e9")

	m, docs, rejected := runCollect(t, Source{Path: dir})
	if len(rejected) != 0 {
		t.Fatalf("rejected: got %v, want none", rejected)
	}
	want := map[string]struct{ text, enc string }{
		"latin1.txt": {"Café crème\nThe work is licensée under the terms below.", encodingWindows1252},
		"cp1252.md":  {"# Notice\n\u201cSoftware\u201d means the program.", encodingWindows1252},
		"utf16.txt":  {"Ok é", encodingUTF16LE},
		"plain.txt":  {"Plain UTF-8 café", ""},
	}
	for _, d := range docs {
		w, ok := want[filepath.Base(d.URL)]
		if !ok {
			t.Errorf("unexpected document %s", d.URL)
			continue
		}
		if d.Text != w.text {
			t.Errorf("%s text: got %q, want %q", d.URL, d.Text, w.text)
		}
		if d.Meta[metaEncoding] != w.enc {
			t.Errorf("%s encoding: got %q, want %q", d.URL, d.Meta[metaEncoding], w.enc)
		}
		if strings.ContainsRune(d.Text, utf8.RuneError) {
			t.Errorf("%s text has U+FFFD: %q", d.URL, d.Text)
		}
	}
	if got := m.Stats["files_not_utf8"]; got != 3 {
		t.Errorf("files_not_utf8: got %v, want 3", got)
	}
}

func TestCollectWarnsOnEmptySource(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.txt", "some text")
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	out := filepath.Join(t.TempDir(), "collect")
	m, err := Run(context.Background(), Options{
		Sources: []Source{{Path: dir, Include: []string{"*.md"}}, {Path: dir}},
		Domain:  "legal", OutDir: out, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Stats["sources_without_files"]; got != 1 {
		t.Errorf("sources_without_files: got %v, want 1", got)
	}
	line := logs.String()
	for _, want := range []string{"level=WARN", "matched no files", dir, "*.md"} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %q", line, want)
		}
	}
}
