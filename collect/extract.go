package collect

import (
	"errors"
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
	formatJSON     = "json"
	formatCSV      = "csv"
	formatPDF      = "pdf"
	formatParquet  = "parquet"
)

// formatByExt maps lower-case file extensions to formats. Files with other
// extensions are read as text unless they look binary, because Debian names
// many text files with a version or suffix ("LGPL-2.1", "README.Debian").
// A ".gz" or ".zst" suffix is removed first (see splitCompression).
var formatByExt = map[string]string{
	".txt": formatText, ".text": formatText,
	".md": formatMarkdown, ".markdown": formatMarkdown,
	".html": formatHTML, ".htm": formatHTML, ".xhtml": formatHTML,
	".jsonl": formatJSONL, ".ndjson": formatJSONL,
	".json":    formatJSON,
	".csv":     formatCSV,
	".pdf":     formatPDF,
	".parquet": formatParquet,
}

// Document.Meta keys set on every document and rejected row of a local file
// that was read.
const (
	// metaFileSHA256 is the SHA-256 of the file as stored (before
	// decompression); incremental runs compare it.
	metaFileSHA256 = "file_sha256"
	metaFormat     = "format"
	// metaCompression is "gzip" or "zstd" for compressed files.
	metaCompression = "compression"
)

// extractEnv holds the values shared by every document of a run.
type extractEnv struct {
	domain      string
	collectedAt time.Time
	// terms is the term list of the domain, or nil when it has none.
	terms    *domainTerms
	minScore float64
	// previous is the earlier output to reuse, or nil.
	previous *previousRun
}

// worker holds the per-goroutine state of extraction.
type worker struct {
	scorer domainScorer
}

// fileResult holds the documents and rejected rows of one file, in file order.
type fileResult struct {
	docs     []corpus.Document
	rejected []corpus.Rejected
	bytes    int64
	// encoding is the character encoding the file was decoded from, or ""
	// for UTF-8 without a byte order mark (see decodeText).
	encoding string
	// change is the file's status against the previous run: changeNew,
	// changeChanged or changeUnchanged. Empty for remote fetches.
	change string
}

