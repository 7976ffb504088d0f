package config

import (
	"errors"
	"fmt"
)

var (
	// ErrUnknownKey is wrapped by the *Error that Load and Parse return when
	// the file has a key that Config does not define (often a typo).
	ErrUnknownKey = errors.New("unknown key")

	// ErrSyntax is wrapped by the *Error that Load and Parse return when the
	// file is not valid YAML, holds more than one document, or a value has
	// the wrong type for its key.
	ErrSyntax = errors.New("invalid YAML")

	// ErrInvalid is wrapped by the *Error that Load, Parse and Validate
	// return when a value is outside its documented range.
	ErrInvalid = errors.New("invalid value")
)

// Error locates a problem in a config file.
type Error struct {
	// File is the config file's path, or "" when the data did not come from
	// a file.
	File string
	// Line is the 1-based line of the offending key, or 0 when unknown.
	Line int
	// Key is the dotted path of the key ("collect.sources[0].path"), or ""
	// for problems with the whole file.
	Key string
	// Msg describes what is wrong and how to fix it.
	Msg string
	// Err is one of ErrUnknownKey, ErrSyntax and ErrInvalid.
	Err error
}

// Error formats the problem as "FILE:LINE: KEY: MSG", leaving out the
// parts that are unknown.
func (e *Error) Error() string {
	prefix := e.File
	if prefix == "" {
		prefix = "config"
	}
	if e.Line > 0 {
		prefix = fmt.Sprintf("%s:%d", prefix, e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: %s: %s", prefix, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", prefix, e.Msg)
}

// Unwrap returns the sentinel error that classifies the problem.
func (e *Error) Unwrap() error { return e.Err }
