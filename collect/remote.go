package collect

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/adapt-llm/adapt/corpus"
)

// Source kinds that fetch over HTTP.
const (
	KindWeb           = "web"
	KindPubMed        = "pubmed"
	KindEDGAR         = "edgar"
	KindCourtListener = "courtlistener"
)

// Reason codes of rejected rows written by remote sources.
const (
	// ReasonHTTPStatus marks a fetch whose final HTTP status was not 2xx.
	ReasonHTTPStatus = "http_status"
	// ReasonFetchError marks a fetch that got no HTTP response at all.
	ReasonFetchError = "fetch_error"
	// ReasonContentType marks a response whose media type is not text.
	ReasonContentType = "content_type"
	// ReasonTooLarge marks a body longer than RemoteSource.MaxBytes.
	ReasonTooLarge = "too_large"
)

// Public endpoints of the remote sources. No field defaults to them: a user
// copies the one wanted into RemoteSource.BaseURL (and ArchiveURL for EDGAR),
// so that nothing in this package contacts an outside host unless a
// configuration names it.
const (
	PubMedBaseURL        = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
	EDGARBaseURL         = "https://data.sec.gov"
	EDGARArchiveURL      = "https://www.sec.gov"
	CourtListenerBaseURL = "https://www.courtlistener.com"
)

// Defaults of RemoteSource fields left at zero.
const (
	// DefaultMaxDocuments caps documents (web: pages fetched) per source.
	DefaultMaxDocuments = 1000
	// DefaultMaxDepth is how many links a crawl follows from a seed.
	DefaultMaxDepth = 3
	// DefaultMaxBytes caps one response body: 10 MiB.
	DefaultMaxBytes = 10 << 20
	// DefaultMaxRetries is how many times a 429, 5xx or network error is
	// retried.
	DefaultMaxRetries = 4
	// DefaultTimeout bounds one HTTP request, body included.
	DefaultTimeout = 60 * time.Second
	// DefaultUserAgent names adapt with a placeholder contact. Sites and
	// APIs ask crawlers for a way to reach the operator, so users should set
	// RemoteSource.UserAgent to their own name and e-mail address; EDGAR
	// rejects this placeholder.
	DefaultUserAgent = "adapt/1.0 (+contact: set user_agent in the collect source)"
)

// Request rates in requests per second. EDGAR's limit is stated in its
// "Accessing EDGAR data" page; NCBI's in the E-utilities help (chapter 2,
// "Usage guidelines and requirements"). CourtListener publishes an hourly
// quota, so one request a second stays well inside it.
const (
	defaultWebRate           = 1.0
	pubMedRateNoKey          = 3.0
	pubMedRateWithKey        = 10.0
	edgarMaxRate             = 10.0
	courtListenerDefaultRate = 1.0
)

