package collect

// License detection follows three conventions, in this order:
//   - SPDX short-form identifiers ("SPDX-License-Identifier: MIT"), SPDX
//     specification 2.3, annex E;
//   - Debian machine-readable copyright files (DEP-5, copyright-format 1.0,
//     https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/),
//     whose License fields use Debian short names that licenseIDs maps to
//     SPDX identifiers (SPDX License List 3.x);
//   - the file names of Debian's /usr/share/common-licenses.

import (
	"path/filepath"
	"regexp"
	"strings"
)

// Unknown is the license of a document whose license could not be found.
const Unknown = "unknown"

// debianToSPDX maps Debian short license names (lower case) to SPDX ids.
// The "+" suffix in Debian names means "or any later version".
var debianToSPDX = map[string]string{
	"gpl": "GPL-1.0-or-later", "gpl+": "GPL-1.0-or-later",
	"gpl-1": "GPL-1.0-only", "gpl-1+": "GPL-1.0-or-later",
	"gpl-2": "GPL-2.0-only", "gpl-2+": "GPL-2.0-or-later", "gpl-2.0": "GPL-2.0-only", "gpl-2.0+": "GPL-2.0-or-later",
	"gpl-3": "GPL-3.0-only", "gpl-3+": "GPL-3.0-or-later", "gpl-3.0": "GPL-3.0-only", "gpl-3.0+": "GPL-3.0-or-later",
	"lgpl": "LGPL-2.0-or-later", "lgpl+": "LGPL-2.0-or-later",
	"lgpl-2": "LGPL-2.0-only", "lgpl-2+": "LGPL-2.0-or-later",
	"lgpl-2.1": "LGPL-2.1-only", "lgpl-2.1+": "LGPL-2.1-or-later",
	"lgpl-3": "LGPL-3.0-only", "lgpl-3+": "LGPL-3.0-or-later", "lgpl-3.0": "LGPL-3.0-only", "lgpl-3.0+": "LGPL-3.0-or-later",
	"agpl-3": "AGPL-3.0-only", "agpl-3+": "AGPL-3.0-or-later",
	"gfdl-1.2": "GFDL-1.2-only", "gfdl-1.2+": "GFDL-1.2-or-later",
	"gfdl-1.3": "GFDL-1.3-only", "gfdl-1.3+": "GFDL-1.3-or-later",
	"gfdl-niv-1.2": "GFDL-1.2-no-invariants-only", "gfdl-niv-1.2+": "GFDL-1.2-no-invariants-or-later",
	"gfdl-niv-1.3": "GFDL-1.3-no-invariants-only", "gfdl-niv-1.3+": "GFDL-1.3-no-invariants-or-later",
	"apache-2": "Apache-2.0", "apache-2.0": "Apache-2.0", "apache-1.1": "Apache-1.1",
	"artistic": "Artistic-1.0-Perl", "artistic-1": "Artistic-1.0-Perl", "artistic-2": "Artistic-2.0", "artistic-2.0": "Artistic-2.0",
	"bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause", "bsd-4-clause": "BSD-4-Clause",
	"expat": "MIT", "mit": "MIT", "x11": "X11", "isc": "ISC", "zlib": "Zlib", "curl": "curl",
	"mpl-1.1": "MPL-1.1", "mpl-2.0": "MPL-2.0", "epl-1.0": "EPL-1.0", "epl-2.0": "EPL-2.0",
	"cc0": "CC0-1.0", "cc0-1.0": "CC0-1.0",
	"cc-by-3.0": "CC-BY-3.0", "cc-by-4.0": "CC-BY-4.0", "cc-by-sa-3.0": "CC-BY-SA-3.0", "cc-by-sa-4.0": "CC-BY-SA-4.0",
	"psf-2": "PSF-2.0", "python-2.0": "Python-2.0", "bsl-1.0": "BSL-1.0", "boost-1.0": "BSL-1.0",
	"openssl": "OpenSSL", "unicode-dfs-2016": "Unicode-DFS-2016", "wtfpl": "WTFPL", "ftl": "FTL",
	"sil-ofl-1.1": "OFL-1.1", "ofl-1.1": "OFL-1.1", "bzip2-1.0.6": "bzip2-1.0.6", "0bsd": "0BSD",
	"perl": "Artistic-1.0-Perl OR GPL-1.0-or-later",
	// SPDX has no identifier for the public domain, so it gets a LicenseRef.
	"public-domain": "LicenseRef-public-domain",
}

// commonLicenseToSPDX maps the file names in Debian's
// /usr/share/common-licenses to SPDX ids. The unversioned names are links to
// the latest version (GPL -> GPL-3 in Debian 12), and BSD is the University of
// California's 3-clause text.
var commonLicenseToSPDX = map[string]string{
	"Apache-2.0": "Apache-2.0", "Artistic": "Artistic-1.0-Perl", "BSD": "BSD-3-Clause", "CC0-1.0": "CC0-1.0",
	"GFDL": "GFDL-1.3-only", "GFDL-1.2": "GFDL-1.2-only", "GFDL-1.3": "GFDL-1.3-only",
	"GPL": "GPL-3.0-only", "GPL-1": "GPL-1.0-only", "GPL-2": "GPL-2.0-only", "GPL-3": "GPL-3.0-only",
	"LGPL": "LGPL-3.0-only", "LGPL-2": "LGPL-2.0-only", "LGPL-2.1": "LGPL-2.1-only", "LGPL-3": "LGPL-3.0-only",
	"MPL-1.1": "MPL-1.1", "MPL-2.0": "MPL-2.0",
}