// extractFile reads one file and turns it into documents or rejected rows.
// It returns no error: a read or format problem becomes a rejected row
// naming the path. A file whose hash matches the previous run gets that
// run's rows back without extraction.
func extractFile(task *fileTask, env *extractEnv, w *worker) fileResult {
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
		res.change = env.previous.classify(task.path, "")
		return res
	}
	data, err := os.ReadFile(task.path)
	if err != nil {
		reject(base, ReasonUnreadable, err.Error())
		res.change = env.previous.classify(task.path, "")
		return res
	}
	res.bytes = int64(len(data))
	fileSHA := corpus.HashBytes(data)
	base.Meta[metaFileSHA256] = fileSHA

	// Reuse the previous run's rows of an unchanged file.
	res.change = env.previous.classify(task.path, fileSHA)
	if res.change == changeUnchanged && env.previous.canReuse() {
		res.docs, res.rejected = env.previous.rows(task.path)
		res.encoding = reusedEncoding(&res)
		return res
	}

	// Decompress, then pick the format from the inner name.
	name, compression := splitCompression(task.path)
	rawSHA := fileSHA
	if compression != "" {
		base.Meta[metaCompression] = compression
		if data, err = decompress(compression, data); err != nil {
			reject(base, ReasonInvalidFormat, fmt.Sprintf("%s: %v", task.path, err))
			return res
		}
		rawSHA = corpus.HashBytes(data)
	}
	format, known := formatByExt[strings.ToLower(filepath.Ext(name))]
	if !known {
		format = formatText
	}
	base.Meta[metaFormat] = format
	if format != formatJSONL && format != formatJSON && format != formatCSV && format != formatParquet {
		base.RawSHA256 = rawSHA
	}
	if format != formatPDF && format != formatParquet {
		var enc string
		if data, enc = decodeText(data, format); enc != "" {
			base.Meta[metaEncoding] = enc
			res.encoding = enc
		}
	}
	if format != formatPDF && format != formatParquet && looksBinary(data) {
		reject(base, ReasonInvalidFormat, fmt.Sprintf("%s: binary content (NUL byte in the first %d bytes), not %s", task.path, binarySniffLen, format))
		return res
	}

	switch format {
	case formatText, formatMarkdown, formatHTML, formatPDF:
		var text, title string
		switch format {
		case formatHTML:
			text, title = htmlToText(data)
		case formatMarkdown:
			text = string(data)
			title = markdownTitle(text)
		case formatPDF:
			if text, title, err = extractPDFText(data); err != nil {
				reject(base, pdfReason(err), fmt.Sprintf("%s: %v", task.path, err))
				return res
			}
		default:
			text = string(data)
			title = firstLine(text)
		}
		doc := base
		doc.Text = normalizeText(text)
		if title == "" {
			title = firstLine(doc.Text)
		}
		doc.Title = title
		licenseText := doc.Text
		if format != formatPDF {
			licenseText = string(data)
		}
		doc.License = pickLicense(detectLicense(task.path, licenseText), task.source.License)
		if doc.Text == "" {
			reject(doc, ReasonEmpty, task.path+": no text after extraction")
			return res
		}
		doc.ID = corpus.HashText(doc.Text)
		res.docs = append(res.docs, doc)

	case formatJSONL, formatJSON, formatCSV, formatParquet:
		var records []record
		switch format {
		case formatJSONL:
			records = parseJSONL(data, task.source.textColumns())
		case formatJSON:
			records, err = parseJSON(data, task.source.textColumns())
		case formatCSV:
			records, err = parseCSV(data, task.source.textColumns())
		case formatParquet:
			records, err = parseParquet(data, task.source.textColumns())
		}
		if err != nil {
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
	scoreResult(&res, env, &w.scorer)
	return res
}

// reusedEncoding returns the encoding recorded on the reused rows of one
// file; every row of a file carries the same value.
func reusedEncoding(res *fileResult) string {
	if len(res.docs) > 0 {
		return res.docs[0].Meta[metaEncoding]
	}
	if len(res.rejected) > 0 {
		return res.rejected[0].Meta[metaEncoding]
	}
	return ""
}

// pdfReason maps an extractPDFText error to a reason code.
func pdfReason(err error) string {
	switch {
	case errors.Is(err, errPDFNoText):
		return ReasonNoTextLayer
	case errors.Is(err, errPDFEncrypted):
		return ReasonEncrypted
	default:
		return ReasonInvalidFormat
	}
}

// scoreResult writes the domain score of every document into its Meta and
// moves documents below the minimum score to the rejected rows, keeping the
// order of the rest. It does nothing when the domain has no term list.
func scoreResult(res *fileResult, env *extractEnv, scorer *domainScorer) {
	if env.terms == nil {
		return
	}
	kept := res.docs[:0]
	for _, doc := range res.docs {
		score := scorer.score(env.terms, doc.Text)
		doc.Meta[MetaDomainScore] = formatDomainScore(score)
		if env.minScore > 0 && score < env.minScore {
			where := doc.URL
			if p := doc.Meta["path"]; p != "" {
				where = p + ":" + doc.Meta["record"]
			}
			res.rejected = append(res.rejected, corpus.Rejected{Document: doc, Stage: "collect", Reason: ReasonOffDomain,
				Detail: fmt.Sprintf("%s: %s domain score %.2f is below the minimum %g", where, env.domain, score, env.minScore)})
			continue
		}
		kept = append(kept, doc)
	}
	res.docs = kept
}

// addRecord turns one JSONL, JSON, CSV or Parquet record into a document or
// rejected row.
func addRecord(res *fileResult, rec *record, base corpus.Document, task *fileTask, reject func(corpus.Document, string, string)) {
	doc := base
	doc.Meta = map[string]string{"record": strconv.Itoa(rec.line), "path": task.path}
	if rec.element > 0 {
		doc.Meta["element"] = strconv.Itoa(rec.element)
	}
	for _, key := range []string{metaFormat, metaFileSHA256, metaCompression} {
		if value, ok := base.Meta[key]; ok {
			doc.Meta[key] = value
		}
	}
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
