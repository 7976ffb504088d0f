package collect

// CourtListener is read through its REST API v4 as documented at
// www.courtlistener.com/help/api/rest/ (v4, 2024): list endpoints return
// {"count", "next", "previous", "results"} with cursor pagination, where
// "next" is the absolute URL of the following page and null on the last;
// an opinion carries its text in plain_text or in one of the HTML fields,
// html_with_citations being the most complete; the search endpoint with
// type=o returns clusters whose "opinions" list the opinion ids. A token
// goes in the "Authorization: Token <token>" header.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/adapt-llm/adapt/corpus"
)

// courtListenerTokenEnv is the default environment variable of the token.
const courtListenerTokenEnv = "COURTLISTENER_TOKEN"

// courtListenerAPIPath is the API root under BaseURL.
const courtListenerAPIPath = "/api/rest/v4/"

// clPage is one page of a CourtListener list or search reply.
type clPage struct {
	Count   json.RawMessage   `json:"count"` // a number, or a URL when counting is deferred
	Next    *string           `json:"next"`
	Results []json.RawMessage `json:"results"`
}

// clOpinion is the part of an opinion object collect reads.
type clOpinion struct {
	ID                json.Number `json:"id"`
	AbsoluteURL       string      `json:"absolute_url"`
	ResourceURI       string      `json:"resource_uri"`
	Cluster           string      `json:"cluster"`
	ClusterID         json.Number `json:"cluster_id"`
	AuthorStr         string      `json:"author_str"`
	Type              string      `json:"type"`
	DateCreated       string      `json:"date_created"`
	DownloadURL       *string     `json:"download_url"`
	PlainText         string      `json:"plain_text"`
	HTMLWithCitations string      `json:"html_with_citations"`
	HTML              string      `json:"html"`
	HTMLLawbox        string      `json:"html_lawbox"`
	HTMLColumbia      string      `json:"html_columbia"`
	HTMLAnon2020      string      `json:"html_anon_2020"`
	XMLHarvard        string      `json:"xml_harvard"`
}

// clSearchResult is the part of a type=o search result collect reads.
type clSearchResult struct {
	CaseName  string `json:"caseName"`
	Court     string `json:"court"`
	DateFiled string `json:"dateFiled"`
	Opinions  []struct {
		ID json.Number `json:"id"`
	} `json:"opinions"`
}

// parseCLPage decodes one page of a list or search reply.
func parseCLPage(data []byte) (*clPage, error) {
	var p clPage
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("invalid JSON page: %v", err)
	}
	if p.Results == nil {
		return nil, fmt.Errorf("page has no \"results\" list")
	}
	return &p, nil
}

// parseCLOpinion decodes one opinion object.
func parseCLOpinion(data []byte) (*clOpinion, error) {
	var o clOpinion
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("invalid opinion JSON: %v", err)
	}
	if o.ID == "" {
		return nil, fmt.Errorf("opinion has no id")
	}
	return &o, nil
}

// text returns the opinion's text and the field it came from: plain_text
// when it has any, else the first non-empty HTML or XML field, converted.
func (o *clOpinion) text() (text, field string) {
	if strings.TrimSpace(o.PlainText) != "" {
		return o.PlainText, "plain_text"
	}
	for _, f := range []struct{ name, value string }{
		{"html_with_citations", o.HTMLWithCitations}, {"html", o.HTML}, {"html_lawbox", o.HTMLLawbox},
		{"html_columbia", o.HTMLColumbia}, {"html_anon_2020", o.HTMLAnon2020}, {"xml_harvard", o.XMLHarvard},
	} {
		if strings.TrimSpace(f.value) != "" {
			t, _ := webHTMLText([]byte(f.value))
			return t, f.name
		}
	}
	return "", ""
}

// clRun is the state of one CourtListener source.
type clRun struct {
	env   *remoteEnv
	base  *url.URL // API root, ending in /api/rest/v4/
	kept  int
	limit int
	seen  map[string]bool
}

// collectCourtListener fetches opinions: those found by Query through the
// search endpoint, or else the opinions list filtered by Params, following
// "next" until MaxDocuments opinions or the last page.
func collectCourtListener(ctx context.Context, env *remoteEnv) error {
	src := env.src
	base, err := url.Parse(strings.TrimRight(src.BaseURL, "/") + courtListenerAPIPath)
	if err != nil {
		return fmt.Errorf("parsing base_url %q: %w", src.BaseURL, err)
	}
	r := &clRun{env: env, base: base, limit: src.maxDocuments(), seen: map[string]bool{}}
	if token := src.token(courtListenerTokenEnv); token != "" {
		env.client.header.Set("Authorization", "Token "+token)
	} else {
		env.logger.Warn("no CourtListener token; most v4 endpoints require one", "variable", tokenEnvName(src, courtListenerTokenEnv))
	}

	params := url.Values{}
	endpoint := "opinions/"
	if src.Query != "" {
		endpoint = "search/"
		params.Set("q", src.Query)
		params.Set("type", "o")
	} else {
		for k, v := range src.Params {
			params.Set(k, v)
		}
	}
	next := base.String() + endpoint
	if len(params) > 0 {
		next += "?" + params.Encode()
	}

	for next != "" && r.kept < r.limit {
		page, resp, err := r.page(ctx, next)
		if err != nil {
			return err
		}
		for _, raw := range page.Results {
			if r.kept >= r.limit {
				break
			}
			if src.Query != "" {
				err = r.searchResult(ctx, raw)
			} else {
				err = r.opinion(resp, raw, nil)
			}
			if err != nil {
				return err
			}
		}
		next = ""
		if page.Next != nil && *page.Next != "" {
			if next, err = r.sameHost(*page.Next); err != nil {
				return err
			}
		}
	}
	return nil
}

