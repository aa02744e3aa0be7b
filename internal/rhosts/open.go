package rhosts

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// errNoFile: the file does not exist, which is no error, just no entries.
var errNoFile = errors.New("rhosts: no such file")

// fileError says why a file was not used.
type fileError struct {
	Path    string
	Problem string
}

func (e *fileError) Error() string { return e.Path + ": " + e.Problem }

// readChecked opens path without following a final symlink and reads it
// if it passes glibc's iruserfopen checks: a regular file, owned by root
// or okOwner, not group/other-writable, one link, at most max bytes.
// With asUID >= 0 and a root process, the open and read happen as that
// user (file-system uid/gid and groups of one throw-away OS thread).
func readChecked(path string, okOwner, asUID, asGID int, max int64) ([]byte, error) {
	if asUID <= 0 || os.Geteuid() != 0 {
		return readFile(path, okOwner, max)
	}
	type result struct {
		data []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		// Never unlocked: when this goroutine ends the runtime terminates
		// the thread instead of reusing it with the user's identity. New
		// threads are never cloned from a locked thread (they come from
		// the runtime's template thread), so nothing inherits it either.
		runtime.LockOSThread()
		if err := becomeFSUser(asUID, asGID); err != nil {
			ch <- result{nil, &fileError{path, "cannot switch to uid " + fmt.Sprint(asUID) + ": " + err.Error()}}
			return
		}
		data, err := readFile(path, okOwner, max)
		ch <- result{data, err}
	}()
	r := <-ch
	return r.data, r.err
}

// becomeFSUser switches this thread's file-system identity: groups
// (just gid), fsgid, fsuid. These Linux system calls are per thread.
// Leaving fsuid 0 also drops the file capabilities of the thread
// (CAP_DAC_OVERRIDE and friends).
func becomeFSUser(uid, gid int) error {
	if gid < 0 {
		return fmt.Errorf("bad gid %d", gid)
	}
	if err := unix.Setgroups([]int{gid}); err != nil {
		return err
	}
	if err := unix.Setfsgid(gid); err != nil {
		return err
	}
	if err := unix.Setfsuid(uid); err != nil {
		return err
	}
	// setfsuid reports failure only by not changing: ask again with an
	// invalid id, which returns the current one.
	if cur, _ := unix.SetfsuidRetUid(-1); cur != uid {
		return fmt.Errorf("fsuid is %d", cur)
	}
	if cur, _ := unix.SetfsgidRetGid(-1); cur != gid {
		return fmt.Errorf("fsgid is %d", cur)
	}
	return nil
}

func readFile(path string, okOwner int, max int64) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	switch {
	case err == unix.ENOENT:
		return nil, errNoFile
	case err == unix.ELOOP:
		return nil, &fileError{path, "is a symbolic link (not regular file)"}
	case err != nil:
		return nil, &fileError{path, "cannot open: " + err.Error()}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &fileError{path, "fstat failed: " + err.Error()}
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, &fileError{path, "not regular file"}
	case st.Uid != 0 && int(st.Uid) != okOwner:
		return nil, &fileError{path, fmt.Sprintf("bad owner (uid %d)", st.Uid)}
	case st.Mode&(unix.S_IWGRP|unix.S_IWOTH) != 0:
		return nil, &fileError{path, fmt.Sprintf("writeable by other than owner (mode %#o)", st.Mode&0o7777)}
	case st.Nlink > 1:
		return nil, &fileError{path, fmt.Sprintf("hard linked somewhere (%d links)", st.Nlink)}
	case st.Size > max:
		return nil, &fileError{path, fmt.Sprintf("larger than %d bytes", max)}
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, &fileError{path, "read failed: " + err.Error()}
	}
	if int64(len(data)) > max {
		return nil, &fileError{path, fmt.Sprintf("larger than %d bytes", max)}
	}
	return data, nil
}
