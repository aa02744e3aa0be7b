package rhosts

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"

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
		// The thread is given back only if its identity is restored and
		// verified; otherwise it stays locked to this goroutine, and the
		// runtime terminates it (or, for the main thread, parks it for
		// good) when the goroutine ends. New threads are never cloned
		// from a locked thread (they come from the runtime's template
		// thread), so nothing inherits the user's identity.
		runtime.LockOSThread()
		restore, err := becomeFSUser(asUID, asGID)
		if err != nil {
			ch <- result{nil, &fileError{path, "cannot switch to uid " + fmt.Sprint(asUID) + ": " + err.Error()}}
			if restore() == nil {
				runtime.UnlockOSThread()
			}
			return
		}
		data, err := readFile(path, okOwner, max)
		if rerr := restore(); rerr != nil {
			ch <- result{nil, &fileError{path, "cannot switch back from uid " + fmt.Sprint(asUID) + ": " + rerr.Error()}}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{data, err}
	}()
	r := <-ch
	return r.data, r.err
}

// becomeFSUser switches this thread's file-system identity: groups
// (just gid), fsgid, fsuid. These Linux system calls are per thread.
// Leaving fsuid 0 also drops the thread's file capabilities
// (CAP_DAC_OVERRIDE and friends); going back to 0 restores them. The
// returned function restores the original identity and verifies it; it
// is valid (and must be called) even when becomeFSUser fails.
func becomeFSUser(uid, gid int) (restore func() error, err error) {
	origGroups, gerr := unix.Getgroups()
	origUID, _ := unix.SetfsuidRetUid(-1)
	origGID, _ := unix.SetfsgidRetGid(-1)
	restore = func() error {
		if gerr != nil {
			return gerr
		}
		unix.Setfsuid(origUID)
		unix.Setfsgid(origGID)
		if err := unix.Setgroups(origGroups); err != nil {
			return err
		}
		if cur, _ := unix.SetfsuidRetUid(-1); cur != origUID {
			return fmt.Errorf("fsuid is %d, want %d", cur, origUID)
		}
		if cur, _ := unix.SetfsgidRetGid(-1); cur != origGID {
			return fmt.Errorf("fsgid is %d, want %d", cur, origGID)
		}
		now, err := unix.Getgroups()
		if err != nil || !slices.Equal(now, origGroups) {
			return fmt.Errorf("groups are %v, want %v (%v)", now, origGroups, err)
		}
		return nil
	}
	if gerr != nil {
		return restore, gerr
	}
	if gid < 0 {
		return restore, fmt.Errorf("bad gid %d", gid)
	}
	if err := unix.Setgroups([]int{gid}); err != nil {
		return restore, err
	}
	if err := unix.Setfsgid(gid); err != nil {
		return restore, err
	}
	if err := unix.Setfsuid(uid); err != nil {
		return restore, err
	}
	// setfsuid reports failure only by not changing: ask again with an
	// invalid id, which returns the current one.
	if cur, _ := unix.SetfsuidRetUid(-1); cur != uid {
		return restore, fmt.Errorf("fsuid is %d", cur)
	}
	if cur, _ := unix.SetfsgidRetGid(-1); cur != gid {
		return restore, fmt.Errorf("fsgid is %d", cur)
	}
	return restore, nil
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
