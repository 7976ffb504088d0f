package collect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/internal/sharedtest"
)

// runCollect collects src into a fresh workspace and returns the manifest,
// documents and rejected rows.
func runCollect(t testing.TB, sources ...Source) (*corpus.Manifest, []corpus.Document, []corpus.Rejected) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "collect")
	m, err := Run(context.Background(), Options{Sources: sources, Domain: "legal", OutDir: out, ToolVersion: "test"})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	paths, err := corpus.ListShards(out)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := corpus.Collect(corpus.ReadShards(paths...))
	if err != nil {
		t.Fatal(err)
	}
	rejected, err := corpus.Collect(corpus.ReadRejected(filepath.Join(out, corpus.RejectedName)))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Counts.Check(); err != nil {
		t.Errorf("counts: %v", err)
	}
	if got, want := m.Counts.Kept, int64(len(docs)); got != want {
		t.Errorf("Counts.Kept: got %d, want %d rows in shards", got, want)
	}
	if got, want := m.Counts.Rejected, int64(len(rejected)); got != want {
		t.Errorf("Counts.Rejected: got %d, want %d rows in rejected file", got, want)
	}
	return m, docs, rejected
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFormats(t *testing.T) {
	long := strings.Repeat("x", 70_000)
	cases := []struct {
		name, file, content string
		wantTexts           []string
		wantTitle           string
		wantRejected        []string // reasons
	}{
		{"text with CRLF", "a.txt", "Title line  \r\nsecond\r\n\r\n", []string{"Title line\nsecond"}, "Title line", nil},
		{"no extension", "copyright", "Some terms\n", []string{"Some terms"}, "Some terms", nil},
		{"version suffix", "LGPL-2.1", "GNU LESSER\n", []string{"GNU LESSER"}, "GNU LESSER", nil},
		{"markdown heading", "r.md", "intro\n# The Title #\nbody", []string{"intro\n# The Title #\nbody"}, "The Title", nil},
		{"empty text", "e.txt", " \n\t\n", nil, "", []string{ReasonEmpty}},
		{"binary", "b.bin", "abc\x00def", nil, "", []string{ReasonInvalidFormat}},
		{"html", "p.html", `<html><head><title>T &amp; C</title><style>p{}</style><script>var x="<p>";</script></head>` +
			`<body><h1>Head</h1><p>a<b>b</b>c &eacute; &#x4e2d;</p><div>line   two</div><pre>  keep
  this</pre></body></html>`,
			[]string{"Head\nabc é 中\n\nline two\n  keep\n  this"}, "T & C", nil},
		{"jsonl", "d.jsonl", "{\"text\":\"one\",\"title\":\"T1\",\"id\":7,\"license\":\"MIT\"}\n" +
			"not json\n\n{\"title\":\"no text\"}\n{\"text\":\"a\u2028b\u2029c\u0085d\"}\r\n{\"text\":\"  \"}",
			[]string{"one", "a\u2028b\u2029c\u0085d"}, "T1", []string{ReasonInvalidFormat, ReasonInvalidFormat, ReasonEmpty}},
		{"csv", "d.csv", "\uFEFFid,Text,title\n1,\"multi\nline\",T\n2,\"bad\"quote\",x\n3," + long + ",L\n4,\"\",e\n",
			[]string{"multi\nline", long}, "T", []string{ReasonInvalidFormat, ReasonEmpty}},
		{"csv without text column", "q.csv", "question,answer\nwhat,why\n", nil, "", []string{ReasonInvalidFormat}},
		{"empty jsonl", "z.jsonl", "\n\n", nil, "", []string{ReasonEmpty}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, tc.file, tc.content)
			_, docs, rejected := runCollect(t, Source{Path: dir})

			if len(docs) != len(tc.wantTexts) {
				t.Fatalf("got %d documents, want %d: %+v", len(docs), len(tc.wantTexts), docs)
			}
			for i, want := range tc.wantTexts {
				if docs[i].Text != want {
					t.Errorf("doc %d text:\ngot  %q\nwant %q", i, docs[i].Text, want)
				}
				if docs[i].ID != corpus.HashText(want) {
					t.Errorf("doc %d id: got %s, want HashText of the text", i, docs[i].ID)
				}
				if docs[i].Source != "local" || docs[i].Domain != "legal" || docs[i].RawSHA256 == "" || docs[i].CollectedAt.IsZero() {
					t.Errorf("doc %d provenance incomplete: %+v", i, docs[i])
				}
			}
			if len(docs) > 0 && docs[0].Title != tc.wantTitle {
				t.Errorf("title: got %q, want %q", docs[0].Title, tc.wantTitle)
			}
			var reasons []string
			for _, r := range rejected {
				reasons = append(reasons, r.Reason)
				if !strings.Contains(r.Detail, path) {
					t.Errorf("rejected detail %q does not name %s", r.Detail, path)
				}
			}
			if got, want := strings.Join(reasons, ","), strings.Join(tc.wantRejected, ","); got != want {
				t.Errorf("rejected reasons: got %q, want %q", got, want)
			}
		})
	}
}

