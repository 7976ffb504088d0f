package collect

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// clServer serves the CourtListener fixtures and records each request's
// URI and Authorization header.
type clServer struct {
	*httptest.Server
	mu    sync.Mutex
	uris  []string
	auths []string
	// nextHost, when set, replaces the host of "next" links.
	nextHost string
}

func newCLServer(t *testing.T) *clServer {
	s := &clServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.uris = append(s.uris, r.URL.RequestURI())
		s.auths = append(s.auths, r.Header.Get("Authorization"))
		s.mu.Unlock()
		base := "http://" + r.Host
		w.Header().Set("Content-Type", "application/json")
		q := r.URL.Query()
		switch {
		case r.URL.Path == "/api/rest/v4/opinions/" && q.Get("cursor") == "":
			page := readFixture(t, "courtlistener/opinions-page1.json", base)
			if s.nextHost != "" {
				page = []byte(strings.Replace(string(page), `"next":"`+base, `"next":"`+s.nextHost, 1))
			}
			w.Write(page)
		case r.URL.Path == "/api/rest/v4/opinions/":
			w.Write(readFixture(t, "courtlistener/opinions-page2.json", base))
		case r.URL.Path == "/api/rest/v4/search/":
			w.Write(readFixture(t, "courtlistener/search.json", base))
		case r.URL.Path == "/api/rest/v4/opinions/9950001/":
			// The detail view returns the same object as the list.
			page, err := parseCLPage(readFixture(t, "courtlistener/opinions-page1.json", base))
			if err != nil {
				t.Error(err)
			}
			w.Write(page.Results[0])
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestCourtListenerOpinionsPages(t *testing.T) {
	t.Setenv("TEST_CL_TOKEN", "tok123")
	srv := newCLServer(t)
	src := Source{Kind: KindCourtListener, License: "LicenseRef-public-domain", RemoteSource: RemoteSource{
		BaseURL: srv.URL, TokenEnv: "TEST_CL_TOKEN", AllowLoopback: true,
		Params: map[string]string{"cluster__docket__court": "scotus"},
	}}
	_, docs, rejected := runRemote(t, newFakeClock(), src)

	wantURIs := []string{
		"/api/rest/v4/opinions/?cluster__docket__court=scotus",
		"/api/rest/v4/opinions/?cluster__docket__court=scotus&cursor=cD0yMDI0LTA2LTEz",
	}
	if strings.Join(srv.uris, " ") != strings.Join(wantURIs, " ") {
		t.Errorf("requests:\ngot  %v\nwant %v", srv.uris, wantURIs)
	}
	for _, a := range srv.auths {
		if a != "Token tok123" {
			t.Errorf("Authorization: got %q, want \"Token tok123\"", a)
		}
	}

	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2", len(docs))
	}
	plain, html := docs[0], docs[1]
	if plain.Text != "SUPREME COURT OF THE UNITED STATES\n\nSMITH v. JONES\n\nThe judgment of the Court of Appeals is affirmed." {
		t.Errorf("plain_text document: got %q", plain.Text)
	}
	if plain.Meta["text_field"] != "plain_text" || plain.Meta["opinion_id"] != "9950001" || plain.Meta["author"] != "Roberts" ||
		plain.Meta["cluster_id"] != "9900001" || plain.Meta["opinion_type"] != "010combined" {
		t.Errorf("plain_text document meta: got %v", plain.Meta)
	}
	if plain.URL != srv.URL+"/opinion/9900001/smith-v-jones/" || plain.License != "LicenseRef-public-domain" {
		t.Errorf("got URL %q license %q", plain.URL, plain.License)
	}
	wantHTML := "Justice KAGAN delivered the opinion of the Court.\n\nWe hold that 410 U.S. 113 controls."
	if html.Text != wantHTML || html.Meta["text_field"] != "html_with_citations" {
		t.Errorf("html document: got %q from %q, want %q from html_with_citations", html.Text, html.Meta["text_field"], wantHTML)
	}
	if len(rejected) != 1 || rejected[0].Reason != ReasonEmpty || rejected[0].Meta["opinion_id"] != "9950003" {
		t.Errorf("rejected: got %+v, want opinion 9950003 as empty", rejected)
	}
}

func TestCourtListenerSearch(t *testing.T) {
	t.Setenv("TEST_CL_TOKEN_UNSET", "")
	srv := newCLServer(t)
	src := Source{Kind: KindCourtListener, RemoteSource: RemoteSource{
		BaseURL: srv.URL + "/", Query: "qualified immunity", TokenEnv: "TEST_CL_TOKEN_UNSET", AllowLoopback: true,
	}}
	_, docs, _ := runRemote(t, newFakeClock(), src)
	wantURIs := []string{"/api/rest/v4/search/?q=qualified+immunity&type=o", "/api/rest/v4/opinions/9950001/"}
	if strings.Join(srv.uris, " ") != strings.Join(wantURIs, " ") {
		t.Errorf("requests:\ngot  %v\nwant %v", srv.uris, wantURIs)
	}
	if srv.auths[0] != "" {
		t.Errorf("Authorization sent without a token: %q", srv.auths[0])
	}
	if len(docs) != 1 || docs[0].Title != "Smith v. Jones" || docs[0].Meta["court"] != "Supreme Court of the United States" ||
		docs[0].Meta["date_filed"] != "2024-06-14" {
		t.Errorf("got %d documents, first %+v; want Smith v. Jones with court and date", len(docs), docs)
	}
}

func TestCourtListenerMaxDocuments(t *testing.T) {
	srv := newCLServer(t)
	src := Source{Kind: KindCourtListener, RemoteSource: RemoteSource{BaseURL: srv.URL, AllowLoopback: true, MaxDocuments: 1}}
	_, docs, _ := runRemote(t, newFakeClock(), src)
	if len(docs) != 1 || len(srv.uris) != 1 {
		t.Errorf("got %d documents after %d requests, want 1 after 1", len(docs), len(srv.uris))
	}
}

func TestCourtListenerNextLinkOffHost(t *testing.T) {
	srv := newCLServer(t)
	srv.nextHost = "http://localhost:1"
	src := Source{Kind: KindCourtListener, RemoteSource: RemoteSource{BaseURL: srv.URL, AllowLoopback: true}}
	_, err := Run(t.Context(), Options{Sources: []Source{src}, OutDir: filepath.Join(t.TempDir(), "c"), clock: newFakeClock()})
	if !errors.Is(err, ErrAPIResponse) || !strings.Contains(err.Error(), "leaves") {
		t.Errorf("got error %v, want ErrAPIResponse about a next link that leaves the host", err)
	}
	if len(srv.uris) != 1 {
		t.Errorf("requests: got %v, want only the first page", srv.uris)
	}
}

func TestCourtListenerUnauthorized(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"detail":"Authentication credentials were not provided."}`))
	}))
	defer srv.Close()
	src := Source{Kind: KindCourtListener, RemoteSource: RemoteSource{BaseURL: srv.URL, AllowLoopback: true, TokenEnv: "TEST_CL_NONE"}}
	_, err := Run(t.Context(), Options{Sources: []Source{src}, OutDir: filepath.Join(t.TempDir(), "c"), clock: newFakeClock()})
	if !errors.Is(err, ErrAPIResponse) || !strings.Contains(err.Error(), "set TEST_CL_NONE") {
		t.Errorf("got error %v, want ErrAPIResponse naming the token variable", err)
	}
}

func FuzzParseCourtListener(f *testing.F) {
	for _, name := range []string{"opinions-page1.json", "search.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "courtlistener", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"next":null,"results":[{"id":"x","plain_text":1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		page, err := parseCLPage(data)
		if err != nil {
			parseCLOpinion(data)
			return
		}
		for _, raw := range page.Results {
			if o, err := parseCLOpinion(raw); err == nil {
				o.text()
			}
		}
	})
}
