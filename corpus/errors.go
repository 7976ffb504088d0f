package corpus

import "errors"

// ErrCountMismatch is returned by Counts.Check when a stage's input count is
// not the sum of its kept and rejected counts, which means a document was
// lost or counted twice.
var ErrCountMismatch = errors.New("row counts do not add up")

// ErrNoManifest is returned by ReadManifest when the folder has no
// manifest.json, usually because the stage that writes it has not run yet or
// did not finish.
var ErrNoManifest = errors.New("manifest not found")

// ErrCorruptShard is returned by the shard readers when a file is not a
// readable Parquet file of the expected layout (bad footer, truncated pages,
// a decoder fault).
var ErrCorruptShard = errors.New("corrupt parquet shard")
