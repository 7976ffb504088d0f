package compliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"

	"github.com/adapt-llm/adapt/clean/pii"
	"github.com/adapt-llm/adapt/corpus"
)

// corpusScanner audits one stage folder at a time and adds what it cannot
// audit to report.Skipped and report.Problems.
type corpusScanner struct {
	ctx      context.Context
	maxIDs   int
	progress func(string, int64)
	logger   *slog.Logger
	report   *Report
}

// audit scans the shards and rejected file listed in <dir>/manifest.json.
// It returns nil and records the reason in report.Skipped when dir is empty
// or has no manifest.
func (s *corpusScanner) audit(stage, dir string) (*CorpusAudit, error) {
	if dir == "" {
		s.skip(stage, "no folder given")
		return nil, nil
	}
	m, err := corpus.ReadManifest(dir)
	if errors.Is(err, corpus.ErrNoManifest) {
		s.skip(stage, fmt.Sprintf("no manifest in %s; run adapt %s", dir, stage))
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auditing %s: %w", stage, err)
	}

	a := &CorpusAudit{
		Stage:            stage,
		Counts:           m.Counts,
		RuleCounts:       m.RuleCounts,
		RejectedByReason: map[string]int64{},
		PII:              map[string]int64{},
		Redactions:       map[string]int64{},
		RejectedPII:      map[string]int64{},
		LicenseTotals:    map[string]int64{},
	}
	if err := m.Counts.Check(); err != nil {
		s.problem("%s manifest: %v", stage, err)
	}

	// Documents: personal data, redactions and licenses.
	licenses := map[[2]string]int64{}
	unknownSources := map[string]bool{}
	for _, shard := range m.Shards {
		if err := s.ctx.Err(); err != nil {
			return nil, fmt.Errorf("auditing %s: %w", stage, err)
		}
		path, ok := s.verify(stage, dir, shard)
		if !ok {
			continue
		}
		var rows int64
		for doc, err := range corpus.ReadShards(path) {
			if err != nil {
				return nil, fmt.Errorf("auditing %s: %w", stage, err)
			}
			rows++
			a.Documents++
			s.scanDocument(a, &doc, licenses, unknownSources)
			if a.Documents%progressEvery == 0 {
				if err := s.ctx.Err(); err != nil {
					return nil, fmt.Errorf("auditing %s: %w", stage, err)
				}
				if s.progress != nil {
					s.progress(stage, a.Documents)
				}
			}
		}
		if rows != shard.Rows {
			s.problem("%s shard %s: read %d rows but the manifest lists %d", stage, shard.Path, rows, shard.Rows)
		}
	}
	if s.progress != nil {
		s.progress(stage, a.Documents)
	}
	if a.Documents != m.Counts.Kept {
		s.problem("%s: read %d documents from the shards but the manifest counts %d kept", stage, a.Documents, m.Counts.Kept)
	}
	a.Licenses, a.UnknownLicenseSources = licenseTable(licenses, unknownSources)

	// Rejected documents: reason codes.
	if m.Rejected.Path != "" {
		if path, ok := s.verify(stage, dir, m.Rejected); ok {
			var rows int64
			for row, err := range corpus.ReadRejected(path) {
				if err != nil {
					return nil, fmt.Errorf("auditing %s rejected documents: %w", stage, err)
				}
				rows++
				a.RejectedByReason[row.Reason]++
				matches := pii.Find(row.Text)
				for _, match := range matches {
					a.RejectedPII[match.Type]++
				}
				if len(matches) > 0 {
					a.RejectedWithPII++
				}
			}
			if rows != m.Counts.Rejected {
				s.problem("%s: read %d rejected rows but the manifest counts %d rejected", stage, rows, m.Counts.Rejected)
			}
		}
	}
	return a, nil
}

// scanDocument adds one document's personal data, redactions and license
// to a.
func (s *corpusScanner) scanDocument(a *CorpusAudit, doc *corpus.Document, licenses map[[2]string]int64, unknownSources map[string]bool) {
	matches := pii.Find(doc.Text)
	for _, match := range matches {
		a.PII[match.Type]++
	}
	if len(matches) > 0 {
		a.DocumentsWithPII++
		if len(a.DocumentIDsWithPII) < s.maxIDs {
			a.DocumentIDsWithPII = append(a.DocumentIDsWithPII, doc.ID)
		}
	}
	for kind, n := range doc.Redactions {
		a.Redactions[kind] += n
	}

	license := doc.License
	if license == "" || license == UnknownLicense {
		license = UnknownLicense
		a.UnknownLicense++
		unknownSources[doc.Source] = true
	}
	licenses[[2]string{doc.Source, license}]++
	a.LicenseTotals[license]++
}

// verify checks that the file a manifest entry names exists in dir with
// the recorded SHA-256, and returns its path. The entry's path is relative
// to the workspace, so only its base name is joined to dir.
func (s *corpusScanner) verify(stage, dir string, shard corpus.ShardInfo) (string, bool) {
	path := filepath.Join(dir, filepath.Base(filepath.FromSlash(shard.Path)))
	sum, _, err := corpus.HashFile(path)
	if err != nil {
		s.problem("%s: %v", stage, err)
		return "", false
	}
	if shard.SHA256 != "" && sum != shard.SHA256 {
		s.problem("%s shard %s: sha256 %s differs from the manifest's %s; the file changed after %s wrote it", stage, shard.Path, sum, shard.SHA256, stage)
	}
	return path, true
}

func (s *corpusScanner) skip(stage, reason string) {
	s.report.Skipped = append(s.report.Skipped, stage+": "+reason)
}

func (s *corpusScanner) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.logger.Warn("audit found a problem", "problem", msg)
	s.report.Problems = append(s.report.Problems, msg)
}

// licenseTable sorts the (source, license) counts by source then license
// and lists the sources with unknown licenses.
func licenseTable(counts map[[2]string]int64, unknownSources map[string]bool) ([]LicenseCount, []string) {
	table := make([]LicenseCount, 0, len(counts))
	for key, n := range counts {
		table = append(table, LicenseCount{Source: key[0], License: key[1], Documents: n})
	}
	sort.Slice(table, func(i, j int) bool {
		if table[i].Source != table[j].Source {
			return table[i].Source < table[j].Source
		}
		return table[i].License < table[j].License
	})

	var sources []string
	for source := range unknownSources {
		sources = append(sources, source)
	}
	sort.Strings(sources)
	return table, sources
}
