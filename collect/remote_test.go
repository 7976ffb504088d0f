package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adapt-llm/adapt/corpus"
)

// fakeClock is a clock whose Sleep advances time at once and records the
// duration, so rate-limit and retry tests never wait.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.sleeps = append(c.sleeps, d)
		c.now = c.now.Add(d)
	}
	return ctx.Err()
}

func (c *fakeClock) recorded() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// runRemote runs collect on sources with a fake clock and returns the
// manifest, documents and rejected rows.
func runRemote(t *testing.T, clk clock, sources ...Source) (*corpus.Manifest, []corpus.Document, []corpus.Rejected) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "collect")
	m, err := Run(context.Background(), Options{Sources: sources, Domain: "test", OutDir: out, ToolVersion: "test", clock: clk})
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
	return m, docs, rejected
}

// readFixture returns a testdata file with {{BASE}} replaced by base.
func readFixture(t *testing.T, name, base string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.ReplaceAll(string(data), "{{BASE}}", base))
}

// newTestClient builds a client for src with a fake clock.
func newTestClient(src *Source, clk clock) *httpClient {
	return newHTTPClient(src, clk, slog.New(slog.DiscardHandler))
}

func TestRefusedAddr(t *testing.T) {
	cases := []struct {
		ip            string
		allowLoopback bool
		refused       bool
	}{
		{"127.0.0.1", false, true},
		{"127.0.0.1", true, false},
		{"127.8.9.10", true, false},
		{"::1", false, true},
		{"::1", true, false},
		{"10.1.2.3", true, true},
		{"172.16.0.1", true, true},
		{"192.168.1.1", true, true},
		{"169.254.169.254", true, true},
		{"fe80::1", true, true},
		{"fd00:ec2::254", true, true},
		{"fc00::1", true, true},
		{"100.64.0.1", true, true},
		{"100.100.100.200", true, true},
		{"0.0.0.0", true, true},
		{"224.0.0.1", true, true},
		{"::ffff:10.0.0.1", true, true},
		{"::ffff:127.0.0.1", false, true},
		{"93.184.215.14", false, false},
		{"2606:4700::1111", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.ip, func(t *testing.T) {
			reason := addressRejectionReason(netip.MustParseAddr(tc.ip), tc.allowLoopback)
			if got := reason != ""; got != tc.refused {
				t.Errorf("addressRejectionReason(%s, allowLoopback=%v) = %q; got rejected %v, want %v", tc.ip, tc.allowLoopback, reason, got, tc.refused)
			}
		})
	}
}

func TestDialLoopbackRefusedByDefault(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()

	c := newTestClient(&Source{RemoteSource: RemoteSource{MaxRetries: 3}}, newFakeClock())
	_, err := c.get(context.Background(), srv.URL+"/")
	if !errors.Is(err, ErrAddressRefused) {
		t.Fatalf("get %s without AllowLoopback: got error %v, want ErrAddressRefused", srv.URL, err)
	}
	if !strings.Contains(err.Error(), "allow_loopback") {
		t.Errorf("error %q does not say how to allow loopback", err)
	}
	if got := hits.Load(); got != 0 {
		t.Errorf("server got %d requests, want 0", got)
	}
	if c.retries != 0 {
		t.Errorf("refused dial was retried %d times, want 0", c.retries)
	}

	// A host name is checked after resolution, at dial time.
	byName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	if _, err := c.get(context.Background(), byName); !errors.Is(err, ErrAddressRefused) {
		t.Errorf("get %s without AllowLoopback: got error %v, want ErrAddressRefused", byName, err)
	}
	if got := hits.Load(); got != 0 {
		t.Errorf("server got %d requests, want 0", got)
	}
}

