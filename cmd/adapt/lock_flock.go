//go:build linux || darwin

package main

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an exclusive flock(2) on file without waiting. It returns
// false when another open file description holds the lock, which includes
// another lockWorkspace call in this process.
func tryLock(file *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(file.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		}
		return false, err
	}
}
