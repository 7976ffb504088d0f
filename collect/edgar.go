package collect

// EDGAR is read as SEC's "EDGAR Application Programming Interfaces" page
// and "Accessing EDGAR Data" (www.sec.gov/os/accessing-edgar-data) describe
// them: data.sec.gov/submissions/CIK##########.json lists a company's
// filings as parallel arrays under filings.recent, older filings sit in the
// extra files named in filings.files, and a filing's primary document lives
// at /Archives/edgar/data/<CIK>/<accession number without dashes>/<name>.
// SEC requires a User-Agent that names the requester with an e-mail
// address and allows at most 10 requests per second. Item headings of a
// 10-K follow Form 10-K's General Instructions (Items 1 to 16).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// edgarFilingArrays is the column-wise filing list of a submissions file:
// element i of every slice describes filing i.
type edgarFilingArrays struct {
	AccessionNumber []string `json:"accessionNumber"`
	FilingDate      []string `json:"filingDate"`
	ReportDate      []string `json:"reportDate"`
	Form            []string `json:"form"`
	PrimaryDocument []string `json:"primaryDocument"`
}

// edgarSubmissions is the part of a CIK##########.json file collect reads.
type edgarSubmissions struct {
	CIK     json.RawMessage `json:"cik"` // a string in current files, a number in some older ones
	Name    string          `json:"name"`
	Filings struct {
		Recent edgarFilingArrays `json:"recent"`
		Files  []struct {
			Name        string `json:"name"`
			FilingCount int    `json:"filingCount"`
		} `json:"files"`
	} `json:"filings"`
}

// edgarFiling is one row of the filing arrays.
type edgarFiling struct {
	Accession, FilingDate, ReportDate, Form, PrimaryDocument string
}

// rows checks that the arrays have equal lengths and returns the filings.
func (a *edgarFilingArrays) rows() ([]edgarFiling, error) {
	n := len(a.AccessionNumber)
	for name, col := range map[string][]string{"filingDate": a.FilingDate, "form": a.Form, "primaryDocument": a.PrimaryDocument} {
		if len(col) != n {
			return nil, fmt.Errorf("filing arrays differ in length: accessionNumber has %d entries, %s has %d", n, name, len(col))
		}
	}
	out := make([]edgarFiling, n)
	for i := range out {
		out[i] = edgarFiling{
			Accession: a.AccessionNumber[i], FilingDate: a.FilingDate[i], Form: a.Form[i], PrimaryDocument: a.PrimaryDocument[i],
		}
		if i < len(a.ReportDate) {
			out[i].ReportDate = a.ReportDate[i]
		}
	}
	return out, nil
}

// parseEDGARSubmissions decodes a company submissions file.
func parseEDGARSubmissions(data []byte) (*edgarSubmissions, []edgarFiling, error) {
	var s edgarSubmissions
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, nil, fmt.Errorf("invalid submissions JSON: %v", err)
	}
	rows, err := s.Filings.Recent.rows()
	if err != nil {
		return nil, nil, err
	}
	return &s, rows, nil
}

// parseEDGARFilingsFile decodes one of the older-filings files named in
// filings.files, which holds the filing arrays at the top level.
func parseEDGARFilingsFile(data []byte) ([]edgarFiling, error) {
	var a edgarFilingArrays
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("invalid filings JSON: %v", err)
	}
	return a.rows()
}

// checkEDGARUserAgent accepts a User-Agent that contains an e-mail address
// ("Example Corp admin@example.com").
func checkEDGARUserAgent(ua string) error {
	switch {
	case strings.TrimSpace(ua) == "":
		return fmt.Errorf("%w: edgar needs user_agent set to your name or company and an e-mail address, "+
			"such as \"Example Corp admin@example.com\"; SEC blocks requests without one", ErrUserAgent)
	case ua == DefaultUserAgent || !strings.Contains(ua, "@"):
		return fmt.Errorf("%w: edgar user_agent %q has no e-mail address; add one, such as \"Example Corp admin@example.com\"", ErrUserAgent, ua)
	}
	return nil
}

