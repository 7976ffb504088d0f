package collect

// Retry-After is read as RFC 9110 section 10.2.3 defines it: a number of
// seconds or an HTTP date. Retried statuses are 429 (RFC 6585) and the 5xx
// statuses that RFC 9110 describes as temporary (500, 502, 503, 504).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clock is the time source of remote fetches.
type clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff of retried requests: baseBackoff * 2^attempt, at most maxBackoff.
// A Retry-After longer than maxRetryAfter is not waited for, and the request
// fails with the last status instead.
const (
	baseBackoff   = time.Second
	maxBackoff    = time.Minute
	maxRetryAfter = 10 * time.Minute
	maxRedirects  = 10
)

// hostLimiter spaces the requests to each host by at least its interval.
type hostLimiter struct {
	mu       sync.Mutex
	clock    clock
	interval time.Duration            // from the requests-per-second rate
	delay    map[string]time.Duration // per-host minimum, such as a robots.txt Crawl-delay
	next     map[string]time.Time     // earliest start of the next request
}

func newHostLimiter(clk clock, rate float64) *hostLimiter {
	l := &hostLimiter{clock: clk, delay: map[string]time.Duration{}, next: map[string]time.Time{}}
	if rate > 0 {
		l.interval = time.Duration(float64(time.Second) / rate)
	}
	return l
}

// setDelay raises the spacing of host to at least d.
func (l *hostLimiter) setDelay(host string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.delay[host] = d
}

// wait blocks until a request to host may start and books that slot.
func (l *hostLimiter) wait(ctx context.Context, host string) error {
	l.mu.Lock()
	now := l.clock.Now()
	start := now
	if next, ok := l.next[host]; ok && next.After(now) {
		start = next
	}
	l.next[host] = start.Add(max(l.interval, l.delay[host]))
	l.mu.Unlock()

	return l.clock.Sleep(ctx, start.Sub(now))
}

// errRedirectRejected marks a redirect that the client's redirectAllowed
// rejected. Such a request is not retried.
var errRedirectRejected = errors.New("redirect rejected")

// response is a fetched HTTP response with its body read.
type response struct {
	URL       string // final URL, after redirects
	Status    int
	Header    http.Header
	Body      []byte // at most maxBytes bytes
	Truncated bool   // the body was longer than maxBytes
	FetchedAt time.Time
}

// httpClient sends rate-limited, retried GET requests.
type httpClient struct {
	hc         *http.Client
	clock      clock
	limiter    *hostLimiter
	logger     *slog.Logger
	userAgent  string
	header     http.Header // extra request headers, such as Authorization
	maxBytes   int64
	maxRetries int
	// redirectAllowed, when set, rejects redirects to other URLs; the web
	// crawler uses it to stay on its allowed hosts.
	redirectAllowed func(*url.URL) bool

	requests, retries int
}

// newHTTPClient builds the client of src with its rate, limits, user agent
// and address policy.
func newHTTPClient(src *Source, clk clock, logger *slog.Logger) *httpClient {
	timeout := DefaultTimeout
	if src.TimeoutSeconds > 0 {
		timeout = time.Duration(src.TimeoutSeconds * float64(time.Second))
	}
	c := &httpClient{
		clock: clk, logger: logger, header: http.Header{},
		userAgent: src.UserAgent, maxBytes: src.MaxBytes, maxRetries: src.MaxRetries,
		limiter: newHostLimiter(clk, sourceRate(src)),
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if c.maxBytes == 0 {
		c.maxBytes = DefaultMaxBytes
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}

	dialer := &net.Dialer{Timeout: 30 * time.Second, Control: dialControl(src.AllowLoopback)}
	transport := &http.Transport{
		// No proxy: a proxy would connect on our behalf and bypass the
		// address check in dialControl.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   2,
	}
	c.hc = &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			if c.redirectAllowed != nil && !c.redirectAllowed(req.URL) {
				return fmt.Errorf("%w: redirect to %s leaves the allowed hosts", errRedirectRejected, req.URL)
			}
			return nil
		},
	}
	return c
}

// sourceRate returns the requests per second allowed for src.
func sourceRate(src *Source) float64 {
	rate := src.RequestsPerSecond
	switch src.Kind {
	case KindPubMed:
		limit := pubMedRateNoKey
		if src.token(pubMedKeyEnv) != "" {
			limit = pubMedRateWithKey
		}
		if rate == 0 || rate > limit {
			rate = limit
		}
	case KindEDGAR:
		if rate == 0 || rate > edgarMaxRate {
			rate = edgarMaxRate
		}
	case KindCourtListener:
		if rate == 0 {
			rate = courtListenerDefaultRate
		}
	default:
		if rate == 0 {
			rate = defaultWebRate
		}
	}
	return rate
}

