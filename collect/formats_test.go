package collect

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
)

// pdfPage is the content of one page of a hand-built PDF: text lines drawn
// with Tj, or, when image is set, a 1x1 image and no text.
type pdfPage struct {
	lines []string
	image bool
}

// buildPDF writes a minimal PDF 1.4 file (ISO 32000-1 section 7.5: header,
// body, cross-reference table, trailer) with one Helvetica font
// with a Widths array. trailerExtra
// is added to the trailer dictionary, for example an /Encrypt entry.
func buildPDF(title string, pages []pdfPage, extraObjects []string, trailerExtra string) []byte {
	var objects []string
	add := func(body string) int {
		objects = append(objects, body)
		return len(objects)
	}
	catalog := add("") // filled in below
	pagesObj := add("")
	// Every glyph is 500/1000 em wide, so word spaces show as gaps.
	widths := strings.TrimSpace(strings.Repeat("500 ", 95))
	font := add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /FirstChar 32 /LastChar 126 /Widths [" + widths + "] >>")
	var kids []string
	for _, page := range pages {
		var content, resources string
		if page.image {
			image := add("<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length 1 >>\nstream\n\xff\nendstream")
			content = "q 100 0 0 100 72 600 cm /Im1 Do Q"
			resources = fmt.Sprintf("<< /XObject << /Im1 %d 0 R >> >>", image)
		} else {
			var b strings.Builder
			b.WriteString("BT /F1 12 Tf 72 720 Td\n")
			for i, line := range page.lines {
				if i > 0 {
					b.WriteString("0 -14 Td\n")
				}
				fmt.Fprintf(&b, "(%s) Tj\n", line)
			}
			b.WriteString("ET")
			content = b.String()
			resources = fmt.Sprintf("<< /Font << /F1 %d 0 R >> >>", font)
		}
		stream := add(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
		pageObj := add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources %s /Contents %d 0 R >>", pagesObj, resources, stream))
		kids = append(kids, fmt.Sprintf("%d 0 R", pageObj))
	}
	objects[catalog-1] = fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pagesObj)
	objects[pagesObj-1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	info := add(fmt.Sprintf("<< /Title (%s) >>", title))
	for _, extra := range extraObjects {
		add(extra)
	}

	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, body := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R %s >>\nstartxref\n%d\n%%%%EOF\n",
		len(objects)+1, catalog, info, trailerExtra, xref)
	return b.Bytes()
}

// encryptedPDF returns a PDF with a Standard security handler entry whose
// user password is not empty, so it cannot be opened without one.
func encryptedPDF() []byte {
	hex32 := strings.Repeat("7a", 32)
	return buildPDF("secret", []pdfPage{{lines: []string{"hidden"}}},
		[]string{fmt.Sprintf("<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -4 >>", hex32, hex32)},
		"/Encrypt 9 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]")
}

func TestPDFText(t *testing.T) {
	data := buildPDF("Court Order", []pdfPage{
		{lines: []string{"First page, line one.", "Line two of page one."}},
		{lines: []string{"Second page text."}},
	}, nil, "")
	text, title, err := extractPDFText(data)
	if err != nil {
		t.Fatalf("extractPDFText: %v", err)
	}
	want := "First page, line one.\nLine two of page one.\n\f\nSecond page text."
	if text != want {
		t.Errorf("text:\ngot  %q\nwant %q", text, want)
	}
	if title != "Court Order" {
		t.Errorf("title: got %q, want %q", title, "Court Order")
	}
}

func TestPDFRejections(t *testing.T) {
	valid := buildPDF("ok", []pdfPage{{lines: []string{"text"}}}, nil, "")
	cases := []struct {
		name       string
		data       []byte
		wantReason string
	}{
		{"scanned pages", buildPDF("scan", []pdfPage{{image: true}, {image: true}}, nil, ""), ReasonNoTextLayer},
		{"encrypted", encryptedPDF(), ReasonEncrypted},
		{"truncated", valid[:len(valid)/2], ReasonInvalidFormat},
		{"not a pdf", []byte("%PDF-1.4\nhello"), ReasonInvalidFormat},
		{"empty", nil, ReasonInvalidFormat},
		{"bad xref offset", bytes.Replace(valid, []byte("startxref\n"), []byte("startxref\n9"), 1), ReasonInvalidFormat},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "doc.pdf")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, docs, rejected := runCollect(t, Source{Path: dir})
			if len(docs) != 0 || len(rejected) != 1 {
				t.Fatalf("got %d docs and %d rejected, want 0 and 1", len(docs), len(rejected))
			}
			if got := rejected[0].Reason; got != tc.wantReason {
				t.Errorf("reason: got %q, want %q (detail %q)", got, tc.wantReason, rejected[0].Detail)
			}
			if !strings.Contains(rejected[0].Detail, path) {
				t.Errorf("detail %q does not name %s", rejected[0].Detail, path)
			}
		})
	}
}

// parquetRow is the layout of the Parquet input files the tests write.
type parquetRow struct {
	Body  string  `parquet:"body,optional"`
	ID    int64   `parquet:"id"`
	Title string  `parquet:"title"`
	URL   string  `parquet:"url"`
	Court string  `parquet:"court"`
	Score float64 `parquet:"score"`
}

