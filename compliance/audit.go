// Package compliance is the audit stage: it scans the collected and the
// cleaned corpus for personal data, tabulates licenses by source, checks
// the manifests' counts and hashes, and writes the result as
// <ws>/audit/audit.json.
//
// The audit stores counts and document ids only, never the personal data it
// found.
package compliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/adapt-llm/adapt/corpus"

	"github.com/adapt-llm/adapt/internal/atomicfile"
)

// ReportFile is the name of the audit file inside Options.OutDir.
const ReportFile = "audit.json"

// ReportSchemaVersion is the version of the Report layout.
const ReportSchemaVersion = 1

// DefaultMaxDocumentIDs is the number of document ids kept per corpus as
// examples of documents with personal data when Options.MaxDocumentIDs is
// zero.
const DefaultMaxDocumentIDs = 20

// UnknownLicense is the license value of documents whose license collect
// could not determine.
const UnknownLicense = "unknown"

// Options configures Run.
type Options struct {
	// CollectDir and CleanDir are the stage folders (<ws>/collect,
	// <ws>/clean). Empty, or a folder without manifest.json, skips that
	// corpus, but at least one must have a manifest.
	CollectDir string
	CleanDir   string
	// FinetuneDir is the finetune stage folder, whose metrics.json is
	// checked against the clean output. Empty means the folder "finetune"
	// next to CleanDir, as in the workspace layout.
	FinetuneDir string
	// EvalDir is the eval stage folder. Its results for the model "tuned"
	// are checked against the weights in FinetuneDir's model folder. Empty
	// means the folder "eval" next to FinetuneDir.
	EvalDir string
	// OutDir is the folder that receives audit.json; it is created when
	// missing.
	OutDir string
	// ToolVersion is recorded in the report.
	ToolVersion string
	// MaxDocumentIDs is the maximum number of ids of documents with
	// personal data listed per corpus. Zero means DefaultMaxDocumentIDs and
	// a negative value lists none.
	MaxDocumentIDs int
	// Progress, when set, is called after every progressEvery documents and
	// at the end of each corpus with the corpus name ("collect", "clean")
	// and the documents scanned so far in it.
	Progress func(corpusName string, scanned int64)
	// Logger receives warnings (a skipped corpus, a hash mismatch); nil
	// discards them.
	Logger *slog.Logger
	// Now is the report's creation time. Zero means time.Now().
	Now time.Time
}

// progressEvery is the number of documents between Progress calls.
const progressEvery = 1000

// Report is the content of audit.json.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	CreatedAt     time.Time `json:"created_at"`
	ToolVersion   string    `json:"tool_version"`

	// Collect audits the collected corpus, before cleaning. It is nil when it
	// was skipped.
	Collect *CorpusAudit `json:"collect,omitempty"`
	// Clean audits the cleaned corpus, after redaction. It is nil when it was
	// skipped. Its PII counts are the residual personal data that redaction
	// missed.
	Clean *CorpusAudit `json:"clean,omitempty"`

	// PII compares personal data before and after cleaning.
	PII PIISummary `json:"pii"`

	// Skipped names the corpora that were not audited, with the reason.
	Skipped []string `json:"skipped,omitempty"`
	// Problems lists inconsistencies found between manifests and files: a
	// shard whose hash or row count differs from its manifest, counts that
	// do not add up.
	Problems []string `json:"problems,omitempty"`
}

// PIISummary holds the personal-data counts by type ("EMAIL", "PHONE").
type PIISummary struct {
	// Before counts matches of pii.Find in the collected corpus.
	Before map[string]int64 `json:"before"`
	// Redacted is the sum of the cleaned documents' Redactions: what the
	// clean stage replaced with placeholders.
	Redacted map[string]int64 `json:"redacted"`
	// Residual counts matches of pii.Find in the cleaned corpus.
	Residual map[string]int64 `json:"residual"`
	// ResidualDocuments is the number of cleaned documents with at least
	// one residual match, and ResidualDocumentIDs the first of their ids,
	// up to Options.MaxDocumentIDs.
	ResidualDocuments   int64    `json:"residual_documents"`
	ResidualDocumentIDs []string `json:"residual_document_ids,omitempty"`
}