var spdxLine = regexp.MustCompile(`SPDX-License-Identifier:[ \t]*([^\r\n]*)`)

// detectLicense returns the SPDX license expression for a file at path with
// the given text, or "" when none of the conventions applies.
func detectLicense(path, text string) string {
	if m := spdxLine.FindStringSubmatch(text); m != nil {
		if expr := cleanSPDX(m[1]); expr != "" {
			return expr
		}
	}
	if expr := dep5License(text); expr != "" {
		return expr
	}
	if filepath.Base(filepath.Dir(path)) == "common-licenses" {
		if id, ok := commonLicenseToSPDX[filepath.Base(path)]; ok {
			return id
		}
	}
	return ""
}

// cleanSPDX strips comment closers and trailing punctuation that follow an
// SPDX identifier in source files.
func cleanSPDX(s string) string {
	s = strings.TrimSpace(s)
	for _, closer := range []string{"*/", "-->", "#}", "*)"} {
		s = strings.TrimSpace(strings.TrimSuffix(s, closer))
	}
	return s
}

// isDEP5 reports whether text starts with a DEP-5 header paragraph.
func isDEP5(text string) bool {
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		lower := strings.ToLower(line)
		return strings.HasPrefix(lower, "format:") &&
			(strings.Contains(lower, "copyright-format") || strings.Contains(lower, "dep5") || strings.Contains(lower, "dep-5"))
	}
	return false
}

// dep5License collects the License fields of the header paragraph and of
// every Files paragraph of a DEP-5 copyright file and joins the distinct
// expressions with AND. Stand-alone License paragraphs only carry license
// texts, so they are skipped. It returns "" for other files.
func dep5License(text string) string {
	if !isDEP5(text) {
		return ""
	}

	var exprs []string
	seen := map[string]bool{}
	for i, para := range dep5Paragraphs(text) {
		_, isFiles := para["files"]
		if i != 0 && !isFiles {
			continue
		}
		value, ok := para["license"]
		if !ok {
			continue
		}
		expr := debianExpression(value)
		if expr != "" && !seen[expr] {
			seen[expr] = true
			exprs = append(exprs, expr)
		}
	}

	if len(exprs) > 1 {
		for i, e := range exprs {
			if strings.Contains(e, " OR ") || strings.Contains(e, " WITH ") {
				exprs[i] = "(" + e + ")"
			}
		}
	}
	return strings.Join(exprs, " AND ")
}

// dep5Paragraphs splits a DEP-5 file into paragraphs and returns, for each,
// the first line of every field keyed by the lower-case field name.
// Continuation lines (starting with a space or tab) are skipped.
func dep5Paragraphs(text string) []map[string]string {
	var paras []map[string]string
	var cur map[string]string
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.TrimSpace(line) == "":
			cur = nil
		case line[0] == ' ' || line[0] == '\t' || line[0] == '#':
			// continuation line or comment
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			if cur == nil {
				cur = map[string]string{}
				paras = append(paras, cur)
			}
			cur[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
		}
	}
	return paras
}

var (
	orSplit   = regexp.MustCompile(`(?i)\s+or\s+|\s*\|\s*`)
	andSplit  = regexp.MustCompile(`(?i)\s+and\s+|\s*,\s*and\s+|\s*&\s*`)
	withSplit = regexp.MustCompile(`(?i)\s+with\s+`)
	refChars  = regexp.MustCompile(`[^A-Za-z0-9.-]+`)
)

// debianExpression converts the first line of a DEP-5 License field, such as
// "GPL-2+ or Artistic" or "LGPL-2.1+ with OpenSSL exception", to an SPDX
// expression. Names without an SPDX id become LicenseRef-<name>, and
// exceptions become AdditionRef-<name>-exception (SPDX 3.0 syntax).
func debianExpression(value string) string {
	value = strings.TrimSpace(value)
	if value == "" {
		return ""
	}

	var ands []string
	for _, conj := range andSplit.Split(value, -1) {
		var ors []string
		for _, alt := range orSplit.Split(conj, -1) {
			if id := debianName(alt); id != "" {
				ors = append(ors, id)
			}
		}
		switch {
		case len(ors) == 1:
			ands = append(ands, ors[0])
		case len(ors) > 1:
			ands = append(ands, "("+strings.Join(ors, " OR ")+")")
		}
	}
	if len(ands) == 1 {
		return strings.TrimSuffix(strings.TrimPrefix(ands[0], "("), ")")
	}
	return strings.Join(ands, " AND ")
}

// debianName maps one Debian license name, possibly with an exception
// ("GPL-2+ with OpenSSL exception"), to an SPDX id or expression.
func debianName(name string) string {
	parts := withSplit.Split(strings.TrimSpace(name), 2)
	id := debianID(parts[0])
	if id == "" {
		return ""
	}
	if len(parts) == 2 {
		exception := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(parts[1]), "exception"))
		if ref := refChars.ReplaceAllString(exception, "-"); strings.Trim(ref, "-") != "" {
			id += " WITH AdditionRef-" + strings.Trim(ref, "-") + "-exception"
		}
	}
	if strings.Contains(id, " OR ") && len(parts) == 1 {
		return "(" + id + ")"
	}
	return id
}

func debianID(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return ""
	}
	if id, ok := debianToSPDX[strings.ToLower(name)]; ok {
		return id
	}
	ref := strings.Trim(refChars.ReplaceAllString(name, "-"), "-")
	if ref == "" {
		return ""
	}
	return "LicenseRef-" + ref
}