func TestRetryAfterSecondsAndDate(t *testing.T) {
	clk := newFakeClock()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.Header().Set("Retry-After", clk.Now().Add(90*time.Second).Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		case 3:
			w.WriteHeader(http.StatusBadGateway)
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()

	c := newTestClient(&Source{RemoteSource: RemoteSource{AllowLoopback: true, RequestsPerSecond: 1000}}, clk)
	resp, err := c.get(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || string(resp.Body) != "ok" {
		t.Fatalf("got status %d body %q, want 200 \"ok\"", resp.Status, resp.Body)
	}
	// Rate-limit waits are 1 ms here; keep the retry waits only.
	var waits []time.Duration
	for _, d := range clk.recorded() {
		if d >= time.Second {
			waits = append(waits, d)
		}
	}
	want := []time.Duration{7 * time.Second, 90 * time.Second, 4 * time.Second}
	if len(waits) != len(want) {
		t.Fatalf("retry waits: got %v, want %v", waits, want)
	}
	for i := range want {
		// The HTTP date has one-second resolution.
		if diff := waits[i] - want[i]; diff < -time.Second || diff > time.Second {
			t.Errorf("wait %d: got %v, want %v within 1s", i, waits[i], want[i])
		}
	}
	if c.retries != 3 {
		t.Errorf("retries: got %d, want 3", c.retries)
	}
}

func TestRetryGivesUpWithLastStatus(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()

	clk := newFakeClock()
	c := newTestClient(&Source{RemoteSource: RemoteSource{AllowLoopback: true, MaxRetries: 3, RequestsPerSecond: 1000}}, clk)
	resp, err := c.get(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 500 {
		t.Errorf("status: got %d, want 500", resp.Status)
	}
	if got := calls.Load(); got != 4 {
		t.Errorf("requests: got %d, want 4 (1 + 3 retries)", got)
	}
	var backoffs []time.Duration
	for _, d := range clk.recorded() {
		if d >= time.Second {
			backoffs = append(backoffs, d)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	if len(backoffs) != len(want) || backoffs[0] != want[0] || backoffs[1] != want[1] || backoffs[2] != want[2] {
		t.Errorf("backoff waits: got %v, want %v", backoffs, want)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"120", 2 * time.Minute, true},
		{"0", 0, true},
		{"-5", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{"Fri, 02 Jan 2026 03:05:05 GMT", time.Minute, true},
		{"Friday, 02-Jan-26 03:05:05 GMT", time.Minute, true},
		{"Fri, 02 Jan 2026 03:00:00 GMT", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.value, func(t *testing.T) {
			got, ok := parseRetryAfter(tc.value, now)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.value, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestRateLimitSpacesRequests(t *testing.T) {
	clk := newFakeClock()
	var mu sync.Mutex
	var starts []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		starts = append(starts, clk.Now())
		mu.Unlock()
	}))
	defer srv.Close()

	c := newTestClient(&Source{RemoteSource: RemoteSource{AllowLoopback: true, RequestsPerSecond: 2}}, clk)
	for range 5 {
		if _, err := c.get(context.Background(), srv.URL); err != nil {
			t.Fatal(err)
		}
	}
	if len(starts) != 5 {
		t.Fatalf("got %d requests, want 5", len(starts))
	}
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < 500*time.Millisecond {
			t.Errorf("gap before request %d: got %v, want at least 500ms at 2 requests/s", i, gap)
		}
	}
	if got, want := starts[4].Sub(starts[0]), 2*time.Second; got != want {
		t.Errorf("time for 5 requests: got %v, want %v", got, want)
	}
}

func TestByteCapTruncates(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("a", 100)))
	}))
	defer srv.Close()

	cases := []struct {
		maxBytes      int64
		wantLen       int
		wantTruncated bool
	}{
		{100, 100, false},
		{99, 99, true},
		{10, 10, true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("max %d", tc.maxBytes), func(t *testing.T) {
			c := newTestClient(&Source{RemoteSource: RemoteSource{AllowLoopback: true, MaxBytes: tc.maxBytes, RequestsPerSecond: 1000}}, newFakeClock())
			resp, err := c.get(context.Background(), srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Body) != tc.wantLen || resp.Truncated != tc.wantTruncated {
				t.Errorf("max %d: got %d bytes, truncated %v; want %d, %v", tc.maxBytes, len(resp.Body), resp.Truncated, tc.wantLen, tc.wantTruncated)
			}
		})
	}
}

func TestValidateRemoteSources(t *testing.T) {
	cases := []struct {
		name string
		src  Source
		want error
	}{
		{"unknown kind", Source{Kind: "ftp"}, ErrInvalidOptions},
		{"web without seeds", Source{Kind: KindWeb}, ErrInvalidOptions},
		{"web seed not http", Source{Kind: KindWeb, RemoteSource: RemoteSource{Seeds: []string{"file:///etc/passwd"}}}, ErrInvalidOptions},
		{"pubmed without base url", Source{Kind: KindPubMed, RemoteSource: RemoteSource{Query: "asthma"}}, ErrInvalidOptions},
		{"pubmed without query", Source{Kind: KindPubMed, RemoteSource: RemoteSource{BaseURL: "http://127.0.0.1:1"}}, ErrInvalidOptions},
		{"edgar without user agent", Source{Kind: KindEDGAR, RemoteSource: RemoteSource{BaseURL: "http://127.0.0.1:1", IDs: []string{"320193"}}}, ErrUserAgent},
		{"edgar default user agent", Source{Kind: KindEDGAR, RemoteSource: RemoteSource{BaseURL: "http://127.0.0.1:1", IDs: []string{"320193"}, UserAgent: DefaultUserAgent}}, ErrUserAgent},
		{"edgar bad cik", Source{Kind: KindEDGAR, RemoteSource: RemoteSource{BaseURL: "http://127.0.0.1:1", IDs: []string{"AAPL"}, UserAgent: "T t@example.com"}}, ErrInvalidOptions},
		{"negative max bytes", Source{Kind: KindWeb, RemoteSource: RemoteSource{Seeds: []string{"http://127.0.0.1:1/"}, MaxBytes: -1}}, ErrInvalidOptions},
		{"valid courtlistener", Source{Kind: KindCourtListener, RemoteSource: RemoteSource{BaseURL: "http://127.0.0.1:1"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			err := validateRemote(0, &src)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("validateRemote: got %v, want %v", err, tc.want)
			}
		})
	}
}