// RemoteSource holds the settings of the kinds that fetch over HTTP. The
// local kind ignores them.
type RemoteSource struct {
	// Seeds are the start URLs of a web crawl (kind "web").
	Seeds []string `json:"seeds,omitempty" yaml:"seeds,omitempty"`
	// AllowedHosts lists host names, besides the seeds' hosts, that a web
	// crawl may follow links to. Empty means the seeds' hosts only.
	AllowedHosts []string `json:"allowed_hosts,omitempty" yaml:"allowed_hosts,omitempty"`
	// SkipSitemaps turns off reading /sitemap.xml and the robots.txt
	// Sitemap lines of the seed hosts. Zero means sitemaps are read.
	SkipSitemaps bool `json:"skip_sitemaps,omitempty" yaml:"skip_sitemaps,omitempty"`
	// MaxDepth is how many links a web crawl follows from a seed or sitemap
	// entry. Zero means DefaultMaxDepth; a negative value means seeds and
	// sitemap entries only.
	MaxDepth int `json:"max_depth,omitempty" yaml:"max_depth,omitempty"`

	// BaseURL is the API endpoint of pubmed (PubMedBaseURL), edgar
	// (EDGARBaseURL, for the submissions JSON) and courtlistener
	// (CourtListenerBaseURL). It is required for those kinds.
	BaseURL string `json:"base_url,omitempty" yaml:"base_url,omitempty"`
	// ArchiveURL is the host URL that edgar fetches filing documents from
	// (EDGARArchiveURL). Empty means BaseURL.
	ArchiveURL string `json:"archive_url,omitempty" yaml:"archive_url,omitempty"`
	// Query is the PubMed search term (esearch "term") or the CourtListener
	// search query ("q"). For courtlistener, empty means the opinions list
	// filtered by Params.
	Query string `json:"query,omitempty" yaml:"query,omitempty"`
	// IDs are PubMed PMIDs to fetch (instead of or besides Query) or EDGAR
	// CIKs (digits, with or without leading zeros).
	IDs []string `json:"ids,omitempty" yaml:"ids,omitempty"`
	// Forms lists the EDGAR form types to fetch, compared exactly ("10-K"
	// does not match "10-K/A"). Empty means 10-K only.
	Forms []string `json:"forms,omitempty" yaml:"forms,omitempty"`
	// Params are extra query parameters of the CourtListener opinions list,
	// such as "cluster__docket__court": "scotus".
	Params map[string]string `json:"params,omitempty" yaml:"params,omitempty"`
	// TokenEnv names the environment variable that holds the API key
	// (pubmed, sent as api_key) or token (courtlistener, sent as
	// "Authorization: Token ..."). Empty means NCBI_API_KEY or
	// COURTLISTENER_TOKEN. An unset variable means no key.
	TokenEnv string `json:"token_env,omitempty" yaml:"token_env,omitempty"`

	// MaxDocuments caps the documents per source (web: pages fetched, edgar:
	// filings). Zero means DefaultMaxDocuments.
	MaxDocuments int `json:"max_documents,omitempty" yaml:"max_documents,omitempty"`
	// PageSize is the number of records per API request (PubMed retmax).
	// Zero means 200.
	PageSize int `json:"page_size,omitempty" yaml:"page_size,omitempty"`
	// MaxBytes caps one response body in bytes; a longer document is
	// rejected as "too_large". Zero means DefaultMaxBytes.
	MaxBytes int64 `json:"max_bytes,omitempty" yaml:"max_bytes,omitempty"`
	// RequestsPerSecond caps requests per host. Zero means the kind's
	// default: 1 for web and courtlistener, 3 for pubmed (10 with an API
	// key), 10 for edgar. Rates above the pubmed and edgar limits are
	// lowered to them.
	RequestsPerSecond float64 `json:"requests_per_second,omitempty" yaml:"requests_per_second,omitempty"`
	// MaxRetries is how many times a 429, 5xx or network error is retried
	// with exponential backoff. Zero means DefaultMaxRetries; negative means
	// no retry.
	MaxRetries int `json:"max_retries,omitempty" yaml:"max_retries,omitempty"`
	// TimeoutSeconds bounds one request in seconds. Zero means
	// DefaultTimeout.
	TimeoutSeconds float64 `json:"timeout_seconds,omitempty" yaml:"timeout_seconds,omitempty"`
	// UserAgent is sent with every request. Empty means DefaultUserAgent,
	// except for edgar, which requires a contact and rejects both empty and
	// the default.
	UserAgent string `json:"user_agent,omitempty" yaml:"user_agent,omitempty"`
	// AllowLoopback lets requests reach 127.0.0.0/8 and ::1, for tests and
	// local mirrors. Private, link-local and metadata addresses stay
	// refused.
	AllowLoopback bool `json:"allow_loopback,omitempty" yaml:"allow_loopback,omitempty"`
}

// validateRemote checks the settings of remote source i and fills nothing
// in; defaults are applied when the source is fetched.
func validateRemote(i int, src *Source) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: source %d (%s): %s", ErrInvalidOptions, i, src.Kind, fmt.Sprintf(format, args...))
	}

	switch src.Kind {
	case KindWeb:
		if len(src.Seeds) == 0 {
			return bad("no seeds; add at least one start URL")
		}
		for _, seed := range src.Seeds {
			if err := checkHTTPURL(seed); err != nil {
				return bad("seed: %v", err)
			}
		}
	case KindPubMed, KindEDGAR, KindCourtListener:
		if src.BaseURL == "" {
			return bad("empty base_url; set it to the API endpoint, for example %s", publicEndpoint(src.Kind))
		}
		if err := checkHTTPURL(src.BaseURL); err != nil {
			return bad("base_url: %v", err)
		}
		if src.ArchiveURL != "" {
			if err := checkHTTPURL(src.ArchiveURL); err != nil {
				return bad("archive_url: %v", err)
			}
		}
	default:
		return fmt.Errorf("%w: source %d has kind %q; supported kinds are %q, %q, %q, %q and %q",
			ErrInvalidOptions, i, src.Kind, KindLocal, KindWeb, KindPubMed, KindEDGAR, KindCourtListener)
	}

	switch {
	case src.Kind == KindPubMed && src.Query == "" && len(src.IDs) == 0:
		return bad("neither query nor ids is set")
	case src.Kind == KindEDGAR && len(src.IDs) == 0:
		return bad("no CIKs in ids")
	case src.Kind == KindEDGAR:
		if err := checkEDGARUserAgent(src.UserAgent); err != nil {
			return fmt.Errorf("source %d (edgar): %w", i, err)
		}
		for _, cik := range src.IDs {
			if _, err := paddedCIK(cik); err != nil {
				return bad("%v", err)
			}
		}
	}
	if src.MaxDocuments < 0 || src.PageSize < 0 || src.MaxBytes < 0 || src.RequestsPerSecond < 0 || src.TimeoutSeconds < 0 {
		return bad("max_documents, page_size, max_bytes, requests_per_second and timeout_seconds must not be negative")
	}
	return nil
}

func publicEndpoint(kind string) string {
	switch kind {
	case KindPubMed:
		return PubMedBaseURL
	case KindEDGAR:
		return EDGARBaseURL
	default:
		return CourtListenerBaseURL
	}
}

