// Package corpus defines the document record that every stage reads and
// writes, the Parquet shard format that carries it, the manifest that
// describes a stage's output, and the hashing and split rules shared by the
// stages.
package corpus

import "time"

// SchemaVersion is the version of the Document and Rejected layouts. Bump it
// when a column is renamed, removed or changes meaning.
const SchemaVersion = 1

// Document is one row of a corpus shard. Column names follow what Hugging
// Face datasets expect (`text`), so shards load unchanged in datasets,
// DuckDB, Polars and Spark.
type Document struct {
	// ID is the lower-case hex SHA-256 of the normalized text (see HashText).
	ID   string `parquet:"id"`
	Text string `parquet:"text,zstd"`
	// Domain is the configured target domain: "legal", "medical", "financial"
	// or a user-defined name.
	Domain string `parquet:"domain"`
	// Source names the collector kind: "local", "web", "pubmed", "edgar",
	// "courtlistener".
	Source string `parquet:"source"`
	// URL is the document's URL, or its local path for local files.
	URL string `parquet:"url"`
	// License is an SPDX license identifier, or "unknown".
	License string `parquet:"license"`
	// Lang is a ISO 639-1 code ("en", "zh"), or "und" when undetermined.
	// Collect leaves it empty and clean fills it.
	Lang string `parquet:"lang"`
	// LangConfidence is the language detector's confidence in [0, 1].
	LangConfidence float64   `parquet:"lang_confidence"`
	CollectedAt    time.Time `parquet:"collected_at,timestamp(millisecond)"`
	Title          string    `parquet:"title"`
	// RawSHA256 is the lower-case hex SHA-256 of the raw bytes the document
	// was read from (the whole file, HTTP body or record).
	RawSHA256 string `parquet:"raw_sha256"`
	// HTTPStatus is the HTTP status of the fetch, or 0 for local files.
	HTTPStatus int32 `parquet:"http_status"`
	// Meta holds source-specific fields (for example "format", "record" for
	// the line number of a JSONL record, "pmid").
	Meta map[string]string `parquet:"meta"`

	// Fields below are filled by clean.

	// Quality holds the quality signals clean computed, keyed by rule name
	// (for example "word_count", "symbol_ratio").
	Quality map[string]float64 `parquet:"quality"`
	// DedupCluster is the id of the document's duplicate cluster: the ID of
	// the copy that was kept. Empty before clean.
	DedupCluster string `parquet:"dedup_cluster"`
	// Redactions counts PII redactions by placeholder type ("EMAIL",
	// "PHONE").
	Redactions map[string]int64 `parquet:"redactions"`
}

// Rejected is one row of a stage's rejected file: a document that did not
// make it into the output, with the reason.
type Rejected struct {
	Document
	// Stage is the stage that rejected the document ("collect", "clean").
	Stage string `parquet:"stage"`
	// Reason is a stable, machine-readable reason code such as
	// "unreadable", "empty", "too_short", "symbol_ratio", "duplicate_exact".
	Reason string `parquet:"reason"`
	// Detail is a human-readable explanation (the error text, the measured
	// value against the threshold). It never contains PII from the document.
	Detail string `parquet:"detail"`
}
