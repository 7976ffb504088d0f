package collect

import (
	"bytes"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
)

// metaEncoding is the Document.Meta key that names the character encoding
// a text file was decoded from, set only when the file was not plain UTF-8
// without a byte order mark.
const metaEncoding = "encoding"

// Encoding names recorded in Document.Meta["encoding"]. A charset named by
// an HTML meta tag is recorded under its WHATWG name instead.
const (
	encodingUTF8BOM     = "utf-8-bom"
	encodingUTF16LE     = "utf-16le"
	encodingUTF16BE     = "utf-16be"
	encodingWindows1252 = "windows-1252"
)

// Byte order marks (Unicode 15.0, section 23.8).
var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// htmlSniffLen is how many leading bytes are searched for a meta charset,
// the 1024 bytes of the WHATWG HTML encoding sniffing algorithm.
const htmlSniffLen = 1024

// decodeText returns data as UTF-8 and the name of the encoding it was
// decoded from, or "" when data was valid UTF-8 without a byte order mark
// and is returned unchanged. The steps, in order, are a UTF-8 or UTF-16
// byte order mark, valid UTF-8, and for HTML a charset named by a meta tag.
// Everything else decodes as Windows-1252, which maps every byte and agrees
// with ISO-8859-1 on its printable characters, so Latin-1 text reads right
// and no byte is lost.
func decodeText(data []byte, format string) ([]byte, string) {
	switch {
	case bytes.HasPrefix(data, bomUTF8):
		return data[len(bomUTF8):], encodingUTF8BOM
	case bytes.HasPrefix(data, bomUTF16LE):
		return decodeWith(unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), data), encodingUTF16LE
	case bytes.HasPrefix(data, bomUTF16BE):
		return decodeWith(unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM), data), encodingUTF16BE
	case utf8.Valid(data):
		return data, ""
	}

	if format == formatHTML {
		if name := htmlMetaCharset(data); name != "" {
			if enc, err := htmlindex.Get(name); err == nil {
				if canonical, err := htmlindex.Name(enc); err == nil && canonical != "utf-8" {
					return decodeWith(enc, data), canonical
				}
			}
		}
	}
	return decodeWith(charmap.Windows1252, data), encodingWindows1252
}

// decodeWith decodes data with enc. Bytes that enc cannot map become
// U+FFFD, so the result is always valid UTF-8.
func decodeWith(enc encoding.Encoding, data []byte) []byte {
	out, err := enc.NewDecoder().Bytes(data)
	if err != nil {
		return bytes.ToValidUTF8(data, []byte("\uFFFD"))
	}
	return out
}

// htmlMetaCharset returns the charset that a <meta charset=...> or
// <meta http-equiv="Content-Type" content="...; charset=..."> tag in the
// first htmlSniffLen bytes names, or "". Both forms contain "charset=",
// followed by the name, optionally quoted.
func htmlMetaCharset(data []byte) string {
	head := bytes.ToLower(data[:min(len(data), htmlSniffLen)])
	for {
		meta := bytes.Index(head, []byte("<meta"))
		if meta < 0 {
			return ""
		}
		head = head[meta+len("<meta"):]
		end := bytes.IndexByte(head, '>')
		if end < 0 {
			return ""
		}
		tag := head[:end]
		at := bytes.Index(tag, []byte("charset="))
		if at < 0 {
			continue
		}
		value := bytes.TrimLeft(tag[at+len("charset="):], `"' `)
		stop := bytes.IndexAny(value, `"'; />`)
		if stop >= 0 {
			value = value[:stop]
		}
		if len(value) > 0 {
			return string(value)
		}
	}
}
