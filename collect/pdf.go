package collect

// PDF text extraction reads files with rsc.io/pdf v0.1.1 (BSD-3-Clause),
// which parses PDF 1.0-1.7 files as described in ISO 32000-1:2008. The
// library's own Page.Content drops space characters and leaves every glyph
// of a font without a Widths array at one position. So pdfPageText runs its
// own text-showing interpreter over the content stream, following sections
// 9.3 (text state parameters) and 9.4 (text objects) of that specification.
// It uses the library's lexer (pdf.Interpret), fonts and encodings.

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"

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
		b.WriteString(pdfPageText(page))
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
// horizontal gap wider than pdfSpaceGap between two glyphs is a word space.
// PDF producers often position words instead of drawing a space glyph, so a
// TJ number below -150 (thousandths of an em) counts as a word gap.
const (
	pdfLineShift = 0.5
	pdfSpaceGap  = 0.15
)

// Estimated glyph advances, in thousandths of an em, for a font that gives
// no width for a code. The 14 standard fonts may omit the Widths array
// (allowed before PDF 1.5), and composite fonts keep widths in a W array
// that the library does not read. Both values are estimates of the width of
// an average lower-case letter and of a space in Helvetica and Times.
const (
	pdfEstimatedWidth      = 500
	pdfEstimatedSpaceWidth = 250
)

// pdfMatrix is an affine transformation [a b c d e f] as PDF writes it
// (ISO 32000-1 section 8.3.3). It maps a point (x, y) to
// (a*x + c*y + e, b*x + d*y + f).
type pdfMatrix [6]float64

var pdfIdentity = pdfMatrix{1, 0, 0, 1, 0, 0}

// mul returns m×n, the transformation that applies m first and then n.
func (m pdfMatrix) mul(n pdfMatrix) pdfMatrix {
	return pdfMatrix{
		m[0]*n[0] + m[1]*n[2],
		m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2],
		m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4],
		m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func pdfTranslate(tx, ty float64) pdfMatrix { return pdfMatrix{1, 0, 0, 1, tx, ty} }

// pdfGraphicsState holds the graphics and text state parameters that place
// glyphs (ISO 32000-1 tables 52 and 103).
type pdfGraphicsState struct {
	ctm pdfMatrix
	// tm and tlm are the text matrix and text line matrix.
	tm, tlm pdfMatrix
	// tc, tw and tl are character spacing, word spacing and leading in
	// unscaled text space units. th is horizontal scaling as a fraction
	// (Tz/100), tfs the font size and rise the text rise.
	tc, tw, th, tl, tfs, rise float64
	font                      pdf.Font
	enc                       pdf.TextEncoding
}

// pdfRawEncoding decodes each byte as the rune of the same value. It is used
// when a font has no usable encoding.
type pdfRawEncoding struct{}

func (pdfRawEncoding) Decode(raw string) string {
	r := make([]rune, len(raw))
	for i := 0; i < len(raw); i++ {
		r[i] = rune(raw[i])
	}
	return string(r)
}

// pdfTextWriter joins positioned glyphs into lines and words.
type pdfTextWriter struct {
	b strings.Builder
	// started is set after the first glyph of the page.
	started bool
	// lineBreak is set by an operator that moves to a new line.
	lineBreak bool
	// lineEmpty is set while the current line has no character yet, and
	// spacePending while a space waits for the next character of the line.
	lineEmpty, spacePending bool
	// lastEnd is the x position where the last glyph ended, lastY its
	// baseline, in user space.
	lastEnd, lastY float64
}

// glyph writes the character ch drawn at (x, y) with font size size and
// horizontal advance advance, all in user space, preceded by a line break
// or a space when its position calls for one.
func (w *pdfTextWriter) glyph(ch rune, x, y, size, advance float64) {
	size = math.Max(size, 1)
	if !w.started {
		w.lineEmpty = true
	} else {
		switch {
		case w.lineBreak || math.Abs(y-w.lastY) > pdfLineShift*size:
			w.b.WriteByte('\n')
			w.lineEmpty, w.spacePending = true, false
		case x-w.lastEnd > pdfSpaceGap*size:
			w.spacePending = true
		}
	}

	switch {
	case unicode.IsSpace(ch):
		w.spacePending = true
	default:
		if w.spacePending && !w.lineEmpty {
			w.b.WriteByte(' ')
		}
		w.b.WriteRune(ch)
		w.lineEmpty, w.spacePending = false, false
	}
	w.started, w.lineBreak = true, false
	w.lastEnd, w.lastY = x+advance, y
}

