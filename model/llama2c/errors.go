package llama2c

import "errors"

// ErrCorrupt is wrapped by ReadCheckpoint, ParseCheckpoint, ReadTokenizer
// and ParseTokenizer when a file does not follow the llama2.c layout: a
// non-positive header field, a size that disagrees with the header, or a
// token record that runs past the end of the file. The message names the
// file, the field and its byte offset.
var ErrCorrupt = errors.New("corrupt llama2.c file")
