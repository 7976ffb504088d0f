package collect

// PubMed is read through NCBI's Entrez Programming Utilities as documented
// in "Entrez Programming Utilities Help" (NCBI Bookshelf NBK25501, chapters
// "The E-utilities In-Depth" and "Usage guidelines"): esearch with
// retmode=json and usehistory=y gives a count, WebEnv and query_key; efetch
// with retmode=xml returns a PubmedArticleSet in the format of NLM's
// pubmed_250101.dtd. The api_key parameter raises the rate limit from 3 to
// 10 requests per second.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/adapt-llm/adapt/corpus"
)

// pubMedKeyEnv is the default environment variable of the NCBI API key.
const pubMedKeyEnv = "NCBI_API_KEY"

// defaultPageSize is the default number of records per efetch request.
const defaultPageSize = 200

// esearchResponse is the part of an esearch JSON reply that collect reads.
// NCBI sends the numbers as strings.
type esearchResponse struct {
	Result struct {
		Count    string   `json:"count"`
		RetMax   string   `json:"retmax"`
		RetStart string   `json:"retstart"`
		QueryKey string   `json:"querykey"`
		WebEnv   string   `json:"webenv"`
		IDList   []string `json:"idlist"`
		Error    string   `json:"ERROR"`
	} `json:"esearchresult"`
	Error string `json:"error"`
}

// pubmedArticle is one PubmedArticle element of an efetch reply.
type pubmedArticle struct {
	PMID        string               `xml:"MedlineCitation>PMID"`
	Title       xmlText              `xml:"MedlineCitation>Article>ArticleTitle"`
	Abstract    []pubmedAbstractText `xml:"MedlineCitation>Article>Abstract>AbstractText"`
	Journal     string               `xml:"MedlineCitation>Article>Journal>Title"`
	Year        string               `xml:"MedlineCitation>Article>Journal>JournalIssue>PubDate>Year"`
	MedlineDate string               `xml:"MedlineCitation>Article>Journal>JournalIssue>PubDate>MedlineDate"`
	MeSH        []string             `xml:"MedlineCitation>MeshHeadingList>MeshHeading>DescriptorName"`

	raw []byte // the element's bytes as received
}

// pubmedAbstractText is one AbstractText paragraph with its optional
// section label ("BACKGROUND", "METHODS").
type pubmedAbstractText struct {
	Label string
	Text  string
}

// xmlText is the text content of an element, nested markup such as <i> or
// <sup> included.
type xmlText string

func (t *xmlText) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	s, err := innerText(d)
	*t = xmlText(s)
	return err
}

func (a *pubmedAbstractText) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for _, attr := range start.Attr {
		if attr.Name.Local == "Label" {
			a.Label = strings.TrimSpace(attr.Value)
		}
	}
	s, err := innerText(d)
	a.Text = s
	return err
}

// innerText reads the character data up to the end of the current element,
// descending into child elements, and collapses white space.
func innerText(d *xml.Decoder) (string, error) {
	var b strings.Builder
	depth := 1
	for depth > 0 {
		tok, err := d.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			b.Write(t)
		}
	}
	return strings.Join(strings.Fields(b.String()), " "), nil
}

// parsePubMedXML parses an efetch PubmedArticleSet. Elements other than
// PubmedArticle (PubmedBookArticle, DeleteCitation) are counted in skipped;
// an ERROR element, which efetch sends for a bad request, is an error.
func parsePubMedXML(data []byte) (articles []pubmedArticle, skipped int, err error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	depth := 0
	for {
		offset := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			return articles, skipped, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("parsing PubMed XML at byte %d: %w", d.InputOffset(), err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth != 1 {
				depth++
				continue
			}
			if t.Name.Local == "ERROR" {
				msg, _ := innerText(d)
				return nil, 0, fmt.Errorf("efetch error: %s", msg)
			}
			if t.Name.Local != "PubmedArticle" {
				skipped++
				if err := d.Skip(); err != nil {
					return nil, 0, fmt.Errorf("parsing PubMed XML at byte %d: %w", d.InputOffset(), err)
				}
				continue
			}
			var a pubmedArticle
			if err := d.DecodeElement(&a, &t); err != nil {
				return nil, 0, fmt.Errorf("parsing PubmedArticle at byte %d: %w", offset, err)
			}
			a.PMID = strings.TrimSpace(a.PMID)
			a.raw = data[offset:d.InputOffset()]
			articles = append(articles, a)
		case xml.EndElement:
			depth--
		}
	}
}

var yearPattern = regexp.MustCompile(`\b(1[89]|20)\d\d\b`)

// year returns the publication year: PubDate/Year, or the first year in
// MedlineDate ("1998 Dec-1999 Jan").
func (a *pubmedArticle) year() string {
	if y := strings.TrimSpace(a.Year); y != "" {
		return y
	}
	return yearPattern.FindString(a.MedlineDate)
}

// text returns the title and the abstract, each labeled paragraph as
// "LABEL: text", separated by blank lines.
func (a *pubmedArticle) text() string {
	parts := []string{strings.TrimSpace(string(a.Title))}
	for _, p := range a.Abstract {
		if p.Text == "" {
			continue
		}
		if p.Label != "" {
			parts = append(parts, p.Label+": "+p.Text)
		} else {
			parts = append(parts, p.Text)
		}
	}
	return strings.Join(parts, "\n\n")
}

// pubmedRun is the state of one PubMed source.
type pubmedRun struct {
	env    *remoteEnv
	base   string
	apiKey string
	seen   map[string]bool
	kept   int
	limit  int
	size   int
}