// paddedCIK returns a CIK as the 10 digits with leading zeros that
// submissions file names use.
func paddedCIK(cik string) (string, error) {
	cik = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(cik)), "CIK")
	n, err := strconv.ParseUint(cik, 10, 64)
	if err != nil || n == 0 || n > 9_999_999_999 {
		return "", fmt.Errorf("CIK %q is not a number of 1 to 10 digits", cik)
	}
	return fmt.Sprintf("%010d", n), nil
}

// edgarRun is the state of one EDGAR source.
type edgarRun struct {
	env     *remoteEnv
	base    string
	archive string
	forms   map[string]bool
	done    int // filings fetched
	limit   int
}

// collectEDGAR fetches the primary documents of the chosen forms for every
// CIK, newest first as the submissions file lists them, up to MaxDocuments
// filings in all.
func collectEDGAR(ctx context.Context, env *remoteEnv) error {
	src := env.src
	if err := checkEDGARUserAgent(src.UserAgent); err != nil {
		return err
	}
	r := &edgarRun{
		env: env, base: strings.TrimRight(src.BaseURL, "/"), archive: strings.TrimRight(src.ArchiveURL, "/"),
		forms: map[string]bool{}, limit: src.maxDocuments(),
	}
	if r.archive == "" {
		r.archive = r.base
	}
	for _, f := range src.Forms {
		r.forms[strings.TrimSpace(f)] = true
	}
	if len(r.forms) == 0 {
		r.forms["10-K"] = true
	}

	for _, cik := range src.IDs {
		if r.done >= r.limit {
			break
		}
		if err := r.company(ctx, cik); err != nil {
			return err
		}
	}
	return nil
}

// getJSON fetches an API URL and returns its body, or an error for a
// non-200 status.
func (r *edgarRun) getJSON(ctx context.Context, u string) ([]byte, error) {
	resp, err := r.env.client.get(ctx, u)
	if err != nil {
		return nil, err
	}
	if resp.Status != 200 || resp.Truncated {
		return nil, fmt.Errorf("%w: %s: HTTP status %d, truncated %v", ErrAPIResponse, u, resp.Status, resp.Truncated)
	}
	return resp.Body, nil
}

// company fetches one CIK's submissions and its matching filings.
func (r *edgarRun) company(ctx context.Context, cik string) error {
	padded, err := paddedCIK(cik)
	if err != nil {
		return err
	}
	u := r.base + "/submissions/CIK" + padded + ".json"
	body, err := r.getJSON(ctx, u)
	if err != nil {
		return err
	}
	subs, filings, err := parseEDGARSubmissions(body)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrAPIResponse, u, err)
	}
	if err := r.filings(ctx, padded, subs.Name, filings); err != nil {
		return err
	}

	// Older filings, while the limit allows.
	for _, f := range subs.Filings.Files {
		if r.done >= r.limit {
			return nil
		}
		fu := r.base + "/submissions/" + url.PathEscape(f.Name)
		body, err := r.getJSON(ctx, fu)
		if err != nil {
			return err
		}
		older, err := parseEDGARFilingsFile(body)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrAPIResponse, fu, err)
		}
		if err := r.filings(ctx, padded, subs.Name, older); err != nil {
			return err
		}
	}
	return nil
}

// filings fetches the filings whose form was chosen.
func (r *edgarRun) filings(ctx context.Context, cik, company string, filings []edgarFiling) error {
	for _, f := range filings {
		if r.done >= r.limit {
			return nil
		}
		if !r.forms[f.Form] || f.PrimaryDocument == "" {
			continue
		}
		r.done++
		if err := r.filing(ctx, cik, company, f); err != nil {
			return err
		}
	}
	return nil
}

