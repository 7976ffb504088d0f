package collect

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/simplifiedchinese"
	xunicode "golang.org/x/text/encoding/unicode"
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
	// encodingUTF8Repaired is UTF-8 with a few invalid bytes, each
	// replaced by U+FFFD.
	encodingUTF8Repaired = "utf-8-repaired"
	encodingGB18030      = "gb18030"
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
// byte order mark, valid UTF-8, for HTML a charset named by a meta tag,
// UTF-8 with a few invalid bytes (see mostlyUTF8), and GB18030 (which
// covers GBK and GB2312) when the text decodes to Chinese (see looksGB18030).
// Everything else decodes as Windows-1252, which maps every byte and agrees
// with ISO-8859-1 on its printable characters, so Latin-1 text reads right
// and no byte is lost.
func decodeText(data []byte, format string) ([]byte, string) {
	switch {
	case bytes.HasPrefix(data, bomUTF8):
		return data[len(bomUTF8):], encodingUTF8BOM
	case bytes.HasPrefix(data, bomUTF16LE):
		return decodeWith(xunicode.UTF16(xunicode.LittleEndian, xunicode.ExpectBOM), data), encodingUTF16LE
	case bytes.HasPrefix(data, bomUTF16BE):
		return decodeWith(xunicode.UTF16(xunicode.BigEndian, xunicode.ExpectBOM), data), encodingUTF16BE
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
	if mostlyUTF8(data) {
		return bytes.ToValidUTF8(data, []byte("\uFFFD")), encodingUTF8Repaired
	}
	if text, ok := looksGB18030(data); ok {
		return text, encodingGB18030
	}
	return decodeWith(charmap.Windows1252, data), encodingWindows1252
}

// mostlyUTF8 reports whether data is UTF-8 damaged in a few places: its
// valid multi-byte sequences outnumber its invalid bytes at least ten to
// one. One stray byte in a Chinese file then costs one U+FFFD instead of
// turning every character into Windows-1252 mojibake. Latin-1 text, whose
// bytes above 0x7F rarely form valid sequences, does not qualify.
func mostlyUTF8(data []byte) bool {
	multi, invalid := 0, 0
	for i := 0; i < len(data); {
		if data[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			invalid++
		} else {
			multi++
		}
		i += size
	}
	return invalid > 0 && multi >= 10*invalid
}

// looksGB18030 decodes data as GB18030 and reports whether the result reads
// as Chinese. Every byte must decode, and the result needs at least 4 CJK
// characters (Han ideographs, CJK punctuation, full-width forms). They must
// make up at least 80% of its non-ASCII characters, and at least 80% of
// them must sit next to another CJK character. The last test separates
// Chinese from Latin-1 text: there GB18030 also pairs a byte above 0x7F
// with the ASCII letter after it, but the ideographs sit alone between
// letters.
func looksGB18030(data []byte) ([]byte, bool) {
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil {
		return nil, false
	}
	runes := []rune(string(out))
	isCJK := func(i int) bool {
		if i < 0 || i >= len(runes) {
			return false
		}
		r := runes[i]
		return unicode.Is(unicode.Han, r) || (r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF)
	}
	cjk, paired, other := 0, 0, 0
	for i, r := range runes {
		switch {
		case r < utf8.RuneSelf:
		case r == utf8.RuneError:
			return nil, false
		case isCJK(i):
			cjk++
			if isCJK(i-1) || isCJK(i+1) {
				paired++
			}
		default:
			other++
		}
	}
	return out, cjk >= 4 && cjk >= 4*other && 5*paired >= 4*cjk
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