// collectPubMed fetches the source's PMIDs, then the records that match
// its query, up to MaxDocuments articles.
func collectPubMed(ctx context.Context, env *remoteEnv) error {
	src := env.src
	r := &pubmedRun{
		env: env, base: strings.TrimRight(src.BaseURL, "/"), apiKey: src.token(pubMedKeyEnv),
		seen: map[string]bool{}, limit: src.maxDocuments(), size: src.PageSize,
	}
	if r.size == 0 {
		r.size = defaultPageSize
	}

	// Listed PMIDs, in batches.
	ids := src.IDs
	for len(ids) > 0 && r.kept < r.limit {
		n := min(len(ids), r.size, r.limit-r.kept)
		params := url.Values{"id": {strings.Join(ids[:n], ",")}}
		if err := r.efetch(ctx, params); err != nil {
			return err
		}
		ids = ids[n:]
	}
	if src.Query == "" || r.kept >= r.limit {
		return nil
	}

	// The query's records, through the history server.
	search, err := r.esearch(ctx, src.Query)
	if err != nil {
		return err
	}
	count, _ := strconv.Atoi(search.Result.Count)
	env.stats["pubmed_matches"] += float64(count)
	for start := 0; start < count && r.kept < r.limit; start += r.size {
		params := url.Values{
			"query_key": {search.Result.QueryKey}, "WebEnv": {search.Result.WebEnv},
			"retstart": {strconv.Itoa(start)}, "retmax": {strconv.Itoa(min(r.size, r.limit-r.kept))},
		}
		if err := r.efetch(ctx, params); err != nil {
			return err
		}
	}
	return nil
}

// endpoint builds an E-utilities URL with the shared parameters.
func (r *pubmedRun) endpoint(tool string, params url.Values) string {
	params.Set("db", "pubmed")
	params.Set("tool", "adapt")
	if r.apiKey != "" {
		params.Set("api_key", r.apiKey)
	}
	return r.base + "/" + tool + "?" + params.Encode()
}

// redact removes the API key from a URL before it goes into an error.
func (r *pubmedRun) redact(s string) string {
	if r.apiKey == "" {
		return s
	}
	return strings.ReplaceAll(s, "api_key="+url.QueryEscape(r.apiKey), "api_key=REDACTED")
}

func (r *pubmedRun) esearch(ctx context.Context, term string) (*esearchResponse, error) {
	u := r.endpoint("esearch.fcgi", url.Values{"term": {term}, "retmode": {"json"}, "usehistory": {"y"}, "retmax": {"0"}})
	resp, err := r.env.client.get(ctx, u)
	if err != nil {
		return nil, errors.New(r.redact(err.Error()))
	}
	if resp.Status != 200 {
		return nil, fmt.Errorf("%w: esearch %s: HTTP status %d", ErrAPIResponse, r.redact(u), resp.Status)
	}
	out, err := parseESearch(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: esearch %s: %v", ErrAPIResponse, r.redact(u), err)
	}
	return out, nil
}

// parseESearch decodes an esearch JSON reply and checks that it carries a
// result and no error.
func parseESearch(data []byte) (*esearchResponse, error) {
	var out esearchResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	switch {
	case out.Error != "":
		return nil, fmt.Errorf("NCBI error: %s", out.Error)
	case out.Result.Error != "":
		return nil, fmt.Errorf("NCBI error: %s", out.Result.Error)
	}
	if _, err := strconv.Atoi(out.Result.Count); err != nil {
		return nil, fmt.Errorf("count %q is not a number", out.Result.Count)
	}
	return &out, nil
}

// efetch fetches one page of records and emits a document or rejected row
// for each new PMID.
func (r *pubmedRun) efetch(ctx context.Context, params url.Values) error {
	params.Set("retmode", "xml")
	u := r.endpoint("efetch.fcgi", params)
	resp, err := r.env.client.get(ctx, u)
	if err != nil {
		return errors.New(r.redact(err.Error()))
	}
	if resp.Status != 200 || resp.Truncated {
		return fmt.Errorf("%w: efetch %s: HTTP status %d, truncated %v", ErrAPIResponse, r.redact(u), resp.Status, resp.Truncated)
	}
	articles, skipped, err := parsePubMedXML(resp.Body)
	if err != nil {
		return fmt.Errorf("%w: efetch %s: %v", ErrAPIResponse, r.redact(u), err)
	}
	r.env.stats["pubmed_skipped_records"] += float64(skipped)

	for i := range articles {
		a := &articles[i]
		if a.PMID == "" || r.seen[a.PMID] || r.kept >= r.limit {
			continue
		}
		r.seen[a.PMID] = true
		r.kept++
		if err := r.emit(resp, a); err != nil {
			return err
		}
	}
	return nil
}

// emit turns one article into a document, or a rejected row when it has no
// abstract.
func (r *pubmedRun) emit(resp *response, a *pubmedArticle) error {
	env := r.env
	doc := env.baseDocument(resp)
	doc.URL = "https://pubmed.ncbi.nlm.nih.gov/" + url.PathEscape(a.PMID) + "/"
	doc.RawSHA256 = corpus.HashBytes(a.raw)
	doc.Title = cutTitle(strings.TrimSpace(string(a.Title)))
	doc.Meta["format"] = "pubmed_xml"
	doc.Meta["pmid"] = a.PMID
	doc.Meta["journal"] = strings.TrimSpace(a.Journal)
	doc.Meta["year"] = a.year()
	if len(a.MeSH) > 0 {
		terms := make([]string, len(a.MeSH))
		for i, m := range a.MeSH {
			terms[i] = strings.TrimSpace(m)
		}
		doc.Meta["mesh"] = strings.Join(terms, "; ")
	}
	if len(a.Abstract) == 0 {
		return env.reject(doc, ReasonEmpty, "PMID "+a.PMID+" has no abstract", int64(len(a.raw)))
	}
	return env.keep(doc, a.text(), int64(len(a.raw)))
}
