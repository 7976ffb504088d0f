package collect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
)

// crawlItem is one URL waiting in the crawl queue.
type crawlItem struct {
	url   string
	depth int // links followed from a seed or sitemap entry
}

// crawler is the state of one web source's breadth-first crawl.
type crawler struct {
	env      *remoteEnv
	token    string          // robots.txt product token, from the user agent
	hosts    map[string]bool // hosts links may lead to, lower case
	robots   map[string]*robotsPolicy
	seen     map[string]bool
	queue    []crawlItem
	maxDepth int
	pages    int
}

// crawlWeb crawls a web source: robots.txt of every host first, then the
// seeds, then the sitemap entries, then the links found, breadth first,
// until MaxDocuments pages are fetched or the queue is empty.
func crawlWeb(ctx context.Context, env *remoteEnv) error {
	src := env.src
	c := &crawler{
		env: env, token: agentToken(env.client.userAgent),
		hosts: map[string]bool{}, robots: map[string]*robotsPolicy{}, seen: map[string]bool{},
		maxDepth: src.MaxDepth,
	}
	if c.maxDepth == 0 {
		c.maxDepth = DefaultMaxDepth
	}
	env.client.redirectAllowed = c.onAllowedHost
	// NOTE: a redirect within the allowed hosts is followed without checking
	// the target against robots.txt; only the requested URL is checked.
	for _, h := range src.AllowedHosts {
		c.hosts[strings.ToLower(h)] = true
	}

	// Seeds, and the hosts they allow.
	var origins []*url.URL
	for _, seed := range src.Seeds {
		u, err := url.Parse(seed)
		if err != nil {
			return fmt.Errorf("parsing seed %q: %w", seed, err)
		}
		u.Host = strings.ToLower(u.Host)
		if !c.hosts[u.Host] {
			origins = append(origins, &url.URL{Scheme: u.Scheme, Host: u.Host})
		}
		c.hosts[u.Host] = true
		c.enqueue(u.String(), 0)
	}

	// Sitemaps of the seed hosts.
	if !src.SkipSitemaps {
		for _, origin := range origins {
			if err := c.readSitemaps(ctx, origin); err != nil {
				return err
			}
		}
	}

	// Breadth-first crawl.
	limit := src.maxDocuments()
	for len(c.queue) > 0 && c.pages < limit {
		if err := ctx.Err(); err != nil {
			return err
		}
		item := c.queue[0]
		c.queue = c.queue[1:]
		if err := c.visit(ctx, item); err != nil {
			return err
		}
	}
	env.stats["pages"] += float64(c.pages)
	env.stats["queued_unvisited"] += float64(len(c.queue))
	return nil
}

// enqueue adds rawURL to the queue once, without its fragment.
func (c *crawler) enqueue(rawURL string, depth int) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return
	}
	u.Fragment, u.RawFragment = "", ""
	u.Host = strings.ToLower(u.Host)
	key := u.String()
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.queue = append(c.queue, crawlItem{url: key, depth: depth})
}

// onAllowedHost reports whether u may be crawled: its host, with or
// without port, is a seed host or listed in AllowedHosts.
func (c *crawler) onAllowedHost(u *url.URL) bool {
	return c.hosts[strings.ToLower(u.Host)] || c.hosts[strings.ToLower(u.Hostname())]
}

// policyFor returns the robots.txt policy for u's scheme and host, fetching
// robots.txt on first use. Following RFC 9309 section 2.3.1, a 4xx status
// allows everything, and a 5xx status, 429 or network error disallows
// everything. A refused address is an error.
func (c *crawler) policyFor(ctx context.Context, u *url.URL) (*robotsPolicy, error) {
	origin := u.Scheme + "://" + u.Host
	if p, ok := c.robots[origin]; ok {
		return p, nil
	}

	robotsURL := origin + "/robots.txt"
	resp, err := c.env.client.get(ctx, robotsURL)
	var p *robotsPolicy
	switch {
	case err != nil && (errors.Is(err, ErrAddressRefused) || ctx.Err() != nil):
		return nil, fmt.Errorf("fetching %s: %w", robotsURL, err)
	case err != nil:
		c.env.logger.Warn("robots.txt unreachable; not crawling the host", "url", robotsURL, "error", err)
		p = &robotsPolicy{disallowAll: true}
	case resp.Status >= 200 && resp.Status <= 299:
		f := parseRobots(resp.Body)
		p = f.policy(c.token)
		p.sitemapURLs = f.sitemaps
		if p.crawlDelay > 0 {
			c.env.client.limiter.setDelay(u.Host, p.crawlDelay)
		}
	case resp.Status >= 400 && resp.Status <= 499 && resp.Status != http.StatusTooManyRequests:
		p = &robotsPolicy{}
	default:
		c.env.logger.Warn("robots.txt returned a server error; not crawling the host", "url", robotsURL, "status", resp.Status)
		p = &robotsPolicy{disallowAll: true}
	}
	c.robots[origin] = p
	return p, nil
}