// get fetches rawURL, waiting for the host's rate limit before each try and
// retrying 429, 5xx and network errors with exponential backoff or the
// server's Retry-After. It returns the last response whatever its status;
// the error is set only when no response came back (network error, refused
// address, cancelled context).
func (c *httpClient) get(ctx context.Context, rawURL string) (*response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parsing URL %q: %w", rawURL, err)
	}

	for attempt := 0; ; attempt++ {
		if err := c.limiter.wait(ctx, u.Host); err != nil {
			return nil, err
		}
		resp, err := c.do(ctx, rawURL)
		last := attempt >= c.maxRetries

		// Network errors other than a refused address are retried.
		if err != nil {
			if errors.Is(err, ErrAddressRefused) || errors.Is(err, errRedirectRejected) || ctx.Err() != nil || last {
				return nil, err
			}
			wait := backoff(attempt)
			c.logger.Warn("retrying request", "url", rawURL, "error", err, "attempt", attempt+1, "wait", wait)
			c.retries++
			if err := c.clock.Sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		}

		if !retryableStatus(resp.Status) || last {
			return resp, nil
		}
		wait := backoff(attempt)
		if after, ok := parseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now()); ok {
			if after > maxRetryAfter {
				c.logger.Warn("server asked to wait too long; giving up", "url", rawURL, "retry_after", after)
				return resp, nil
			}
			wait = after
		}
		c.logger.Warn("retrying request", "url", rawURL, "status", resp.Status, "attempt", attempt+1, "wait", wait)
		c.retries++
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// do sends one GET request and reads at most maxBytes of the body.
func (c *httpClient) do(ctx context.Context, rawURL string) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", rawURL, err)
	}
	req.Header.Set("User-Agent", c.userAgent)
	for name, values := range c.header {
		req.Header[name] = values
	}

	c.requests++
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading body of %s: %w", rawURL, err)
	}
	out := &response{
		URL: resp.Request.URL.String(), Status: resp.StatusCode, Header: resp.Header,
		Body: body, FetchedAt: c.clock.Now(),
	}
	if int64(len(body)) > c.maxBytes {
		out.Body = body[:c.maxBytes]
		out.Truncated = true
	}
	return out, nil
}

func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff returns the wait before retry attempt+1: baseBackoff doubled per
// attempt, at most maxBackoff.
func backoff(attempt int) time.Duration {
	d := time.Duration(float64(baseBackoff) * math.Pow(2, float64(attempt)))
	return min(d, maxBackoff)
}

// parseRetryAfter reads a Retry-After value, either delay seconds or an
// HTTP date, relative to now. A date in the past means no wait.
func parseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(math.MaxInt64/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(value); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// metadataAddrs are cloud metadata services outside the private and
// link-local ranges (AWS IPv6 and Alibaba Cloud).
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"),
}

// sharedAddressSpace is 100.64.0.0/10 (RFC 6598, carrier-grade NAT).
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// addressRejectionReason returns the reason ip may not be dialed, or ""
// when it may.
// Loopback is allowed only with allowLoopback.
func addressRejectionReason(ip netip.Addr, allowLoopback bool) string {
	ip = ip.Unmap()
	for _, m := range metadataAddrs {
		if ip == m {
			return "a cloud metadata address"
		}
	}
	switch {
	case ip.IsLoopback():
		if allowLoopback {
			return ""
		}
		return "a loopback address (set allow_loopback to permit it)"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address (this range holds cloud metadata services)"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	case sharedAddressSpace.Contains(ip):
		return "a shared (carrier-grade NAT) address"
	}
	return ""
}

// dialControl returns a net.Dialer Control function that checks the
// address actually being dialed, after DNS resolution, so a host name that
// resolves to a refused address (DNS rebinding included) cannot get through.
func dialControl(allowLoopback bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot parse dial address %q: %v", ErrAddressRefused, address, err)
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return fmt.Errorf("%w: dial address %q is not an IP address", ErrAddressRefused, address)
		}
		if reason := addressRejectionReason(ip, allowLoopback); reason != "" {
			return fmt.Errorf("%w: %s is %s", ErrAddressRefused, ip, reason)
		}
		return nil
	}
}
