package collect

import "errors"

// ErrSourceNotFound is returned by Run when a source's path does not exist.
// Nothing is written in that case.
var ErrSourceNotFound = errors.New("source path not found")

// ErrInvalidOptions is returned by Run when Options is incomplete or names an
// unsupported source kind.
var ErrInvalidOptions = errors.New("invalid collect options")

// ErrAddressRefused is returned by Run, wrapped, when a remote source would
// connect to a loopback, private, link-local, multicast or cloud metadata
// address. Loopback is allowed with RemoteSource.AllowLoopback, and the
// others are always rejected.
var ErrAddressRefused = errors.New("address not allowed")

// ErrUserAgent is returned by Run when an edgar source has no User-Agent
// with a contact. SEC requires every client of EDGAR to name itself and give an
// e-mail address, and blocks clients that do not.
var ErrUserAgent = errors.New("user agent without contact")

// ErrAPIResponse is returned by Run, wrapped, when a remote API returns
// an error status or a body that does not parse. The message names the URL
// and the status or the parse error.
var ErrAPIResponse = errors.New("invalid API response")
