package collect

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// siteServer serves a small site and records which paths were requested
// and when (on the fake clock).
type siteServer struct {
	*httptest.Server
	clk   *fakeClock
	mu    sync.Mutex
	log   []string
	times map[string]time.Time
	agent string
}

func newSiteServer(t *testing.T, clk *fakeClock, pages map[string]func(w http.ResponseWriter, base string)) *siteServer {
	s := &siteServer{clk: clk, times: map[string]time.Time{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.log = append(s.log, r.URL.RequestURI())
		s.times[r.URL.RequestURI()] = clk.Now()
		s.agent = r.Header.Get("User-Agent")
		s.mu.Unlock()
		page, ok := pages[r.URL.RequestURI()]
		if !ok {
			http.NotFound(w, r)
			return
		}
		page(w, "http://"+r.Host)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *siteServer) requested(path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.log, path)
}

func htmlPage(body string) func(http.ResponseWriter, string) {
	return func(w http.ResponseWriter, base string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, strings.ReplaceAll(body, "{{BASE}}", base))
	}
}

func TestCrawlWebSite(t *testing.T) {
	clk := newFakeClock()
	pages := map[string]func(http.ResponseWriter, string){
		"/robots.txt": func(w http.ResponseWriter, base string) {
			fmt.Fprintf(w, "User-agent: *\nDisallow: /\n\nUser-agent: adapt\nDisallow: /private\nAllow: /private/ok$\nCrawl-delay: 2\n\nSitemap: %s/sitemap_index.xml\n", base)
		},
		"/sitemap_index.xml": func(w http.ResponseWriter, base string) {
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>%[1]s/sitemap-pages.xml</loc><lastmod>2024-01-01</lastmod></sitemap>
  <sitemap><loc>%[1]s/sitemap-old.xml.gz</loc></sitemap>
</sitemapindex>`, base)
		},
		"/sitemap-pages.xml": func(w http.ResponseWriter, base string) {
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>%[1]s/from-sitemap</loc><changefreq>weekly</changefreq></url>
  <url><loc>http://localhost:1/off-host-in-sitemap</loc></url>
</urlset>`, base)
		},
		"/sitemap-old.xml.gz": func(w http.ResponseWriter, base string) {
			w.Header().Set("Content-Type", "application/gzip")
			zw := gzip.NewWriter(w)
			fmt.Fprintf(zw, `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>%s/from-gz-sitemap</loc></url></urlset>`, base)
			zw.Close()
		},
		"/": htmlPage(`<html><head><title>Home</title></head><body>
<nav><a href="/nav-only">Menu</a> Navigation text</nav>
<header>Site header</header>
<main><h1>Welcome</h1><p>First paragraph.</p><ul><li>one</li><li>two</li></ul>
<table><tr><th>Name</th><th>Value</th></tr><tr><td>a</td><td>1</td></tr></table>
<p>Line<br>break</p>
<a href="/page2#frag">next</a> <a href="page2">dup</a> <a href="/private/secret">s</a> <a href="/private/ok">ok</a>
<a href="http://localhost:1/elsewhere">off host</a> <a href="/file.pdf">pdf</a> <a href="/big">big</a>
<a href="/missing">missing</a> <a href="/moved">moved</a> <a href="/plain.txt">plain</a> <a href="/nofollow" rel="nofollow">nf</a>
<a href="mailto:x@example.com">mail</a></main>
<footer>Copyright footer</footer><script>var hidden = 1;</script></body></html>`),
		"/nav-only":        htmlPage(`<p>Nav target</p>`),
		"/page2":           htmlPage(`<html><head><meta name="robots" content="noindex"></head><body><p>Not indexed</p><a href="/deep">deeper</a></body></html>`),
		"/deep":            htmlPage(`<p>Deep page.</p><a href="/deeper">deeper</a>`),
		"/deeper":          htmlPage(`<p>Too deep.</p>`),
		"/private/ok":      htmlPage(`<p>Allowed private page.</p>`),
		"/private/secret":  htmlPage(`<p>Secret.</p>`),
		"/from-sitemap":    htmlPage(`<p>Listed in the sitemap. SPDX-License-Identifier: CC-BY-4.0</p>`),
		"/from-gz-sitemap": htmlPage(`<p>Listed in the gzip sitemap.</p>`),
		"/file.pdf": func(w http.ResponseWriter, base string) {
			w.Header().Set("Content-Type", "application/pdf")
			w.Write([]byte("%PDF-1.7"))
		},
		"/big": htmlPage("<p>" + strings.Repeat("big ", 1000) + "</p>"),
		"/plain.txt": func(w http.ResponseWriter, base string) {
			w.Header().Set("Content-Type", "text/plain; charset=iso-8859-1")
			w.Write([]byte("Plain caf\xe9 text."))
		},
		"/nofollow": htmlPage(`<p>Should not be crawled.</p>`),
		"/moved": func(w http.ResponseWriter, base string) {
			w.Header().Set("Location", "http://localhost:1/away")
			w.WriteHeader(http.StatusFound)
		},
	}
	srv := newSiteServer(t, clk, pages)

	src := Source{Kind: KindWeb, License: "LicenseRef-test", RemoteSource: RemoteSource{
		Seeds: []string{srv.URL + "/"}, AllowLoopback: true, MaxDepth: 2, MaxBytes: 2000,
		RequestsPerSecond: 100, UserAgent: "adapt/1.0 (tester@example.com)",
	}}
	m, docs, rejected := runRemote(t, clk, src)

	// Documents kept, by URL path.
	byPath := map[string]string{}
	for _, d := range docs {
		u, _ := url.Parse(d.URL)
		byPath[u.Path] = d.Text
		if d.Source != KindWeb || d.HTTPStatus != 200 || d.RawSHA256 == "" || d.Meta["fetched_at"] == "" {
			t.Errorf("%s: provenance source %q status %d raw %q fetched_at %q", d.URL, d.Source, d.HTTPStatus, d.RawSHA256, d.Meta["fetched_at"])
		}
	}
	var gotPaths []string
	for p := range byPath {
		gotPaths = append(gotPaths, p)
	}
	slices.Sort(gotPaths)
	// Links inside <nav> are followed although its text is dropped.
	wantPaths := []string{"/", "/deep", "/from-gz-sitemap", "/from-sitemap", "/nav-only", "/plain.txt", "/private/ok"}
	if !reflect.DeepEqual(gotPaths, wantPaths) {
		t.Errorf("kept pages: got %v, want %v", gotPaths, wantPaths)
	}

	// Text of the home page: block structure kept, page chrome dropped.
	wantHome := "Welcome\nFirst paragraph.\n\none\ntwo\nName\tValue\na\t1\nLine\nbreak"
	if home := byPath["/"]; !strings.HasPrefix(home, wantHome) {
		t.Errorf("home text:\ngot  %q\nwant prefix %q", home, wantHome)
	}
	for _, gone := range []string{"Navigation", "Site header", "footer", "hidden"} {
		if strings.Contains(byPath["/"], gone) {
			t.Errorf("home text contains %q, which should be dropped:\n%s", gone, byPath["/"])
		}
	}
	if got, want := byPath["/plain.txt"], "Plain café text."; got != want {
		t.Errorf("latin-1 text: got %q, want %q", got, want)
	}

	// Licenses: the SPDX line, else the source setting.
	for _, d := range docs {
		want := "LicenseRef-test"
		if strings.HasSuffix(d.URL, "/from-sitemap") {
			want = "CC-BY-4.0"
		}
		if d.License != want {
			t.Errorf("%s: license %q, want %q", d.URL, d.License, want)
		}
	}

	// Rejected rows, by reason.
	reasons := map[string]string{}
	for _, r := range rejected {
		u, _ := url.Parse(r.URL)
		reasons[u.Path] = r.Reason
	}
	wantReasons := map[string]string{
		"/file.pdf": ReasonContentType, "/big": ReasonTooLarge, "/missing": ReasonHTTPStatus, "/moved": ReasonFetchError,
	}
	if !reflect.DeepEqual(reasons, wantReasons) {
		t.Errorf("rejected: got %v, want %v", reasons, wantReasons)
	}

	// Never requested: robots-disallowed, off-host, nofollow, too deep.
	for _, path := range []string{"/private/secret", "/nofollow", "/deeper", "/elsewhere"} {
		if srv.requested(path) {
			t.Errorf("%s was requested", path)
		}
	}
	if got := m.Stats["robots_disallowed"]; got != 1 {
		t.Errorf("robots_disallowed: got %v, want 1", got)
	}
	if got := m.Stats["noindex"]; got != 1 {
		t.Errorf("noindex: got %v, want 1", got)
	}
	if srv.agent != src.UserAgent {
		t.Errorf("User-Agent: got %q, want %q", srv.agent, src.UserAgent)
	}

	// Crawl-delay: 2 s between requests to the host after robots.txt.
	srv.mu.Lock()
	defer srv.mu.Unlock()
	var prev time.Time
	for i, path := range srv.log {
		at := srv.times[path]
		if i > 1 && at.Sub(prev) < 2*time.Second {
			t.Errorf("request %d (%s) came %v after the previous one, want at least the 2s crawl delay", i, path, at.Sub(prev))
		}
		prev = at
	}
}

