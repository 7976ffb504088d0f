package collect

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/adapt-llm/adapt/corpus"
)

// Format names recorded in Document.Meta["format"].
const (
	formatText     = "text"
	formatMarkdown = "markdown"
	formatHTML     = "html"
	formatJSONL    = "jsonl"
	formatCSV      = "csv"
)

// formatByExt maps lower-case file extensions to formats. Files with other
// extensions are read as text unless they look binary, because Debian names
// many text files with a version or suffix ("LGPL-2.1", "README.Debian").
var formatByExt = map[string]string{
	".txt": formatText, ".text": formatText,
	".md": formatMarkdown, ".markdown": formatMarkdown,
	".html": formatHTML, ".htm": formatHTML, ".xhtml": formatHTML,
	".jsonl": formatJSONL, ".ndjson": formatJSONL,
	".csv": formatCSV,
}

// extractEnv holds the values shared by every document of a run.
type extractEnv struct {
	domain      string
	collectedAt time.Time
}

// fileResult holds the documents and rejected rows of one file, in file order.
type fileResult struct {
	docs     []corpus.Document
	rejected []corpus.Rejected
	bytes    int64
}

// extractFile reads one file and turns it into documents or rejected rows.
// It returns no error: a read or format problem becomes a rejected row
// naming the path.
func extractFile(task *fileTask, env *extractEnv) fileResult {
	var res fileResult
	base := corpus.Document{
		Domain: env.domain, Source: KindLocal, URL: task.path, CollectedAt: env.collectedAt,
		Meta: map[string]string{},
	}
	reject := func(doc corpus.Document, reason, detail string) {
		res.rejected = append(res.rejected, corpus.Rejected{Document: doc, Stage: "collect", Reason: reason, Detail: detail})
	}

	if task.err != nil {
		reject(base, ReasonUnreadable, fmt.Sprintf("%s: %v", task.path, task.err))
		return res
	}
	data, err := os.ReadFile(task.path)
	if err != nil {
		reject(base, ReasonUnreadable, err.Error())
		return res
	}
	res.bytes = int64(len(data))

	format, known := formatByExt[strings.ToLower(filepath.Ext(task.path))]
	if !known {
		format = formatText
	}
	base.Meta["format"] = format
	if format != formatJSONL && format != formatCSV {
		base.RawSHA256 = corpus.HashBytes(data)
	}
	if looksBinary(data) {
		reject(base, ReasonInvalidFormat, fmt.Sprintf("%s: binary content (NUL byte in the first %d bytes), not %s", task.path, binarySniffLen, format))
		return res
	}

	switch format {
	case formatText, formatMarkdown, formatHTML:
		var text, title string
		switch format {
		case formatHTML:
			text, title = htmlToText(data)
		case formatMarkdown:
			text = string(data)
			title = markdownTitle(text)
		default:
			text = string(data)
			title = firstLine(text)
		}
		doc := base
		doc.Text = normalizeText(text)
		doc.Title = title
		doc.License = pickLicense(detectLicense(task.path, string(data)), task.source.License)
		if doc.Text == "" {
			reject(doc, ReasonEmpty, task.path+": no text after extraction")
			return res
		}
		doc.ID = corpus.HashText(doc.Text)
		res.docs = append(res.docs, doc)

	case formatJSONL, formatCSV:
		var records []record
		if format == formatJSONL {
			records = parseJSONL(data)
		} else if records, err = parseCSV(data); err != nil {
			reject(base, ReasonInvalidFormat, fmt.Sprintf("%s: %v", task.path, err))
			return res
		}
		if len(records) == 0 {
			reject(base, ReasonEmpty, task.path+": no records")
			return res
		}
		for i := range records {
			addRecord(&res, &records[i], base, task, reject)
		}
	}
	return res
}

// addRecord turns one JSONL or CSV record into a document or rejected row.
func addRecord(res *fileResult, rec *record, base corpus.Document, task *fileTask, reject func(corpus.Document, string, string)) {
	doc := base
	doc.Meta = map[string]string{"format": base.Meta["format"], "record": strconv.Itoa(rec.line), "path": task.path}
	doc.RawSHA256 = corpus.HashBytes(rec.raw)
	if rec.err != nil {
		reject(doc, ReasonInvalidFormat, fmt.Sprintf("%s:%v", task.path, rec.err))
		return
	}

	for name, value := range rec.fields {
		switch name {
		case "title", "url", "license":
		case "id":
			doc.Meta["record_id"] = value
		default:
			if _, taken := doc.Meta[name]; !taken {
				doc.Meta[name] = value
			}
		}
	}
	doc.Text = normalizeText(rec.text)
	doc.Title = rec.fields["title"]
	if doc.Title == "" {
		doc.Title = firstLine(doc.Text)
	}
	if url := rec.fields["url"]; url != "" {
		doc.URL = url
	}
	doc.License = rec.fields["license"]
	if doc.License == "" {
		doc.License = pickLicense(detectLicense("", rec.text), task.source.License)
	}
	if doc.Text == "" {
		reject(doc, ReasonEmpty, fmt.Sprintf("%s:%d: record has no text", task.path, rec.line))
		return
	}
	doc.ID = corpus.HashText(doc.Text)
	res.docs = append(res.docs, doc)
}

func pickLicense(detected, sourceDefault string) string {
	switch {
	case detected != "":
		return detected
	case sourceDefault != "":
		return sourceDefault
	default:
		return Unknown
	}
}