// filing fetches one primary document and emits it, split into items for
// annual reports.
func (r *edgarRun) filing(ctx context.Context, cik, company string, f edgarFiling) error {
	env := r.env
	n, _ := strconv.ParseUint(cik, 10, 64)
	docURL := fmt.Sprintf("%s/Archives/edgar/data/%d/%s/%s", r.archive, n,
		strings.ReplaceAll(f.Accession, "-", ""), url.PathEscape(f.PrimaryDocument))

	resp, err := env.client.get(ctx, docURL)
	if err != nil && (errors.Is(err, ErrAddressRefused) || ctx.Err() != nil) {
		return fmt.Errorf("fetching %s: %w", docURL, err)
	}
	if rejected, err := env.rejectResponse(docURL, resp, err); rejected || err != nil {
		return err
	}
	doc := env.baseDocument(resp)
	doc.Meta["cik"] = cik
	doc.Meta["company"] = company
	doc.Meta["form"] = f.Form
	doc.Meta["accession"] = f.Accession
	doc.Meta["filing_date"] = f.FilingDate
	if f.ReportDate != "" {
		doc.Meta["report_date"] = f.ReportDate
	}
	bodyLen := int64(len(resp.Body))

	mediaType, body, err := decodeTextBody(resp)
	if err != nil {
		return env.reject(doc, ReasonContentType, fmt.Sprintf("%s: %v", resp.URL, err), bodyLen)
	}
	text := string(body)
	doc.Meta["format"] = formatText
	if mediaType == "text/html" {
		text, _ = webHTMLText(body)
		doc.Meta["format"] = formatHTML
	}
	doc.Title = strings.TrimSpace(fmt.Sprintf("%s %s %s", company, f.Form, f.FilingDate))

	sections := splitItems(normalizeText(text))
	if !isAnnualReport(f.Form) || len(sections) < 2 {
		return env.keep(doc, text, bodyLen)
	}
	for i, s := range sections {
		part := doc
		part.Meta = make(map[string]string, len(doc.Meta)+2)
		for k, v := range doc.Meta {
			part.Meta[k] = v
		}
		part.URL = resp.URL + "#item-" + strings.ToLower(s.item)
		part.Meta["item"] = s.item
		part.Meta["item_title"] = s.title
		part.Title = cutTitle(strings.TrimSpace(fmt.Sprintf("%s: Item %s. %s", doc.Title, s.item, s.title)))
		// The body counts once toward bytes_in, with the first section.
		size := int64(0)
		if i == 0 {
			size = bodyLen
		}
		if err := env.keep(part, s.text, size); err != nil {
			return err
		}
	}
	return nil
}

// isAnnualReport reports whether form is a 10-K variant, whose primary
// document is organized in numbered items.
func isAnnualReport(form string) bool {
	switch form {
	case "10-K", "10-K/A", "10-K405", "10-KT", "10-KT/A":
		return true
	}
	return false
}

// itemSection is one "Item N." section of an annual report.
type itemSection struct {
	item  string // upper case, such as "1A"
	title string // the heading text after the item number
	text  string // heading line included
	start int    // line index of the heading
}

// itemHeading matches a line that starts an item: "Item 1A. Risk Factors",
// "ITEM 7 - Management's Discussion", "Item 9B:".
var itemHeading = regexp.MustCompile(`(?i)^item[\s\x{00a0}]+(\d{1,2}[a-d]?)\b[\s\x{00a0}]*[.:\x{2013}\x{2014}-]?[\s\x{00a0}]*(.*)$`)

// splitItems splits annual-report text at lines that start with an item
// heading. The table of contents repeats every heading, so for each item
// the longest section is kept; sections come back in document order. Text
// before the first heading (the cover page) is left out.
func splitItems(text string) []itemSection {
	lines := strings.Split(text, "\n")
	var heads []itemSection
	for i, line := range lines {
		m := itemHeading.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		title := strings.Join(strings.Fields(m[2]), " ")
		if title == "" && i+1 < len(lines) {
			title = strings.Join(strings.Fields(lines[i+1]), " ")
		}
		heads = append(heads, itemSection{item: strings.ToUpper(m[1]), title: cutTitle(title), start: i})
	}

	best := map[string]int{} // item -> index in heads of its longest section
	for i := range heads {
		end := len(lines)
		if i+1 < len(heads) {
			end = heads[i+1].start
		}
		heads[i].text = strings.Join(lines[heads[i].start:end], "\n")
		if j, ok := best[heads[i].item]; !ok || len(heads[i].text) > len(heads[j].text) {
			best[heads[i].item] = i
		}
	}

	var out []itemSection
	for i, h := range heads {
		if best[h.item] == i {
			out = append(out, h)
		}
	}
	return out
}