func TestCrawlWebMaxDocuments(t *testing.T) {
	clk := newFakeClock()
	pages := map[string]func(http.ResponseWriter, string){
		"/":  htmlPage(`<p>root</p><a href="/a">a</a><a href="/b">b</a><a href="/c">c</a>`),
		"/a": htmlPage(`<p>a</p>`), "/b": htmlPage(`<p>b</p>`), "/c": htmlPage(`<p>c</p>`),
	}
	srv := newSiteServer(t, clk, pages)
	src := Source{Kind: KindWeb, RemoteSource: RemoteSource{
		Seeds: []string{srv.URL + "/"}, AllowLoopback: true, MaxDocuments: 2, SkipSitemaps: true, RequestsPerSecond: 100,
	}}
	_, docs, _ := runRemote(t, clk, src)
	if len(docs) != 2 {
		t.Errorf("got %d documents, want 2 (max_documents)", len(docs))
	}
	if srv.requested("/sitemap.xml") {
		t.Error("sitemap.xml requested with skip_sitemaps")
	}
	if srv.requested("/b") || srv.requested("/c") {
		t.Errorf("requests after the page cap: %v", srv.log)
	}
}

func TestCrawlWebNegativeDepthSeedsOnly(t *testing.T) {
	clk := newFakeClock()
	pages := map[string]func(http.ResponseWriter, string){
		"/": htmlPage(`<p>root</p><a href="/a">a</a>`), "/a": htmlPage(`<p>a</p>`),
	}
	srv := newSiteServer(t, clk, pages)
	src := Source{Kind: KindWeb, RemoteSource: RemoteSource{
		Seeds: []string{srv.URL + "/"}, AllowLoopback: true, MaxDepth: -1, SkipSitemaps: true, RequestsPerSecond: 100,
	}}
	_, docs, _ := runRemote(t, clk, src)
	if len(docs) != 1 || srv.requested("/a") {
		t.Errorf("got %d documents, /a requested %v; want only the seed", len(docs), srv.requested("/a"))
	}
}