func TestJSONLRecordFields(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "d.jsonl", "{\"text\":\"one\",\"url\":\"https://example.org/1\",\"id\":\"r1\",\"license\":\"CC-BY-4.0\",\"court\":\"IL\"}\nbad\n")
	_, docs, rejected := runCollect(t, Source{Path: dir})
	if len(docs) != 1 || len(rejected) != 1 {
		t.Fatalf("got %d docs and %d rejected, want 1 and 1", len(docs), len(rejected))
	}
	d := docs[0]
	checks := []struct{ name, got, want string }{
		{"url", d.URL, "https://example.org/1"},
		{"license", d.License, "CC-BY-4.0"},
		{"record_id", d.Meta["record_id"], "r1"},
		{"record", d.Meta["record"], "1"},
		{"court", d.Meta["court"], "IL"},
		{"raw_sha256", d.RawSHA256, corpus.HashText(`{"text":"one","url":"https://example.org/1","id":"r1","license":"CC-BY-4.0","court":"IL"}`)},
		{"rejected record", rejected[0].Meta["record"], "2"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestLicenseDetection(t *testing.T) {
	dep5 := `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: demo
License: GPL-2+

Files: *
Copyright: 2000 A
License: GPL-2+

Files: lib/*
Copyright: 2001 B
License: LGPL-2.1+ or Expat

Files: doc/*
License: public-domain

License: GPL-2+
 The full text.
`
	cases := []struct {
		name, path, text, want string
	}{
		{"spdx line", "/x/main.c", "/* SPDX-License-Identifier: Apache-2.0 */\nint x;", "Apache-2.0"},
		{"dep5 several", "/usr/share/doc/demo/copyright", dep5, "GPL-2.0-or-later AND (LGPL-2.1-or-later OR MIT) AND LicenseRef-public-domain"},
		{"dep5 exception", "/c", "Format: http://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+ with OpenSSL exception\n", "GPL-2.0-or-later WITH AdditionRef-OpenSSL-exception"},
		{"dep5 bsd", "/c", "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: BSD-3-clause\n", "BSD-3-Clause"},
		{"common license", "/usr/share/common-licenses/GPL-2", "GNU GENERAL PUBLIC LICENSE", "GPL-2.0-only"},
		{"common license unversioned", "/usr/share/common-licenses/LGPL", "text", "LGPL-3.0-only"},
		{"free-form copyright", "/usr/share/doc/x/copyright", "This package is GPL.\nLicense: GPL\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := detectLicense(tc.path, tc.text); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSourceLicenseFallback(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.txt", "plain text")
	_, docs, _ := runCollect(t, Source{Path: dir, License: "CC0-1.0"})
	if got := docs[0].License; got != "CC0-1.0" {
		t.Errorf("with source license: got %q, want CC0-1.0", got)
	}
	_, docs, _ = runCollect(t, Source{Path: dir})
	if got := docs[0].License; got != Unknown {
		t.Errorf("without source license: got %q, want %q", got, Unknown)
	}
}

func TestIncludeExcludeAndSymlinks(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "pkg1/copyright", "one")
	writeFile(t, dir, "pkg1/changelog", "skip")
	writeFile(t, dir, "pkg2/copyright", "two")
	writeFile(t, dir, "pkg2/sub/copyright", "too deep")
	os.Symlink("pkg1", filepath.Join(dir, "pkg3"))                   // link to a folder
	os.Symlink(".", filepath.Join(dir, "pkg2", "loop"))              // link to its own folder
	os.Symlink("missing", filepath.Join(dir, "pkg4"))                // dangling link
	os.Symlink("../pkg2/copyright", filepath.Join(dir, "pkg1", "x")) // link to a file

	_, docs, rejected := runCollect(t, Source{Path: dir, Include: []string{"*/copyright", "pkg1/x", "pkg4", "*/loop"}})
	var texts []string
	for _, d := range docs {
		texts = append(texts, d.Text)
	}
	if got, want := strings.Join(texts, ","), "one,two,two,one"; got != want {
		t.Errorf("texts: got %q, want %q", got, want)
	}
	var details []string
	for _, r := range rejected {
		if r.Reason != ReasonUnreadable {
			t.Errorf("reason: got %q, want %q", r.Reason, ReasonUnreadable)
		}
		details = append(details, r.Detail)
	}
	if len(rejected) != 2 || !strings.Contains(details[0], "loop") || !strings.Contains(details[1], "pkg4") {
		t.Errorf("rejected: got %q, want a loop and the dangling pkg4", details)
	}
}

func TestUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files without read permission")
	}
	dir := t.TempDir()
	path := writeFile(t, dir, "secret.txt", "x")
	os.Chmod(path, 0)
	_, _, rejected := runCollect(t, Source{Path: dir})
	if len(rejected) != 1 || rejected[0].Reason != ReasonUnreadable {
		t.Errorf("got %+v, want one unreadable row", rejected)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		opts Options
		want error
	}{
		{"missing source", Options{Sources: []Source{{Path: filepath.Join(dir, "nope")}}, OutDir: filepath.Join(dir, "out")}, ErrSourceNotFound},
		{"no sources", Options{OutDir: filepath.Join(dir, "out")}, ErrInvalidOptions},
		{"web kind", Options{Sources: []Source{{Kind: "web", Path: dir}}, OutDir: filepath.Join(dir, "out")}, ErrInvalidOptions},
		{"bad glob", Options{Sources: []Source{{Path: dir, Include: []string{"["}}}, OutDir: filepath.Join(dir, "out")}, ErrInvalidOptions},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.opts)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if _, statErr := os.Stat(tc.opts.OutDir); statErr == nil {
				t.Errorf("output folder %s exists after a failed run", tc.opts.OutDir)
			}
		})
	}
}