// CorpusAudit is the audit of one stage's output.
type CorpusAudit struct {
	// Stage is "collect" or "clean".
	Stage string `json:"stage"`
	// Counts and RuleCounts are copied from the stage's manifest.
	Counts     corpus.Counts    `json:"counts"`
	RuleCounts map[string]int64 `json:"rule_counts,omitempty"`
	// RejectedByReason counts the rows of rejected.parquet per reason code.
	RejectedByReason map[string]int64 `json:"rejected_by_reason"`
	// Documents is the number of rows read from the shards.
	Documents int64 `json:"documents"`

	// PII counts pii.Find matches by type; DocumentsWithPII counts the
	// documents with at least one, and DocumentIDsWithPII lists the first
	// of their ids.
	PII                map[string]int64 `json:"pii"`
	DocumentsWithPII   int64            `json:"documents_with_pii"`
	DocumentIDsWithPII []string         `json:"document_ids_with_pii,omitempty"`
	// Redactions sums Document.Redactions by type (zero before clean).
	Redactions map[string]int64 `json:"redactions"`
	// RejectedPII counts pii.Find matches by type in the text of the
	// rejected rows, and RejectedWithPII the rows with at least one. Rows
	// rejected before redaction keep their text as it came in, so a
	// rejected file can hold personal data that the kept shards do not.
	RejectedPII     map[string]int64 `json:"rejected_pii"`
	RejectedWithPII int64            `json:"rejected_with_pii"`

	// Licenses counts documents per (source, license), sorted by source
	// then license.
	Licenses []LicenseCount `json:"licenses"`
	// LicenseTotals counts documents per license over all sources.
	LicenseTotals map[string]int64 `json:"license_totals"`
	// UnknownLicense is the number of documents whose license is "unknown"
	// or empty, and UnknownLicenseSources the sources they came from.
	UnknownLicense        int64    `json:"unknown_license"`
	UnknownLicenseSources []string `json:"unknown_license_sources,omitempty"`
}

// LicenseCount is the number of documents from one source under one
// license.
type LicenseCount struct {
	Source    string `json:"source"`
	License   string `json:"license"`
	Documents int64  `json:"documents"`
}

// Run audits the corpora in opts.CollectDir and opts.CleanDir and writes
// the report to <opts.OutDir>/audit.json through a temporary file, so a
// failed audit leaves no audit.json behind. It returns ErrNothingToAudit
// when neither folder has a manifest.
func Run(ctx context.Context, opts Options) (*Report, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.OutDir == "" {
		return nil, errors.New("compliance: Options.OutDir is empty; set the folder for audit.json")
	}
	maxIDs := opts.MaxDocumentIDs
	switch {
	case maxIDs == 0:
		maxIDs = DefaultMaxDocumentIDs
	case maxIDs < 0:
		maxIDs = 0
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}

	report := &Report{
		SchemaVersion: ReportSchemaVersion,
		CreatedAt:     now.UTC(),
		ToolVersion:   opts.ToolVersion,
	}
	scanner := corpusScanner{ctx: ctx, maxIDs: maxIDs, progress: opts.Progress, logger: logger, report: report}

	// Scan each corpus that has a manifest.
	var err error
	report.Collect, err = scanner.audit("collect", opts.CollectDir)
	if err != nil {
		return nil, err
	}
	report.Clean, err = scanner.audit("clean", opts.CleanDir)
	if err != nil {
		return nil, err
	}
	if report.Collect == nil && report.Clean == nil {
		return nil, fmt.Errorf("auditing %q and %q: %w; run adapt collect first", opts.CollectDir, opts.CleanDir, ErrNothingToAudit)
	}
	// Skipped corpora are logged only now, because with nothing to audit
	// the returned error already reports it.
	for _, reason := range report.Skipped {
		logger.Warn("skipping corpus in audit", "reason", reason)
	}
	if err := checkStale(&scanner, opts); err != nil {
		return nil, err
	}

	// Compare before and after.
	report.PII = PIISummary{Before: map[string]int64{}, Redacted: map[string]int64{}, Residual: map[string]int64{}}
	if report.Collect != nil {
		report.PII.Before = report.Collect.PII
	}
	if report.Clean != nil {
		report.PII.Redacted = report.Clean.Redactions
		report.PII.Residual = report.Clean.PII
		report.PII.ResidualDocuments = report.Clean.DocumentsWithPII
		report.PII.ResidualDocumentIDs = report.Clean.DocumentIDsWithPII
	}

	if err := writeReport(opts.OutDir, report); err != nil {
		return nil, err
	}
	return report, nil
}

// writeReport stores report as <dir>/audit.json via a temporary file.
func writeReport(dir string, report *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating audit folder: %w", err)
	}
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding audit report: %w", err)
	}
	data = append(data, '\n')

	if err := atomicfile.WriteFile(filepath.Join(dir, ReportFile), data, 0o644); err != nil {
		return fmt.Errorf("writing audit report in %s: %w", dir, err)
	}
	return nil
}

// Read loads a report written by Run from <dir>/audit.json.
func Read(dir string) (*Report, error) {
	path := filepath.Join(dir, ReportFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading audit report: %w", err)
	}
	var report Report
	if err := json.Unmarshal(data, &report); err != nil {
		return nil, fmt.Errorf("decoding audit report %s: %w; rerun adapt audit", path, err)
	}
	return &report, nil
}
