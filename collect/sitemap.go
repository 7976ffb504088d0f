package collect

// Sitemaps follow the sitemaps.org protocol 0.9: a <urlset> of <url><loc>
// entries or a <sitemapindex> of <sitemap><loc> entries, optionally gzip
// compressed, at most 50,000 URLs and 50 MB uncompressed per file.

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Sitemap limits from the sitemaps.org protocol.
const (
	maxSitemapURLs  = 50_000
	maxSitemapBytes = 50 << 20
	// maxSitemapFiles caps how many sitemap files one host contributes,
	// index children included.
	maxSitemapFiles = 20
)

// sitemap is a parsed sitemap file: page URLs from a urlset, child sitemap
// URLs from a sitemap index.
type sitemap struct {
	pages    []string
	children []string
}

// parseSitemap parses a sitemap or sitemap index, gunzipping it first when
// it starts with the gzip magic bytes.
func parseSitemap(data []byte) (*sitemap, error) {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("opening gzip sitemap: %w", err)
		}
		data, err = io.ReadAll(io.LimitReader(zr, maxSitemapBytes+1))
		if err != nil {
			return nil, fmt.Errorf("decompressing sitemap: %w", err)
		}
		if len(data) > maxSitemapBytes {
			return nil, fmt.Errorf("sitemap is larger than %d bytes uncompressed", maxSitemapBytes)
		}
	}

	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	out := &sitemap{}
	var stack []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parsing sitemap XML at byte %d: %w", d.InputOffset(), err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if len(stack) < 2 || stack[len(stack)-1] != "loc" {
				continue
			}
			loc := strings.TrimSpace(string(t))
			if loc == "" {
				continue
			}
			switch stack[len(stack)-2] {
			case "url":
				if len(out.pages) < maxSitemapURLs {
					out.pages = append(out.pages, loc)
				}
			case "sitemap":
				if len(out.children) < maxSitemapURLs {
					out.children = append(out.children, loc)
				}
			}
		}
	}
	return out, nil
}
