package collect

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// helveticaNoWidths is a standard-14 font dictionary without a Widths
// array, as hand-written PDFs and PDF 1.4 producers often leave it.
const helveticaNoWidths = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"

// buildPDFStreams writes a one-page PDF 1.4 file whose page uses font as
// /F1 and whose Contents is one stream, or an array of streams when more
// than one is given.
func buildPDFStreams(font string, contents ...string) []byte {
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"", // the page, filled in below
		font,
	}
	var refs []string
	for _, content := range contents {
		objects = append(objects, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
		refs = append(refs, fmt.Sprintf("%d 0 R", len(objects)))
	}
	contentsRef := refs[0]
	if len(refs) > 1 {
		contentsRef = "[" + strings.Join(refs, " ") + "]"
	}
	objects[2] = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents " + contentsRef + " >>"

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
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

func TestPDFWordsAndLines(t *testing.T) {
	widths := strings.TrimSpace(strings.Repeat("500 ", 95))
	helveticaWidths := "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /FirstChar 32 /LastChar 126 /Widths [" + widths + "] >>"
	cases := []struct {
		name     string
		font     string
		contents []string
		want     string
	}{
		{"Tj string with spaces", helveticaNoWidths,
			[]string{"BT /F1 12 Tf 72 720 Td (The patient was diagnosed with pneumonia.) Tj ET"},
			"The patient was diagnosed with pneumonia."},
		{"Tj spaces with widths", helveticaWidths,
			[]string{"BT /F1 12 Tf 72 720 Td (two words) Tj ET"},
			"two words"},
		{"repeated spaces collapse", helveticaNoWidths,
			[]string{"BT /F1 12 Tf 72 720 Td (a   b ) Tj ET"},
			"a b"},
		{"T* with leading", helveticaNoWidths,
			[]string{"BT /F1 12 Tf 14 TL 72 720 Td (first line) Tj T* (second line) Tj ET"},
			"first line\nsecond line"},
		{"T* without leading", helveticaNoWidths,
			[]string{"BT /F1 12 Tf 72 720 Td (end of) Tj T* (line) Tj ET"},
			"end of\nline"},
		{"quote operators", helveticaNoWidths,
			[]string{"BT /F1 12 Tf 14 TL 72 720 Td (one) Tj (two) ' 1 0 (three) \" ET"},
			"one\ntwo\nthree"},
		{"Td down", helveticaNoWidths,
			[]string{"BT /F1 12 Tf 72 720 Td (upper) Tj 0 -14 Td (lower) Tj ET"},
			"upper\nlower"},
		{"TD down", helveticaNoWidths,
			[]string{"BT /F1 12 Tf 72 720 Td (upper) Tj 0 -14 TD (lower) Tj T* (last) Tj ET"},
			"upper\nlower\nlast"},
		{"Td right is a word gap", helveticaNoWidths,
			[]string{"BT /F1 12 Tf 72 720 Td (left) Tj 100 0 Td (right) Tj ET"},
			"left right"},
		{"Tm on a new baseline", helveticaNoWidths,
			[]string{"BT /F1 12 Tf 1 0 0 1 72 720 Tm (top) Tj ET BT /F1 12 Tf 1 0 0 1 72 700 Tm (bottom) Tj ET"},
			"top\nbottom"},
		{"TJ word gap", helveticaNoWidths,
			[]string{"BT /F1 12 Tf 72 720 Td [(Word)-250(gap)] TJ ET"},
			"Word gap"},
		{"TJ kerning inside a word", helveticaNoWidths,
			[]string{"BT /F1 12 Tf 72 720 Td [(ke)-20(rn)15(ing)] TJ ET"},
			"kerning"},
		{"TJ word gaps with widths", helveticaWidths,
			[]string{"BT /F1 10 Tf 72 720 Td [(A)-300(spaced)-300(line)] TJ ET"},
			"A spaced line"},
		{"TJ with spaces and kerning", helveticaNoWidths,
			[]string{"BT /F1 12 Tf 72 720 Td [(in )-10(the)-250(lung)] TJ ET"},
			"in the lung"},
		{"contents array", helveticaNoWidths,
			[]string{"BT /F1 12 Tf 14 TL 72 720 Td (first) Tj", "T* (second) Tj ET"},
			"first\nsecond"},
		{"unbalanced Q and bad operands", helveticaNoWidths,
			[]string{"Q BT /F1 12 Tf 72 Td 72 720 Td (still read) Tj 1 2 Tj ET"},
			"still read"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text, _, err := extractPDFText(buildPDFStreams(tc.font, tc.contents...))
			if err != nil {
				t.Fatalf("extractPDFText: %v", err)
			}
			if text != tc.want {
				t.Errorf("text:\ngot  %q\nwant %q", text, tc.want)
			}
		})
	}
}
