package collect

// HTML is tokenized with golang.org/x/net/html, which follows the WHATWG
// HTML tokenization rules (including entity decoding and raw-text elements).

import (
	"bytes"
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// blockElements end a line of text before and after their content.
var blockElements = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true, atom.Body: true,
	atom.Br: true, atom.Caption: true, atom.Dd: true, atom.Details: true, atom.Div: true, atom.Dl: true,
	atom.Dt: true, atom.Fieldset: true, atom.Figcaption: true, atom.Figure: true, atom.Footer: true,
	atom.Form: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true,
	atom.H6: true, atom.Header: true, atom.Hr: true, atom.Li: true, atom.Main: true, atom.Nav: true,
	atom.Ol: true, atom.P: true, atom.Pre: true, atom.Section: true, atom.Summary: true, atom.Table: true,
	atom.Tbody: true, atom.Td: true, atom.Tfoot: true, atom.Th: true, atom.Thead: true, atom.Tr: true,
	atom.Ul: true, atom.Html: true, atom.Head: true,
}

// droppedElements have content that is not document text.
var droppedElements = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Svg: true, atom.Math: true, atom.Iframe: true, atom.Object: true,
}

// pageChrome are the elements that web pages use for navigation and site
// furniture rather than content. Inline XBRL filings (EDGAR) keep their
// machine-readable facts in a hidden ix:header element.
var pageChrome = map[string]bool{"nav": true, "header": true, "footer": true, "ix:header": true}

// htmlOptions changes htmlToTextWith for fetched web pages.
type htmlOptions struct {
	// dropChrome drops the pageChrome elements.
	dropChrome bool
	// tableRows writes each table row on one line with its cells separated
	// by a tab, instead of one line per cell.
	tableRows bool
}

// htmlToText extracts the visible text of an HTML document. Block elements
// become line breaks, inline elements join without added spaces, runs of
// white space collapse to one space outside <pre>, script and style content
// is dropped, and character references are decoded. The title is the
// <title> text, or the first <h1> when there is no <title>.
func htmlToText(data []byte) (text, title string) {
	return htmlToTextWith(data, htmlOptions{})
}

// htmlToTextWith is htmlToText with the options for web pages.
func htmlToTextWith(data []byte, opts htmlOptions) (text, title string) {
	z := html.NewTokenizer(bytes.NewReader(data))
	var b strings.Builder
	var titleText, h1Text strings.Builder
	dropDepth, preDepth := 0, 0
	inTitle, inH1 := false, false

	newline := func() {
		s := b.String()
		if s != "" && !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}

	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				// The tokenizer only fails on read errors, which a bytes.Reader
				// never returns.
				panic("collect: html tokenizer: " + z.Err().Error())
			}
			return tidyLines(b.String()), cutTitle(strings.TrimSpace(collapseSpace(pick(titleText.String(), h1Text.String()))))

		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			start := tt != html.EndTagToken
			switch {
			case opts.dropChrome && pageChrome[strings.ToLower(string(name))]:
				if tt == html.StartTagToken {
					dropDepth++
				} else if tt == html.EndTagToken && dropDepth > 0 {
					dropDepth--
				}
			case opts.tableRows && (a == atom.Td || a == atom.Th):
				if start && !strings.HasSuffix(b.String(), "\n") && b.Len() > 0 {
					b.WriteByte('\t')
				}
			case droppedElements[a]:
				if tt == html.StartTagToken {
					dropDepth++
				} else if tt == html.EndTagToken && dropDepth > 0 {
					dropDepth--
				}
			case a == atom.Title:
				inTitle = tt == html.StartTagToken
			case a == atom.H1:
				inH1 = tt == html.StartTagToken
				newline()
			case a == atom.Pre:
				if tt == html.StartTagToken {
					preDepth++
				} else if tt == html.EndTagToken && preDepth > 0 {
					preDepth--
				}
				newline()
			case blockElements[a]:
				newline()
				if a == atom.P && !start {
					b.WriteByte('\n')
				}
			}

		case html.TextToken:
			if dropDepth > 0 {
				continue
			}
			raw := string(z.Text())
			if inTitle {
				titleText.WriteString(raw)
				continue
			}
			if inH1 {
				h1Text.WriteString(raw)
			}
			if preDepth > 0 {
				b.WriteString(raw)
				continue
			}
			s := collapseSpace(raw)
			if strings.HasSuffix(b.String(), "\n") || b.Len() == 0 {
				s = strings.TrimLeft(s, " ")
			}
			b.WriteString(s)
		}
	}
}

func pick(first, second string) string {
	if strings.TrimSpace(first) != "" {
		return first
	}
	return second
}

// collapseSpace replaces each run of HTML white space with one space.
func collapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch r {
		case ' ', '\t', '\n', '\r', '\f':
			if !space {
				b.WriteByte(' ')
			}
			space = true
		default:
			b.WriteRune(r)
			space = false
		}
	}
	return b.String()
}

// tidyLines trims spaces at line ends and keeps at most one blank line
// between paragraphs.
func tidyLines(s string) string {
	var b strings.Builder
	blank := 0
	for line := range strings.Lines(s) {
		line = strings.TrimRight(line, " \t\n")
		if strings.TrimSpace(line) == "" {
			blank++
			if blank > 1 {
				continue
			}
			line = ""
		} else {
			blank = 0
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return strings.Trim(b.String(), "\n")
}