func TestCrawlWebRobotsServerErrorDisallowsAll(t *testing.T) {
	clk := newFakeClock()
	var robotsHits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			robotsHits.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		t.Errorf("request to %s although robots.txt failed", r.URL.Path)
	}))
	defer srv.Close()
	src := Source{Kind: KindWeb, RemoteSource: RemoteSource{
		Seeds: []string{srv.URL + "/"}, AllowLoopback: true, MaxRetries: 2, RequestsPerSecond: 100,
	}}
	m, docs, rejected := runRemote(t, clk, src)
	if len(docs)+len(rejected) != 0 {
		t.Errorf("got %d documents and %d rejected rows, want none", len(docs), len(rejected))
	}
	if got := robotsHits.Load(); got != 3 {
		t.Errorf("robots.txt requests: got %d, want 3 (1 + 2 retries)", got)
	}
	if m.Stats["robots_disallowed"] != 1 {
		t.Errorf("robots_disallowed: got %v, want 1", m.Stats["robots_disallowed"])
	}
}

func TestCrawlWebLoopbackRefused(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()

	out := filepath.Join(t.TempDir(), "collect")
	src := Source{Kind: KindWeb, RemoteSource: RemoteSource{Seeds: []string{srv.URL + "/"}}}
	_, err := Run(context.Background(), Options{Sources: []Source{src}, OutDir: out, clock: newFakeClock()})
	if !errors.Is(err, ErrAddressRefused) {
		t.Fatalf("Run: got error %v, want ErrAddressRefused", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1 is a loopback address") {
		t.Errorf("error %q does not name the refused address", err)
	}
	if hits.Load() != 0 {
		t.Errorf("server got %d requests, want 0", hits.Load())
	}
}

func TestDecodeTextBody(t *testing.T) {
	cases := []struct {
		contentType, body string
		wantType, wantErr string
		wantBody          string
	}{
		{"text/html; charset=UTF-8", "<p>é</p>", "text/html", "", "<p>é</p>"},
		{"application/xhtml+xml", "<p>x</p>", "text/html", "", "<p>x</p>"},
		{"text/plain", "plain", "text/plain", "", "plain"},
		{"text/plain; charset=windows-1252", "\x93q\x94", "text/plain", "", "\u201cq\u201d"},
		{"text/html", `<meta charset="iso-8859-1"><p>caf` + "\xe9", "text/html", "", `<meta charset="iso-8859-1"><p>café`},
		{"", "<!DOCTYPE html><p>sniffed</p>", "text/html", "", "<!DOCTYPE html><p>sniffed</p>"},
		{"application/pdf", "%PDF", "", "media type application/pdf is not collected", ""},
		{"image/png", "x", "", "media type image/png", ""},
		{"text/html; charset", "x", "", "invalid Content-Type", ""},
	}
	for _, tc := range cases {
		t.Run(tc.contentType, func(t *testing.T) {
			resp := &response{Header: http.Header{}, Body: []byte(tc.body)}
			if tc.contentType != "" {
				resp.Header.Set("Content-Type", tc.contentType)
			}
			mediaType, body, err := decodeTextBody(resp)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || mediaType != tc.wantType || string(body) != tc.wantBody {
				t.Errorf("got %q, %q, %v; want %q, %q", mediaType, body, err, tc.wantType, tc.wantBody)
			}
		})
	}
}

func TestHTMLLinks(t *testing.T) {
	page, _ := url.Parse("http://127.0.0.1:8000/dir/page.html")
	cases := []struct {
		name, html string
		want       []string
		noindex    bool
		nofollow   bool
	}{
		{"relative and absolute", `<a href="a.html">a</a><a href="/b">b</a><a href="http://127.0.0.1:9/c">c</a>`,
			[]string{"http://127.0.0.1:8000/dir/a.html", "http://127.0.0.1:8000/b", "http://127.0.0.1:9/c"}, false, false},
		{"base href", `<base href="http://127.0.0.1:8000/other/"><a href="x">x</a>`, []string{"http://127.0.0.1:8000/other/x"}, false, false},
		{"rel nofollow skipped", `<a rel="external nofollow" href="/n">n</a><area href="/m">`, []string{"http://127.0.0.1:8000/m"}, false, false},
		{"meta robots", `<meta name="ROBOTS" content="noindex, nofollow"><a href="/x">x</a>`, []string{"http://127.0.0.1:8000/x"}, true, true},
		{"meta robots none", `<meta name="robots" content="none">`, nil, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			links, noindex, nofollow := htmlLinks([]byte(tc.html), page)
			if !reflect.DeepEqual(links, tc.want) || noindex != tc.noindex || nofollow != tc.nofollow {
				t.Errorf("got %v noindex %v nofollow %v; want %v, %v, %v", links, noindex, nofollow, tc.want, tc.noindex, tc.nofollow)
			}
		})
	}
}

func TestParseSitemap(t *testing.T) {
	cases := []struct {
		name, xml       string
		pages, children []string
	}{
		{"urlset", `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc> http://127.0.0.1/a </loc></url><url><lastmod>2024</lastmod></url></urlset>`,
			[]string{"http://127.0.0.1/a"}, nil},
		{"index", `<sitemapindex><sitemap><loc>http://127.0.0.1/s.xml</loc></sitemap></sitemapindex>`, nil, []string{"http://127.0.0.1/s.xml"}},
		{"entity", `<urlset><url><loc>http://127.0.0.1/?a=1&amp;b=2</loc></url></urlset>`, []string{"http://127.0.0.1/?a=1&b=2"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sm, err := parseSitemap([]byte(tc.xml))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sm.pages, tc.pages) || !reflect.DeepEqual(sm.children, tc.children) {
				t.Errorf("got pages %v children %v; want %v, %v", sm.pages, sm.children, tc.pages, tc.children)
			}
		})
	}
}