// checkHTTPURL accepts absolute http and https URLs with a host.
func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http or https URL", raw)
	}
	return nil
}

// remoteEnv is the state shared by the fetch of one remote source.
type remoteEnv struct {
	src     *Source
	client  *httpClient
	extract *extractEnv
	logger  *slog.Logger
	stats   map[string]float64
	emit    func(*fileResult) error
}

// collectRemote fetches one remote source and passes each document or
// rejected row to write. A failure of the source as a whole (unreachable
// API, refused address, invalid API response) is an error. A failure of one
// document is a rejected row.
func collectRemote(ctx context.Context, src *Source, opts *Options, extract *extractEnv, logger *slog.Logger,
	stats map[string]float64, write func(*fileResult) error) error {
	clk := opts.clock
	if clk == nil {
		clk = systemClock{}
	}
	client := newHTTPClient(src, clk, logger)
	env := &remoteEnv{src: src, client: client, extract: extract, logger: logger, stats: stats, emit: write}
	logger.Info("fetching remote source", "kind", src.Kind)

	var err error
	switch src.Kind {
	case KindWeb:
		err = crawlWeb(ctx, env)
	case KindPubMed:
		err = collectPubMed(ctx, env)
	case KindEDGAR:
		err = collectEDGAR(ctx, env)
	case KindCourtListener:
		err = collectCourtListener(ctx, env)
	default:
		panic("collect: collectRemote called with kind " + src.Kind)
	}
	stats["requests"] += float64(client.requests)
	stats["retries"] += float64(client.retries)
	if err != nil {
		return fmt.Errorf("collecting %s source: %w", src.Kind, err)
	}
	return nil
}

// baseDocument returns a document with the fields every remote document
// shares.
func (env *remoteEnv) baseDocument(resp *response) corpus.Document {
	doc := corpus.Document{
		Domain: env.extract.domain, Source: env.src.Kind, CollectedAt: env.extract.collectedAt,
		Meta: map[string]string{},
	}
	if resp != nil {
		doc.URL = resp.URL
		doc.HTTPStatus = int32(resp.Status)
		doc.RawSHA256 = corpus.HashBytes(resp.Body)
		doc.Meta["fetched_at"] = resp.FetchedAt.UTC().Format(time.RFC3339)
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			doc.Meta["content_type"] = ct
		}
	}
	return doc
}

// keep finishes doc (text normalization, ID, license) and emits it, or
// emits a rejected row when no text is left.
func (env *remoteEnv) keep(doc corpus.Document, text string, bytes int64) error {
	doc.Text = normalizeText(text)
	if doc.License == "" {
		doc.License = pickLicense(detectLicense("", text), env.src.License)
	}
	if doc.Text == "" {
		return env.reject(doc, ReasonEmpty, doc.URL+": no text after extraction", bytes)
	}
	if doc.Title == "" {
		doc.Title = firstLine(doc.Text)
	}
	doc.ID = corpus.HashText(doc.Text)
	return env.emit(&fileResult{docs: []corpus.Document{doc}, bytes: bytes})
}

// reject emits one rejected row.
func (env *remoteEnv) reject(doc corpus.Document, reason, detail string, bytes int64) error {
	if doc.License == "" {
		doc.License = pickLicense("", env.src.License)
	}
	row := corpus.Rejected{Document: doc, Stage: "collect", Reason: reason, Detail: detail}
	return env.emit(&fileResult{rejected: []corpus.Rejected{row}, bytes: bytes})
}

// rejectResponse turns a fetch outcome that is not a usable document into
// a rejected row, and returns false when resp is usable.
func (env *remoteEnv) rejectResponse(rawURL string, resp *response, fetchErr error) (rejected bool, err error) {
	switch {
	case fetchErr != nil:
		doc := env.baseDocument(nil)
		doc.URL = rawURL
		return true, env.reject(doc, ReasonFetchError, fetchErr.Error(), 0)
	case resp.Status < 200 || resp.Status > 299:
		doc := env.baseDocument(resp)
		return true, env.reject(doc, ReasonHTTPStatus, fmt.Sprintf("%s: HTTP status %d", resp.URL, resp.Status), int64(len(resp.Body)))
	case resp.Truncated:
		doc := env.baseDocument(resp)
		doc.RawSHA256 = ""
		return true, env.reject(doc, ReasonTooLarge,
			fmt.Sprintf("%s: body is longer than the %d-byte limit (max_bytes)", resp.URL, env.client.maxBytes), int64(len(resp.Body)))
	}
	return false, nil
}

// maxDocuments returns the source's document cap.
func (src *Source) maxDocuments() int {
	if src.MaxDocuments > 0 {
		return src.MaxDocuments
	}
	return DefaultMaxDocuments
}

// token returns the value of the source's token variable, or "".
func (src *Source) token(defaultEnv string) string {
	name := src.TokenEnv
	if name == "" {
		name = defaultEnv
	}
	return strings.TrimSpace(os.Getenv(name))
}
