package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// lockFileName is the file in a workspace that holds the workspace lock.
// adapt never removes it, because removing a lock file while another
// process waits to open it would let two processes lock different files.
const lockFileName = ".adapt.lock"

// workspaceBusyError is the error of lockWorkspace when another process
// holds the workspace lock. It maps to exit status 5.
type workspaceBusyError struct {
	workspace workspace
	// holder is the holder's process id and start time, as readLockHolder
	// formats them.
	holder string
}

func (e *workspaceBusyError) Error() string {
	return fmt.Sprintf("workspace %s is in use by another adapt process (%s); wait for it or use another -w", e.workspace, e.holder)
}

// workspaceLock is an exclusive advisory lock on WORKSPACE/.adapt.lock.
// The operating system releases it when the process exits, including on a
// signal, so a crashed adapt never leaves a workspace locked.
type workspaceLock struct {
	file *os.File
}

// lockWorkspace creates ws when it is missing and takes the lock on it, or
// returns a *workspaceBusyError that names the holder's process id and
// start time. A process that already holds the lock on ws
// gets a release function that does nothing, so that the stages of
// adapt run take it once for the whole chain.
func (a *adapt) lockWorkspace(ws workspace) (release func(), err error) {
	key := absPath(string(ws))
	if a.lockedWorkspace == key {
		return func() {}, nil
	}
	if err := os.MkdirAll(string(ws), 0o755); err != nil {
		return nil, fmt.Errorf("creating workspace %s: %w", ws, err)
	}

	path := ws.path(lockFileName)
	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening workspace lock %s: %w", path, err)
	}
	locked, err := tryLock(file)
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("locking workspace %s: %w", ws, err)
	}
	if !locked {
		holder := readLockHolder(file)
		file.Close()
		return nil, &workspaceBusyError{workspace: ws, holder: holder}
	}

	// Record who holds the lock for the message of the next process. A
	// failure here leaves the lock itself intact.
	if err := writeLockHolder(file); err != nil {
		a.log.Warn("writing the workspace lock holder", "path", path, "err", err)
	}
	a.lockedWorkspace = key
	lock := &workspaceLock{file: file}
	return func() {
		a.lockedWorkspace = ""
		lock.release()
	}, nil
}

// release clears the holder and unlocks the file by closing it.
func (l *workspaceLock) release() {
	_ = l.file.Truncate(0)
	_ = l.file.Close()
}

// writeLockHolder replaces the content of file with "pid N\nstarted T\n",
// T in RFC 3339.
func writeLockHolder(file *os.File) error {
	if err := file.Truncate(0); err != nil {
		return err
	}
	text := fmt.Sprintf("pid %d\nstarted %s\n", os.Getpid(), time.Now().Format(time.RFC3339))
	_, err := file.WriteAt([]byte(text), 0)
	return err
}

// readLockHolder formats the process id and start time recorded in file,
// such as "pid 4242, started 2025-05-01T10:00:00Z". The holder writes them
// just after it takes the lock, so they can be missing for a moment.
func readLockHolder(file *os.File) string {
	buf := make([]byte, 256)
	n, _ := file.ReadAt(buf, 0)
	var pid, started string
	for _, line := range strings.Split(string(buf[:n]), "\n") {
		key, value, _ := strings.Cut(line, " ")
		switch key {
		case "pid":
			if _, err := strconv.Atoi(value); err == nil {
				pid = value
			}
		case "started":
			started = value
		}
	}
	if pid == "" {
		return "pid unknown"
	}
	if started == "" {
		return "pid " + pid
	}
	return "pid " + pid + ", started " + started
}
