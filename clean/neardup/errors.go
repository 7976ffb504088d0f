package neardup

import "errors"

// ErrInvalidConfig is returned by Config.Validate, NewHasher, NewIndex and
// Signatures when a field of Config is out of range.
var ErrInvalidConfig = errors.New("invalid near-dedup configuration")

// ErrCorruptSignatures is returned by ReadSignatures and Merge when a
// signature file has no parameter metadata, metadata that does not parse,
// or a signature of the wrong length. The message names the file and row;
// rewrite the file with WriteSignatures.
var ErrCorruptSignatures = errors.New("corrupt signature file")

// ErrParamsMismatch is returned by Merge and Cluster when signature files
// were computed with different parameters (num_perm, shingle size, hash
// version or threshold), so their signatures cannot be compared. Recompute
// the signatures of every shard with one Config.
var ErrParamsMismatch = errors.New("signature files use different parameters")

// ErrDuplicateRow is returned by Merge and Cluster when two records have the
// same shard and row, which happens when one signature file is passed twice
// or two shards were given the same name.
var ErrDuplicateRow = errors.New("duplicate shard and row in signatures")