// pdfPageText returns the text of one page, glyphs in content-stream order,
// which is the reading order for nearly every producer of simple documents.
// Space characters in shown strings are kept, and a run of them becomes one
// space. T*, ', " and a Td or TD with a vertical move start a new line, as
// does any baseline shift of more than pdfLineShift. A horizontal gap of
// more than pdfSpaceGap becomes a space. Widths the font does not give are
// estimated (pdfEstimatedWidth).
// Operators with the wrong operand count are skipped.
// NOTE: multi-column layouts and text drawn out of reading order come out in
// drawing order; no attempt is made to sort glyphs by position.
func pdfPageText(page pdf.Page) string {
	var w pdfTextWriter
	g := pdfGraphicsState{ctm: pdfIdentity, tm: pdfIdentity, tlm: pdfIdentity, th: 1, enc: pdfRawEncoding{}}
	var stack []pdfGraphicsState

	nextLine := func(tx, ty float64) {
		g.tlm = pdfTranslate(tx, ty).mul(g.tlm)
		g.tm = g.tlm
	}
	show := func(s string) {
		hasWidths := g.font.V.Key("Widths").Len() > 0
		for n, ch := range []rune(g.enc.Decode(s)) {
			// Text rendering matrix, ISO 32000-1 section 9.4.4.
			trm := pdfMatrix{g.tfs * g.th, 0, 0, g.tfs, 0, g.rise}.mul(g.tm).mul(g.ctm)
			w0 := 0.0
			if hasWidths && n < len(s) {
				w0 = g.font.Width(int(s[n]))
			}
			if w0 <= 0 {
				w0 = pdfEstimatedWidth
				if ch == ' ' {
					w0 = pdfEstimatedSpaceWidth
				}
			}
			size := math.Hypot(trm[0], trm[1])
			w.glyph(ch, trm[4], trm[5], size, w0/1000*size)

			tx := w0/1000*g.tfs + g.tc
			if ch == ' ' {
				tx += g.tw
			}
			g.tm = pdfTranslate(tx*g.th, 0).mul(g.tm)
		}
	}

	interpret := func(stream pdf.Value) {
		pdf.Interpret(stream, func(stk *pdf.Stack, op string) {
			args := make([]pdf.Value, stk.Len())
			for i := len(args) - 1; i >= 0; i-- {
				args[i] = stk.Pop()
			}
			nums := func(n int) ([]float64, bool) {
				if len(args) != n {
					return nil, false
				}
				out := make([]float64, n)
				for i, a := range args {
					out[i] = a.Float64()
				}
				return out, true
			}

			switch op {
			case "q":
				stack = append(stack, g)
			case "Q":
				if len(stack) > 0 {
					g, stack = stack[len(stack)-1], stack[:len(stack)-1]
				}
			case "cm":
				if m, ok := nums(6); ok {
					g.ctm = pdfMatrix(m).mul(g.ctm)
				}
			case "BT":
				g.tm, g.tlm = pdfIdentity, pdfIdentity
			case "Tc":
				if v, ok := nums(1); ok {
					g.tc = v[0]
				}
			case "Tw":
				if v, ok := nums(1); ok {
					g.tw = v[0]
				}
			case "Tz":
				if v, ok := nums(1); ok {
					g.th = v[0] / 100
				}
			case "TL":
				if v, ok := nums(1); ok {
					g.tl = v[0]
				}
			case "Ts":
				if v, ok := nums(1); ok {
					g.rise = v[0]
				}
			case "Tf":
				if len(args) == 2 {
					g.font = page.Font(args[0].Name())
					g.tfs = args[1].Float64()
					if g.enc = g.font.Encoder(); g.enc == nil {
						g.enc = pdfRawEncoding{}
					}
				}
			case "Tm":
				if m, ok := nums(6); ok {
					g.tm, g.tlm = pdfMatrix(m), pdfMatrix(m)
				}
			case "Td", "TD":
				if v, ok := nums(2); ok {
					if op == "TD" {
						g.tl = -v[1]
					}
					nextLine(v[0], v[1])
					if v[1] != 0 {
						w.lineBreak = true
					}
				}
			case "T*":
				nextLine(0, -g.tl)
				w.lineBreak = true
			case "'":
				if len(args) == 1 {
					nextLine(0, -g.tl)
					w.lineBreak = true
					show(args[0].RawString())
				}
			case "\"":
				if len(args) == 3 {
					g.tw, g.tc = args[0].Float64(), args[1].Float64()
					nextLine(0, -g.tl)
					w.lineBreak = true
					show(args[2].RawString())
				}
			case "Tj":
				if len(args) == 1 {
					show(args[0].RawString())
				}
			case "TJ":
				if len(args) != 1 {
					return
				}
				for i := 0; i < args[0].Len(); i++ {
					item := args[0].Index(i)
					if item.Kind() == pdf.String {
						show(item.RawString())
						continue
					}
					// A number moves the next glyph left by that many
					// thousandths of an em (ISO 32000-1 section 9.4.3).
					g.tm = pdfTranslate(-item.Float64()/1000*g.tfs*g.th, 0).mul(g.tm)
				}
			}
		})
	}

	// Contents is one stream or an array of streams that form one content
	// stream together (ISO 32000-1 section 7.7.3.3).
	contents := page.V.Key("Contents")
	if contents.Kind() == pdf.Array {
		for i := 0; i < contents.Len(); i++ {
			interpret(contents.Index(i))
		}
	} else {
		interpret(contents)
	}
	return w.b.String()
}
