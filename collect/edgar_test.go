package collect

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// edgarServer serves the submissions and archive fixtures of CIK 320193.
type edgarServer struct {
	*httptest.Server
	mu     sync.Mutex
	paths  []string
	agents []string
}

func newEDGARServer(t *testing.T) *edgarServer {
	s := &edgarServer{}
	files := map[string]string{
		"/submissions/CIK0000320193.json":                                  "edgar/CIK0000320193.json",
		"/submissions/CIK0000320193-submissions-001.json":                  "edgar/CIK0000320193-submissions-001.json",
		"/Archives/edgar/data/320193/000032019324000123/aapl-20240928.htm": "edgar/aapl-20240928.htm",
		"/Archives/edgar/data/320193/000119312513416534/d590790d10k.htm":   "edgar/d590790d10k.htm",
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.paths = append(s.paths, r.URL.Path)
		s.agents = append(s.agents, r.Header.Get("User-Agent"))
		s.mu.Unlock()
		name, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(name, ".json") {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "text/html")
		}
		w.Write(readFixture(t, name, ""))
	}))
	t.Cleanup(s.Close)
	return s
}

func TestEDGARAnnualReports(t *testing.T) {
	srv := newEDGARServer(t)
	const agent = "Adapt Tests tests@example.com"
	src := Source{Kind: KindEDGAR, RemoteSource: RemoteSource{
		BaseURL: srv.URL, IDs: []string{"320193"}, UserAgent: agent, AllowLoopback: true,
	}}
	m, docs, rejected := runRemote(t, newFakeClock(), src)

	wantPaths := []string{
		"/submissions/CIK0000320193.json",
		"/Archives/edgar/data/320193/000032019324000123/aapl-20240928.htm",
		"/Archives/edgar/data/320193/000032019323000106/aapl-20230930.htm",
		"/submissions/CIK0000320193-submissions-001.json",
		"/Archives/edgar/data/320193/000119312513416534/d590790d10k.htm",
	}
	if !reflect.DeepEqual(srv.paths, wantPaths) {
		t.Errorf("requests:\ngot  %v\nwant %v", srv.paths, wantPaths)
	}
	for _, a := range srv.agents {
		if a != agent {
			t.Errorf("User-Agent: got %q, want %q", a, agent)
		}
	}

	// The 2024 filing splits into items 1, 1A, 7 and 7A, the 2013 one into 1
	// and 1A; the missing 2023 document is a rejected row.
	var items []string
	for _, d := range docs {
		items = append(items, d.Meta["accession"]+" "+d.Meta["item"])
		if strings.Contains(d.Text, "HIDDENFACT") {
			t.Errorf("item %s contains the hidden XBRL header", d.Meta["item"])
		}
	}
	wantItems := []string{
		"0000320193-24-000123 1", "0000320193-24-000123 1A", "0000320193-24-000123 7", "0000320193-24-000123 7A",
		"0001193125-13-416534 1", "0001193125-13-416534 1A",
	}
	if !reflect.DeepEqual(items, wantItems) {
		t.Errorf("items:\ngot  %v\nwant %v", items, wantItems)
	}
	if len(rejected) != 1 || rejected[0].Reason != ReasonHTTPStatus || rejected[0].HTTPStatus != 404 {
		t.Errorf("rejected: got %+v, want the 2023 filing as http_status 404", rejected)
	}

	item7 := docs[2]
	wantStart := "Item 7. Management\u2019s Discussion and Analysis of Financial Condition and Results of Operations\n" +
		"The following discussion should be read"
	if !strings.HasPrefix(item7.Text, wantStart) {
		t.Errorf("item 7 text:\ngot  %q\nwant prefix %q", item7.Text, wantStart)
	}
	if !strings.Contains(item7.Text, "Net sales\t$\t391,035") {
		t.Errorf("item 7 text lacks the table row as tab-separated cells:\n%s", item7.Text)
	}
	wantMeta := map[string]string{
		"cik": "0000320193", "company": "Apple Inc.", "form": "10-K", "filing_date": "2024-11-01",
		"report_date": "2024-09-28", "item": "7", "format": formatHTML,
	}
	for k, want := range wantMeta {
		if got := item7.Meta[k]; got != want {
			t.Errorf("meta %s: got %q, want %q", k, got, want)
		}
	}
	if !strings.HasSuffix(item7.URL, "/aapl-20240928.htm#item-7") {
		t.Errorf("URL: got %q, want the document URL with #item-7", item7.URL)
	}
	if got, want := item7.Title, "Apple Inc. 10-K 2024-11-01: Item 7. Management\u2019s Discussion and Analysis of Financial Condition and Results of Operations"; got != want {
		t.Errorf("title: got %q, want %q", got, want)
	}
	if m.Stats["requests"] != 5 {
		t.Errorf("requests stat: got %v, want 5", m.Stats["requests"])
	}
}