// allowedByRobots checks u against its host's robots.txt and counts
// disallowed URLs in the stats.
func (c *crawler) allowedByRobots(ctx context.Context, u *url.URL) (bool, error) {
	p, err := c.policyFor(ctx, u)
	if err != nil {
		return false, err
	}
	pathQuery := u.EscapedPath()
	if u.RawQuery != "" {
		pathQuery += "?" + u.RawQuery
	}
	if !p.allowed(pathQuery) {
		c.env.stats["robots_disallowed"]++
		c.env.logger.Debug("disallowed by robots.txt", "url", u.String())
		return false, nil
	}
	return true, nil
}

// readSitemaps reads the sitemaps named in origin's robots.txt and
// origin/sitemap.xml, following sitemap indexes, and queues the page URLs
// on allowed hosts at depth 0. A missing or invalid sitemap is logged and
// skipped.
func (c *crawler) readSitemaps(ctx context.Context, origin *url.URL) error {
	p, err := c.policyFor(ctx, origin)
	if err != nil {
		return err
	}
	pending := append(append([]string{}, p.sitemapURLs...), origin.String()+"/sitemap.xml")
	done := map[string]bool{}

	for len(pending) > 0 && len(done) < maxSitemapFiles {
		next := pending[0]
		pending = pending[1:]
		u, err := url.Parse(next)
		if err != nil || done[next] || !c.onAllowedHost(u) {
			continue
		}
		done[next] = true
		sp, err := c.policyFor(ctx, u)
		if err != nil {
			return err
		}
		if !sp.allowed(u.EscapedPath()) {
			continue
		}

		resp, err := c.env.client.get(ctx, next)
		if err != nil {
			if errors.Is(err, ErrAddressRefused) || ctx.Err() != nil {
				return fmt.Errorf("fetching sitemap %s: %w", next, err)
			}
			c.env.logger.Warn("sitemap unreachable", "url", next, "error", err)
			continue
		}
		if resp.Status < 200 || resp.Status > 299 || resp.Truncated {
			c.env.logger.Debug("sitemap skipped", "url", next, "status", resp.Status, "truncated", resp.Truncated)
			continue
		}
		sm, err := parseSitemap(resp.Body)
		if err != nil {
			c.env.logger.Warn("invalid sitemap", "url", next, "error", err)
			continue
		}
		c.env.stats["sitemap_urls"] += float64(len(sm.pages))
		for _, page := range sm.pages {
			if pu, err := url.Parse(page); err == nil && c.onAllowedHost(pu) {
				c.enqueue(page, 0)
			}
		}
		pending = append(pending, sm.children...)
	}
	return nil
}

// visit fetches one queued URL and emits its document or rejected row.
func (c *crawler) visit(ctx context.Context, item crawlItem) error {
	u, err := url.Parse(item.url)
	if err != nil || !c.onAllowedHost(u) {
		return nil
	}
	if ok, err := c.allowedByRobots(ctx, u); err != nil || !ok {
		return err
	}

	env := c.env
	c.pages++
	resp, err := env.client.get(ctx, item.url)
	if err != nil && (errors.Is(err, ErrAddressRefused) || ctx.Err() != nil) {
		return fmt.Errorf("fetching %s: %w", item.url, err)
	}
	if rejected, err := env.rejectResponse(item.url, resp, err); rejected || err != nil {
		return err
	}

	doc := env.baseDocument(resp)
	doc.Meta["depth"] = strconv.Itoa(item.depth)
	bodyLen := int64(len(resp.Body))

	// Only HTML and plain text are collected.
	mediaType, body, err := decodeTextBody(resp)
	if err != nil {
		return env.reject(doc, ReasonContentType, fmt.Sprintf("%s: %v", resp.URL, err), bodyLen)
	}
	doc.Meta["format"] = formatText
	if mediaType == "text/plain" {
		return env.keep(doc, string(body), bodyLen)
	}
	doc.Meta["format"] = formatHTML

	page, err := url.Parse(resp.URL)
	if err != nil {
		page = u
	}
	links, noindex, nofollow := htmlLinks(body, page)
	if !nofollow && item.depth < c.maxDepth {
		for _, link := range links {
			if lu, err := url.Parse(link); err == nil && c.onAllowedHost(lu) {
				c.enqueue(link, item.depth+1)
			}
		}
	}
	if noindex {
		env.stats["noindex"]++
		return nil
	}
	text, title := webHTMLText(body)
	doc.Title = title
	return env.keep(doc, text, bodyLen)
}

