package collect

import "errors"

// ErrSourceNotFound is returned by Run when a source's path does not exist.
// Nothing is written in that case.
var ErrSourceNotFound = errors.New("source path not found")

// ErrInvalidOptions is returned by Run when Options is incomplete or names an
// unsupported source kind.
var ErrInvalidOptions = errors.New("invalid collect options")
