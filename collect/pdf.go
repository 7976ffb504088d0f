package collect

// PDF text extraction reads the text layer with rsc.io/pdf v0.1.1
// (BSD-3-Clause), which parses PDF 1.0-1.7 files as described in ISO
// 32000-1:2008. The library returns one positioned glyph per character, and
// pdfPageText joins them back into lines by their text positions (section
// 9.4, text objects, of that specification).

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"

	"rsc.io/pdf"
)

// Reason codes of rejected PDF files.
const (
	// ReasonNoTextLayer marks a PDF whose pages draw no text, such as a
	// scanned document that holds only images. OCR it first.
	ReasonNoTextLayer = "no_text_layer"
	// ReasonEncrypted marks a PDF that is encrypted with a user password,
	// or with a scheme the PDF library does not support.
	ReasonEncrypted = "encrypted"
)

// Limits on walking a PDF's page tree. A damaged or hostile file can make
// the tree deep or cyclic, so the walk stops at these bounds.
const (
	pdfMaxTreeDepth = 64
	pdfMaxTreeNodes = 1 << 17
)

// errPDFEncrypted and errPDFNoText classify extractPDFText failures.
var (
	errPDFEncrypted = errors.New("encrypted PDF")
	errPDFNoText    = errors.New("no text layer")
)

// extractPDFText returns the text of every page of the PDF in data, pages
// in document order and separated by a form feed line ("\f"), and the
// document title from the Info dictionary. Errors wrap errPDFEncrypted or
// errPDFNoText where those apply. A panic inside the PDF library, which
// reports many malformed-file conditions by panicking, is recovered and
// returned as an error.
func extractPDFText(data []byte) (text, title string, err error) {
	defer func() {
		if p := recover(); p != nil {
			text, title = "", ""
			err = fmt.Errorf("malformed PDF: parser fault: %v", p)
		}
	}()

	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if errors.Is(err, pdf.ErrInvalidPassword) || strings.Contains(err.Error(), "encryption") {
			return "", "", fmt.Errorf("%w: %v; decrypt it (for example with qpdf --decrypt) and collect again", errPDFEncrypted, err)
		}
		return "", "", err
	}
	title = strings.TrimSpace(r.Trailer().Key("Info").Key("Title").Text())

	pages := pdfPages(r)
	var b strings.Builder
	images := 0
	for i, page := range pages {
		if i > 0 {
			b.WriteString("\n\f\n")
		}
		b.WriteString(pdfPageText(page.Content().Text))
		images += pdfImageCount(page)
	}
	text = b.String()
	if strings.TrimSpace(strings.ReplaceAll(text, "\f", "")) == "" {
		return "", "", fmt.Errorf("%w: %d pages, %d images and no text; run OCR on it first", errPDFNoText, len(pages), images)
	}
	return text, cutTitle(title), nil
}

// pdfPages lists the leaf pages of the page tree in document order. It walks
// the tree itself instead of calling Reader.Page for each number, because
// that is quadratic in the page count and loops forever on a cyclic tree.
func pdfPages(r *pdf.Reader) []pdf.Page {
	var pages []pdf.Page
	nodes := 0
	var walk func(v pdf.Value, depth int)
	walk = func(v pdf.Value, depth int) {
		nodes++
		if depth > pdfMaxTreeDepth || nodes > pdfMaxTreeNodes {
			return
		}
		switch v.Key("Type").Name() {
		case "Page":
			pages = append(pages, pdf.Page{V: v})
		case "Pages":
			kids := v.Key("Kids")
			for i := 0; i < kids.Len(); i++ {
				walk(kids.Index(i), depth+1)
			}
		}
	}
	walk(r.Trailer().Key("Root").Key("Pages"), 0)
	return pages
}

// pdfImageCount counts the image XObjects in a page's own resources.
func pdfImageCount(page pdf.Page) int {
	xobjects := page.Resources().Key("XObject")
	n := 0
	for _, name := range xobjects.Keys() {
		if xobjects.Key(name).Key("Subtype").Name() == "Image" {
			n++
		}
	}
	return n
}

// Layout thresholds of pdfPageText, as fractions of the font size. A glyph
// whose baseline moves by more than pdfLineShift starts a new line, and a
// horizontal gap wider than pdfSpaceGap between two glyphs is a word space
// (PDF producers often position words instead of drawing a space glyph).
const (
	pdfLineShift = 0.5
	pdfSpaceGap  = 0.15
)

// pdfPageText joins the glyphs of one page, in content-stream order, into
// lines. Content-stream order is the reading order for nearly every
// producer of simple documents.
// The library draws no glyph for a space character, so word spaces are
// found from the gaps between glyphs; that needs the font's Widths array.
// NOTE: multi-column layouts and text drawn out of reading order come out in
// drawing order; no attempt is made to sort glyphs by position. Words run
// together in a font without a Widths array (allowed for the 14 standard
// fonts before PDF 1.5), because every glyph then has zero width.
func pdfPageText(glyphs []pdf.Text) string {
	var b strings.Builder
	for i, g := range glyphs {
		if i > 0 {
			prev := glyphs[i-1]
			size := math.Max(math.Max(g.FontSize, prev.FontSize), 1)
			switch {
			case math.Abs(g.Y-prev.Y) > pdfLineShift*size:
				b.WriteByte('\n')
			case g.X-(prev.X+prev.W) > pdfSpaceGap*size && prev.S != " " && g.S != " ":
				b.WriteByte(' ')
			}
		}
		b.WriteString(g.S)
	}
	return b.String()
}
