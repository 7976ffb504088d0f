package collect

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

// pubmedServer serves esearch and efetch from the testdata fixtures and
// records the query of every request.
type pubmedServer struct {
	*httptest.Server
	mu      sync.Mutex
	queries []url.Values
}

func newPubMedServer(t *testing.T) *pubmedServer {
	s := &pubmedServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		s.mu.Lock()
		s.queries = append(s.queries, q)
		s.mu.Unlock()
		switch r.URL.Path {
		case "/eutils/esearch.fcgi":
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			w.Write(readFixture(t, "pubmed/esearch.json", ""))
		case "/eutils/efetch.fcgi":
			w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
			switch {
			case q.Has("id") || q.Get("retstart") == "0":
				w.Write(readFixture(t, "pubmed/efetch-page1.xml", ""))
			case q.Get("retstart") == "2":
				w.Write(readFixture(t, "pubmed/efetch-page2.xml", ""))
			default:
				w.Write([]byte(`<?xml version="1.0" ?><eFetchResult><ERROR>Empty result - nothing to do</ERROR></eFetchResult>`))
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestPubMedQueryPages(t *testing.T) {
	t.Setenv("TEST_NCBI_KEY", "secret-key")
	srv := newPubMedServer(t)
	clk := newFakeClock()
	src := Source{Kind: KindPubMed, RemoteSource: RemoteSource{
		BaseURL: srv.URL + "/eutils", Query: "asthma", PageSize: 2, TokenEnv: "TEST_NCBI_KEY",
		AllowLoopback: true, RequestsPerSecond: 50,
	}}
	m, docs, rejected := runRemote(t, clk, src)

	// Requests: esearch, then efetch pages at retstart 0 and 2.
	if len(srv.queries) != 3 {
		t.Fatalf("got %d requests, want 3: %v", len(srv.queries), srv.queries)
	}
	search := srv.queries[0]
	for key, want := range map[string]string{"db": "pubmed", "term": "asthma", "retmode": "json", "usehistory": "y", "api_key": "secret-key"} {
		if got := search.Get(key); got != want {
			t.Errorf("esearch %s: got %q, want %q", key, got, want)
		}
	}
	for i, start := range []string{"0", "2"} {
		q := srv.queries[i+1]
		if q.Get("retstart") != start || q.Get("WebEnv") != "MCID_6750f2a1c4b5d8e9f0a1b2c3" || q.Get("query_key") != "1" || q.Get("retmode") != "xml" {
			t.Errorf("efetch %d: got query %v, want retstart %s with the WebEnv and query_key of esearch", i, q, start)
		}
	}

	// Documents.
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2", len(docs))
	}
	first := docs[0]
	wantText := "Inhaled corticosteroid adherence in children with persistent asthma.\n\n" +
		"BACKGROUND: Adherence to inhaled corticosteroids (ICS) is often poor.\n\n" +
		"METHODS: We followed 412 children for 12 months using electronic monitors.\n\n" +
		"RESULTS: Median adherence was 48%; FEV1 improved with adherence >75%."
	if first.Text != wantText {
		t.Errorf("text:\ngot  %q\nwant %q", first.Text, wantText)
	}
	wantMeta := map[string]string{
		"pmid": "31000001", "journal": "The Journal of allergy and clinical immunology", "year": "2019",
		"mesh": "Administration, Inhalation; Asthma; Child",
	}
	for k, want := range wantMeta {
		if got := first.Meta[k]; got != want {
			t.Errorf("meta %s: got %q, want %q", k, got, want)
		}
	}
	if first.URL != "https://pubmed.ncbi.nlm.nih.gov/31000001/" || first.Source != KindPubMed || first.License != Unknown {
		t.Errorf("got URL %q source %q license %q", first.URL, first.Source, first.License)
	}
	if first.Title != "Inhaled corticosteroid adherence in children with persistent asthma." {
		t.Errorf("title: got %q", first.Title)
	}
	if got := docs[1].Meta["year"]; got != "1998" {
		t.Errorf("year from MedlineDate: got %q, want 1998", got)
	}
	if docs[0].RawSHA256 == docs[1].RawSHA256 {
		t.Error("two articles share a raw hash; want the hash of each article's XML")
	}

	// The record without abstract is rejected; the book record is counted.
	if len(rejected) != 1 || rejected[0].Reason != ReasonEmpty || rejected[0].Meta["pmid"] != "35000003" {
		t.Errorf("rejected: got %+v, want PMID 35000003 as empty", rejected)
	}
	if m.Stats["pubmed_skipped_records"] != 1 || m.Stats["pubmed_matches"] != 3 {
		t.Errorf("stats: got %v, want 1 skipped record and 3 matches", m.Stats)
	}
}

func TestPubMedRateLimit(t *testing.T) {
	cases := []struct {
		name, key string
		rate      float64
		want      time.Duration
	}{
		{"no key", "", 0, time.Second / 3},
		{"with key", "k", 0, time.Second / 10},
		{"above limit lowered", "", 50, time.Second / 3},
		{"below limit kept", "k", 2, time.Second / 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TEST_NCBI_RATE_KEY", tc.key)
			srv := newPubMedServer(t)
			clk := newFakeClock()
			src := Source{Kind: KindPubMed, RemoteSource: RemoteSource{
				BaseURL: srv.URL + "/eutils", IDs: []string{"31000001", "9800002"}, PageSize: 1,
				TokenEnv: "TEST_NCBI_RATE_KEY", AllowLoopback: true, RequestsPerSecond: tc.rate,
			}}
			runRemote(t, clk, src)
			// Two efetch requests: the second waits one interval.
			sleeps := clk.recorded()
			if len(sleeps) != 1 || sleeps[0] != tc.want {
				t.Errorf("waits: got %v, want [%v]", sleeps, tc.want)
			}
		})
	}
}

func TestPubMedIDsFetchedInOneBatch(t *testing.T) {
	srv := newPubMedServer(t)
	src := Source{Kind: KindPubMed, RemoteSource: RemoteSource{
		BaseURL: srv.URL + "/eutils", IDs: []string{"31000001", "9800002"}, AllowLoopback: true,
	}}
	_, docs, _ := runRemote(t, newFakeClock(), src)
	if len(srv.queries) != 1 || srv.queries[0].Get("id") != "31000001,9800002" {
		t.Errorf("requests: got %v, want one efetch with both ids", srv.queries)
	}
	if len(docs) != 2 {
		t.Errorf("got %d documents, want 2", len(docs))
	}
}

func TestPubMedErrorReply(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"header":{"type":"esearch","version":"0.3"},"esearchresult":{"ERROR":"Invalid query"}}`))
	}))
	defer srv.Close()
	src := Source{Kind: KindPubMed, RemoteSource: RemoteSource{BaseURL: srv.URL, Query: "(", AllowLoopback: true}}
	_, err := Run(t.Context(), Options{Sources: []Source{src}, OutDir: filepath.Join(t.TempDir(), "c"), clock: newFakeClock()})
	if !errors.Is(err, ErrAPIResponse) {
		t.Errorf("got error %v, want ErrAPIResponse", err)
	}
}

func TestParsePubMedXMLErrorElement(t *testing.T) {
	_, _, err := parsePubMedXML([]byte(`<eFetchResult><ERROR>Empty result</ERROR></eFetchResult>`))
	if err == nil {
		t.Error("got no error for an ERROR reply")
	}
}

func TestPubMedArticleFields(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "pubmed", "efetch-page1.xml"))
	if err != nil {
		t.Fatal(err)
	}
	articles, skipped, err := parsePubMedXML(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(articles) != 2 || skipped != 0 {
		t.Fatalf("got %d articles, %d skipped; want 2, 0", len(articles), skipped)
	}
	a := articles[1]
	got := []string{a.PMID, string(a.Title), a.Journal, a.year()}
	want := []string{"9800002", "Leukotriene modifiers in adult asthma.", "Annals of internal medicine", "1998"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if string(a.raw[:len("<PubmedArticle>")]) != "<PubmedArticle>" {
		t.Errorf("raw bytes start with %q, want the element's start tag", a.raw[:20])
	}
}

func FuzzParsePubMedXML(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "pubmed", "efetch-page1.xml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID></MedlineCitation></PubmedArticle></PubmedArticleSet>`))
	f.Add([]byte(`<eFetchResult><ERROR>x</ERROR></eFetchResult>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		articles, _, err := parsePubMedXML(data)
		if err != nil {
			return
		}
		for _, a := range articles {
			if len(a.raw) > len(data) {
				t.Errorf("raw has %d bytes, input %d", len(a.raw), len(data))
			}
			a.text()
			a.year()
		}
	})
}

func FuzzParseESearch(f *testing.F) {
	f.Add([]byte(`{"esearchresult":{"count":"3","querykey":"1","webenv":"W","idlist":["1"]}}`))
	f.Add([]byte(`{"error":"API rate limit exceeded"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseESearch(data)
	})
}