func TestEDGARFormsAndLimit(t *testing.T) {
	srv := newEDGARServer(t)
	src := Source{Kind: KindEDGAR, RemoteSource: RemoteSource{
		BaseURL: srv.URL, IDs: []string{"CIK0000320193"}, UserAgent: "T t@example.com", AllowLoopback: true,
		Forms: []string{"10-Q"}, MaxDocuments: 1,
	}}
	_, docs, rejected := runRemote(t, newFakeClock(), src)
	// The first 10-Q document is not in the fixtures, so it is rejected;
	// the limit of one filing stops there.
	if len(docs) != 0 || len(rejected) != 1 || !strings.HasSuffix(rejected[0].URL, "/aapl-20240629.htm") {
		t.Errorf("got %d documents and rejected %+v, want only aapl-20240629.htm rejected", len(docs), rejected)
	}
	if len(srv.paths) != 2 {
		t.Errorf("requests: got %v, want the submissions file and one document", srv.paths)
	}
}

func TestEDGARRejectsMissingUserAgent(t *testing.T) {
	srv := newEDGARServer(t)
	src := Source{Kind: KindEDGAR, RemoteSource: RemoteSource{BaseURL: srv.URL, IDs: []string{"320193"}, AllowLoopback: true}}
	_, err := Run(t.Context(), Options{Sources: []Source{src}, OutDir: filepath.Join(t.TempDir(), "c"), clock: newFakeClock()})
	if !errors.Is(err, ErrUserAgent) {
		t.Fatalf("got error %v, want ErrUserAgent", err)
	}
	if !strings.Contains(err.Error(), "e-mail") {
		t.Errorf("error %q does not say what the user agent needs", err)
	}
	if len(srv.paths) != 0 {
		t.Errorf("requests sent without a user agent: %v", srv.paths)
	}
}

func TestEDGARRateCapped(t *testing.T) {
	cases := []struct {
		rate float64
		want float64
	}{{0, 10}, {50, 10}, {4, 4}}
	for _, tc := range cases {
		src := &Source{Kind: KindEDGAR, RemoteSource: RemoteSource{RequestsPerSecond: tc.rate}}
		if got := sourceRate(src); got != tc.want {
			t.Errorf("rate %v: got %v, want %v", tc.rate, got, tc.want)
		}
	}
}

func TestSplitItems(t *testing.T) {
	text := "FORM 10-K\nTable of Contents\nItem 1.\tBusiness\t1\nItem 1A.\tRisk Factors\t5\nPART I\n" +
		"Item 1. Business\nWe make things.\nMore about things.\n" +
		"ITEM 1A \u2014 RISK FACTORS\nThings may fail.\n" +
		"Item 2:\nProperties\nWe own a building.\n" +
		"Item 7A. Market risk\nRates move."
	got := splitItems(text)
	want := []struct{ item, title, first string }{
		{"1", "Business", "Item 1. Business"},
		{"1A", "RISK FACTORS", "ITEM 1A \u2014 RISK FACTORS"},
		{"2", "Properties", "Item 2:"},
		{"7A", "Market risk", "Item 7A. Market risk"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d sections %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		firstLine, _, _ := strings.Cut(got[i].text, "\n")
		if got[i].item != w.item || got[i].title != w.title || firstLine != w.first {
			t.Errorf("section %d: got item %q title %q first line %q; want %q, %q, %q",
				i, got[i].item, got[i].title, firstLine, w.item, w.title, w.first)
		}
	}
	if !strings.Contains(got[0].text, "More about things.") {
		t.Errorf("item 1 lost its body: %q", got[0].text)
	}
}

func TestPaddedCIK(t *testing.T) {
	cases := []struct{ in, want string }{
		{"320193", "0000320193"}, {"0000320193", "0000320193"}, {"CIK320193", "0000320193"}, {"AAPL", ""}, {"0", ""}, {"12345678901", ""},
	}
	for _, tc := range cases {
		got, err := paddedCIK(tc.in)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("paddedCIK(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseEDGARSubmissionsMismatchedArrays(t *testing.T) {
	_, _, err := parseEDGARSubmissions([]byte(`{"cik":"1","filings":{"recent":{"accessionNumber":["a","b"],"form":["10-K"],"filingDate":["x","y"],"primaryDocument":["p","q"]}}}`))
	if err == nil || !strings.Contains(err.Error(), "form has 1") {
		t.Errorf("got %v, want an error naming the short form array", err)
	}
}

func FuzzParseEDGARSubmissions(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "edgar", "CIK0000320193.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"cik":320193,"filings":{"recent":{"accessionNumber":[],"form":[],"filingDate":[],"primaryDocument":[]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, rows, err := parseEDGARSubmissions(data)
		if err != nil {
			return
		}
		for _, r := range rows {
			if isAnnualReport(r.Form) {
				splitItems(r.PrimaryDocument)
			}
		}
		parseEDGARFilingsFile(data)
	})
}