func tokenEnvName(src *Source, fallback string) string {
	if src.TokenEnv != "" {
		return src.TokenEnv
	}
	return fallback
}

// sameHost resolves a "next" link and checks that it stays on the API's
// scheme and host, so a reply cannot send the token elsewhere.
func (r *clRun) sameHost(link string) (string, error) {
	u, err := r.base.Parse(link)
	if err != nil {
		return "", fmt.Errorf("%w: next link %q: %v", ErrAPIResponse, link, err)
	}
	if u.Scheme != r.base.Scheme || !strings.EqualFold(u.Host, r.base.Host) {
		return "", fmt.Errorf("%w: next link %q leaves %s://%s", ErrAPIResponse, link, r.base.Scheme, r.base.Host)
	}
	return u.String(), nil
}

// get fetches an API URL and checks the status.
func (r *clRun) get(ctx context.Context, u string) (*response, error) {
	resp, err := r.env.client.get(ctx, u)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
		return nil, fmt.Errorf("%w: %s: HTTP status %d; set %s to a CourtListener API token",
			ErrAPIResponse, u, resp.Status, tokenEnvName(r.env.src, courtListenerTokenEnv))
	case resp.Status != 200 || resp.Truncated:
		return nil, fmt.Errorf("%w: %s: HTTP status %d, truncated %v", ErrAPIResponse, u, resp.Status, resp.Truncated)
	}
	return resp, nil
}

// page fetches and decodes one list or search page.
func (r *clRun) page(ctx context.Context, u string) (*clPage, *response, error) {
	resp, err := r.get(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	p, err := parseCLPage(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrAPIResponse, u, err)
	}
	return p, resp, nil
}

// searchResult fetches the opinions of one search result.
func (r *clRun) searchResult(ctx context.Context, raw json.RawMessage) error {
	var res clSearchResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("%w: search result: %v", ErrAPIResponse, err)
	}
	for _, op := range res.Opinions {
		if r.kept >= r.limit {
			return nil
		}
		id := op.ID.String()
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return fmt.Errorf("%w: search result has opinion id %q", ErrAPIResponse, id)
		}
		u := r.base.String() + "opinions/" + id + "/"
		resp, err := r.get(ctx, u)
		if err != nil {
			return err
		}
		if err := r.opinion(resp, resp.Body, &res); err != nil {
			return err
		}
	}
	return nil
}

// opinion emits one opinion as a document or rejected row. hit, when set,
// is the search result it was found through.
func (r *clRun) opinion(resp *response, raw json.RawMessage, hit *clSearchResult) error {
	o, err := parseCLOpinion(raw)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrAPIResponse, resp.URL, err)
	}
	if r.seen[o.ID.String()] {
		return nil
	}
	r.seen[o.ID.String()] = true
	r.kept++

	env := r.env
	doc := env.baseDocument(resp)
	doc.RawSHA256 = corpus.HashBytes(raw)
	doc.URL = o.ResourceURI
	if o.AbsoluteURL != "" {
		if u, err := r.base.Parse(o.AbsoluteURL); err == nil {
			doc.URL = u.String()
		}
	}
	doc.Meta["opinion_id"] = o.ID.String()
	setIf(doc.Meta, "cluster_id", o.ClusterID.String())
	setIf(doc.Meta, "cluster", o.Cluster)
	setIf(doc.Meta, "author", o.AuthorStr)
	setIf(doc.Meta, "opinion_type", o.Type)
	setIf(doc.Meta, "date_created", o.DateCreated)
	if o.DownloadURL != nil {
		setIf(doc.Meta, "download_url", *o.DownloadURL)
	}
	if hit != nil {
		setIf(doc.Meta, "case_name", hit.CaseName)
		setIf(doc.Meta, "court", hit.Court)
		setIf(doc.Meta, "date_filed", hit.DateFiled)
		doc.Title = cutTitle(hit.CaseName)
	}

	text, field := o.text()
	doc.Meta["text_field"] = field
	doc.Meta["format"] = "courtlistener_json"
	if field == "" {
		return env.reject(doc, ReasonEmpty, fmt.Sprintf("opinion %s has no text in plain_text or the HTML fields", o.ID), int64(len(raw)))
	}
	return env.keep(doc, text, int64(len(raw)))
}

func setIf(m map[string]string, key, value string) {
	if value = strings.TrimSpace(value); value != "" {
		m[key] = value
	}
}