// nbspRun is a run of spaces that contains at least one no-break space.
var nbspRun = regexp.MustCompile("[ \u00a0]*\u00a0[ \u00a0]*")

// webHTMLText extracts the text of a fetched HTML page: page chrome
// dropped, table rows on one line, and runs of spaces that contain a
// no-break space (which pages use for layout) turned into one space.
func webHTMLText(body []byte) (text, title string) {
	text, title = htmlToTextWith(body, htmlOptions{dropChrome: true, tableRows: true})
	return nbspRun.ReplaceAllString(text, " "), nbspRun.ReplaceAllString(title, " ")
}

// decodeTextBody checks that resp is HTML or plain text and returns its
// media type and body converted to UTF-8. A response without Content-Type
// is sniffed with the WHATWG MIME sniffing algorithm (http.DetectContentType).
func decodeTextBody(resp *response) (mediaType string, body []byte, err error) {
	contentType := resp.Header.Get("Content-Type")
	if contentType == "" {
		contentType = http.DetectContentType(resp.Body)
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", nil, fmt.Errorf("invalid Content-Type %q: %v", contentType, err)
	}
	switch mediaType {
	case "text/html", "application/xhtml+xml":
		mediaType = "text/html"
	case "text/plain":
	default:
		return "", nil, fmt.Errorf("media type %s is not collected; only text/html and text/plain are", mediaType)
	}

	// Convert to UTF-8: the charset parameter first, then (for HTML) a
	// <meta charset> in the first 1024 bytes, as the WHATWG encoding
	// sniffing algorithm orders them.
	label := params["charset"]
	if label == "" && mediaType == "text/html" {
		_, label, _ = charset.DetermineEncoding(resp.Body, contentType)
	}
	label = strings.ToLower(strings.TrimSpace(label))
	if label == "" || label == "utf-8" || label == "utf8" || label == "us-ascii" {
		return mediaType, resp.Body, nil
	}
	r, err := charset.NewReaderLabel(label, bytes.NewReader(resp.Body))
	if err != nil {
		return mediaType, resp.Body, nil
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(r); err != nil {
		return "", nil, fmt.Errorf("decoding %s body: %v", label, err)
	}
	return mediaType, out.Bytes(), nil
}

// htmlLinks returns the absolute URLs of the <a> and <area> links of an
// HTML page, resolved against its <base href> or pageURL, and whether a
// <meta name="robots"> forbids indexing the page or following its links.
// Links marked rel="nofollow" are left out.
func htmlLinks(data []byte, pageURL *url.URL) (links []string, noindex, nofollow bool) {
	base := pageURL
	baseSet := false
	z := html.NewTokenizer(bytes.NewReader(data))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return links, noindex, nofollow
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, hasAttr := z.TagName()
		if !hasAttr {
			continue
		}
		attrs := map[string]string{}
		for {
			key, val, more := z.TagAttr()
			attrs[string(key)] = string(val)
			if !more {
				break
			}
		}

		switch atom.Lookup(name) {
		case atom.Base:
			if href, ok := attrs["href"]; ok && !baseSet {
				if b, err := pageURL.Parse(strings.TrimSpace(href)); err == nil {
					base, baseSet = b, true
				}
			}
		case atom.Meta:
			if strings.EqualFold(attrs["name"], "robots") {
				content := strings.ToLower(attrs["content"])
				noindex = noindex || strings.Contains(content, "noindex") || strings.Contains(content, "none")
				nofollow = nofollow || strings.Contains(content, "nofollow") || strings.Contains(content, "none")
			}
		case atom.A, atom.Area:
			href, ok := attrs["href"]
			if !ok || strings.Contains(strings.ToLower(attrs["rel"]), "nofollow") {
				continue
			}
			if link, err := base.Parse(strings.TrimSpace(href)); err == nil {
				links = append(links, link.String())
			}
		}
	}
}
