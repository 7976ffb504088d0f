package tokenizer

import "errors"

// ErrUnsupported is returned by Load and LoadDir when a tokenizer.json
// names a model type, normalizer, pre-tokenizer, post-processor or decoder
// that this package does not implement. Examples are the WordPiece and
// Unigram models, the Whitespace pre-tokenizer, and non-null truncation or
// padding. The wrapping message names the file, the JSON path and the type.
var ErrUnsupported = errors.New("unsupported tokenizer component")

// ErrInvalid is returned by Load and LoadDir when a tokenizer.json is valid
// JSON but inconsistent: a merge names a token missing from the vocabulary,
// an id is negative, or a required field is missing. It is also returned by
// Train for invalid options. The wrapping message names the file and value.
var ErrInvalid = errors.New("invalid tokenizer")