func TestFailedRunLeavesOutputUnchanged(t *testing.T) {
	src := t.TempDir()
	writeFile(t, src, "a.txt", "a")
	out := filepath.Join(t.TempDir(), "collect")
	if _, err := Run(context.Background(), Options{Sources: []Source{{Path: src}}, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(out, corpus.ManifestName))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	writeFile(t, src, "b.txt", "b")
	if _, err := Run(ctx, Options{Sources: []Source{{Path: src}}, OutDir: out}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: got %v, want context.Canceled", err)
	}
	after, _ := os.ReadFile(filepath.Join(out, corpus.ManifestName))
	if string(before) != string(after) {
		t.Error("a failed run changed the previous output")
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("workspace has %d entries, want only collect/ (no temporary folder)", len(entries))
	}
}

func TestDebianLegalText(t *testing.T) {
	for _, p := range []string{"/usr/share/common-licenses", "/usr/share/doc"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s not present: %v", p, err)
		}
	}
	m, docs, rejected := runCollect(t,
		Source{Path: "/usr/share/common-licenses"},
		Source{Path: "/usr/share/doc", Include: []string{"*/copyright"}},
	)
	if len(docs) < 10 {
		t.Fatalf("got %d documents, want at least the common licenses", len(docs))
	}
	byPath := map[string]corpus.Document{}
	known := 0
	for _, d := range docs {
		byPath[d.URL] = d
		if d.License != Unknown {
			known++
		}
	}
	if got := byPath["/usr/share/common-licenses/GPL-2"].License; got != "GPL-2.0-only" {
		t.Errorf("GPL-2 license: got %q, want GPL-2.0-only", got)
	}
	if got := byPath["/usr/share/common-licenses/Apache-2.0"].License; got != "Apache-2.0" {
		t.Errorf("Apache-2.0 license: got %q, want Apache-2.0", got)
	}
	t.Logf("%d documents (%d with a known license), %d rejected, %.0f bytes in %.2f s",
		len(docs), known, len(rejected), m.Stats["bytes_in"], m.Stats["seconds"])
	if known*2 < len(docs) {
		t.Errorf("only %d of %d documents have a known license", known, len(docs))
	}
}

func TestSharedLegalData(t *testing.T) {
	dir := sharedtest.Dir(t, "data", "legal")
	m, docs, rejected := runCollect(t, Source{Path: dir})
	reasons := map[string]int{}
	for _, r := range rejected {
		reasons[r.Reason]++
	}
	t.Logf("%d documents, rejected by reason %v, counts %+v", len(docs), reasons, m.Counts)
	licenses := map[string]int{}
	for _, d := range docs {
		if d.Meta["format"] == formatJSONL && strings.HasSuffix(d.Meta["path"], "debian_copyright_unique.jsonl") {
			licenses[d.License]++
		}
	}
	if licenses[Unknown] > 0 && len(licenses) < 5 {
		t.Errorf("Debian copyright records: licenses %v, want mostly known ones", licenses)
	}
	if len(docs) < 500 {
		t.Errorf("got %d documents, want at least the 510 Debian copyright records", len(docs))
	}
}

func BenchmarkCollectDebian(b *testing.B) {
	if _, err := os.Stat("/usr/share/doc"); err != nil {
		b.Skip("/usr/share/doc not present")
	}
	var bytesIn float64
	for b.Loop() {
		m, _, _ := runCollect(b, Source{Path: "/usr/share/common-licenses"}, Source{Path: "/usr/share/doc", Include: []string{"*/copyright"}})
		bytesIn = m.Stats["bytes_in"]
	}
	b.SetBytes(int64(bytesIn))
}