func writeParquet(t testing.TB, rows []parquetRow) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[parquetRow](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParquetInput(t *testing.T) {
	dir := t.TempDir()
	data := writeParquet(t, []parquetRow{
		{Body: "The appellant filed a motion.", ID: 1, Title: "A v. B", URL: "https://example.org/a", Court: "IL", Score: 0.5},
		{Body: "", ID: 2, Title: "empty"},
		{Body: "Second opinion text.", ID: 3},
	})
	writeFile(t, dir, "cases.parquet", string(data))

	_, docs, rejected := runCollect(t, Source{Path: dir, TextColumn: "body"})
	if len(docs) != 2 || len(rejected) != 1 {
		t.Fatalf("got %d docs and %d rejected, want 2 and 1", len(docs), len(rejected))
	}
	d := docs[0]
	checks := []struct{ name, got, want string }{
		{"text", d.Text, "The appellant filed a motion."},
		{"title", d.Title, "A v. B"},
		{"url", d.URL, "https://example.org/a"},
		{"record_id", d.Meta["record_id"], "1"},
		{"court", d.Meta["court"], "IL"},
		{"score", d.Meta["score"], "0.5"},
		{"record", d.Meta["record"], "1"},
		{"format", d.Meta["format"], formatParquet},
		{"second title from text", docs[1].Title, "Second opinion text."},
		{"second record", docs[1].Meta["record"], "3"},
		{"rejected reason", rejected[0].Reason, ReasonEmpty},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}

	t.Run("missing text column", func(t *testing.T) {
		_, docs, rejected := runCollect(t, Source{Path: dir})
		if len(docs) != 0 || len(rejected) != 1 || rejected[0].Reason != ReasonInvalidFormat {
			t.Fatalf("got %d docs and rejected %+v, want one invalid_format row", len(docs), rejected)
		}
		if !strings.Contains(rejected[0].Detail, `"text"`) {
			t.Errorf("detail %q does not name the missing column", rejected[0].Detail)
		}
	})
}

func compressGzip(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func compressZstd(t testing.TB, data []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

func TestCompressedInputs(t *testing.T) {
	jsonl := []byte("{\"text\":\"first note\"}\n{\"text\":\"second note\"}\n")
	pdfData := buildPDF("t", []pdfPage{{lines: []string{"pdf inside gzip"}}}, nil, "")
	gz := compressGzip(t, jsonl)
	corruptGzip := append([]byte{}, gz...)
	corruptGzip[len(corruptGzip)/2] ^= 0xff
	zst := compressZstd(t, jsonl)
	corruptZstd := append([]byte{}, zst[:len(zst)-4]...)

	cases := []struct {
		name, file string
		data       []byte
		wantTexts  []string
		wantReason string // of the single rejected row, if any
		wantDetail string
	}{
		{"jsonl gzip", "notes.jsonl.gz", gz, []string{"first note", "second note"}, "", ""},
		{"jsonl zstd", "notes.jsonl.zst", zst, []string{"first note", "second note"}, "", ""},
		{"text zstd", "a.TXT.ZST", compressZstd(t, []byte("plain\n")), []string{"plain"}, "", ""},
		{"pdf gzip", "d.pdf.gz", compressGzip(t, pdfData), []string{"pdf inside gzip"}, "", ""},
		{"parquet zstd", "p.parquet.zst", compressZstd(t, writeParquet(t, []parquetRow{{Body: "row"}})), nil, ReasonInvalidFormat, `"text"`},
		{"corrupt gzip", "bad.jsonl.gz", corruptGzip, nil, ReasonInvalidFormat, "compressed byte offset"},
		{"truncated zstd", "bad.jsonl.zst", corruptZstd, nil, ReasonInvalidFormat, "compressed byte offset"},
		{"not gzip", "x.txt.gz", []byte("plain text"), nil, ReasonInvalidFormat, "gzip"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, tc.file, string(tc.data))
			_, docs, rejected := runCollect(t, Source{Path: dir})
			var texts []string
			for _, d := range docs {
				texts = append(texts, d.Text)
			}
			if got, want := strings.Join(texts, "|"), strings.Join(tc.wantTexts, "|"); got != want {
				t.Errorf("texts: got %q, want %q", got, want)
			}
			if tc.wantReason == "" {
				if len(rejected) != 0 {
					t.Errorf("got rejected rows %+v, want none", rejected)
				}
				return
			}
			if len(rejected) != 1 {
				t.Fatalf("got %d rejected rows, want 1", len(rejected))
			}
			r := rejected[0]
			if r.Reason != tc.wantReason || !strings.Contains(r.Detail, path) || !strings.Contains(r.Detail, tc.wantDetail) {
				t.Errorf("rejected: got reason %q detail %q, want %q naming %s and %q", r.Reason, r.Detail, tc.wantReason, path, tc.wantDetail)
			}
		})
	}
}

func TestOneLineJSONArrayRecordsHaveElements(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "notes.json", `[{"text": "First note about the patient."}, {"text": "Second note about the visit."}, {"text": "Third note."}]`)
	_, docs, _ := runCollect(t, Source{Path: dir})
	if len(docs) != 3 {
		t.Fatalf("got %d docs, want 3", len(docs))
	}
	for i, d := range docs {
		if got, want := d.Meta["element"], strconv.Itoa(i+1); got != want {
			t.Errorf("doc %d: element %q, want %q (record %q)", i, got, want, d.Meta["record"])
		}
	}
}
