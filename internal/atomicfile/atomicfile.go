// Package atomicfile writes a file so that readers see either the old
// contents at its path or the complete new contents, never a partial file.
//
// The data goes to a temporary file in the same folder as the destination,
// which is flushed to stable storage with fsync, given its final mode and
// then renamed over the destination. On POSIX file systems rename(2) replaces
// the destination atomically. The folder itself is not fsynced, so after a
// power loss the rename may be lost and the path may still show the old
// file (or no file), but never a partial new one. On Windows, os.Rename is
// not guaranteed to be atomic.
package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
)

// File is a temporary file that becomes the file at its destination path
// when Commit succeeds. It is not safe for concurrent use.
type File struct {
	*os.File
	path string
	perm fs.FileMode
	done bool
}

// Create opens a new temporary file in the folder of path. Data written to
// the returned File appears at path only after Commit, with mode perm (not
// reduced by the umask). The folder must exist. Call Abort, typically
// deferred, to remove the temporary file when Commit is not reached.
func Create(path string, perm fs.FileMode) (*File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &File{File: tmp, path: path, perm: perm}, nil
}

// Path returns the destination path that Commit renames the file to.
func (f *File) Path() string { return f.path }

// Commit fsyncs the temporary file, sets its mode, closes it and renames it
// to the destination path, replacing any file there. After an error the
// temporary file is removed and the destination is unchanged. Commit and
// Abort do nothing once either has run.
func (f *File) Commit() error {
	if f.done {
		return nil
	}
	f.done = true

	err := f.File.Sync()
	if err == nil {
		// CreateTemp makes the file 0600. Chmod sets perm exactly, ignoring the umask.
		err = f.File.Chmod(f.perm)
	}
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.File.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.File.Name())
		return err
	}
	return nil
}

// Abort closes and removes the temporary file, leaving the destination
// unchanged. It is safe to call after Commit, where it does nothing, so
// callers can defer it right after Create.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.File.Name())
}

// WriteFile writes data to path atomically with mode perm, like os.WriteFile
// but through a temporary file that is fsynced and renamed over path. The
// folder of path must exist.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()

	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}
