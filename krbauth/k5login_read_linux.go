//go:build linux

package krbauth

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// k5loginRead reads the .k5login at path as user u would: when the daemon
// runs as root it does so on a dedicated OS thread whose file-system
// uid/gid and groups are u's (setfsuid(2) drops CAP_DAC_OVERRIDE), so a
// file u cannot read stays unread, NFS root-squash homes work, and the
// daemon is never made to open a file on the user's behalf that the user
// could not open. data == nil and why == "" means there is no file.
func k5loginRead(path string, u LocalUser, max int64) (data []byte, why string, err error) {
	if os.Geteuid() != 0 || u.UID == 0 {
		return k5loginReadFile(path, u, max)
	}
	type result struct {
		data []byte
		why  string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		// Never unlocked: this thread's credentials are changed, so the
		// runtime must throw the thread away when the goroutine ends.
		runtime.LockOSThread()
		if err := k5BecomeUserFS(u); err != nil {
			ch <- result{nil, "cannot take on the user's file-system identity", err}
			return
		}
		d, w, e := k5loginReadFile(path, u, max)
		ch <- result{d, w, e}
	}()
	r := <-ch
	return r.data, r.why, r.err
}

// k5BecomeUserFS gives the calling (locked) thread u's groups, fsgid and
// fsuid. The raw syscalls change this thread only.
func k5BecomeUserFS(u LocalUser) error {
	groups := append([]int{u.GID}, u.Groups...)
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	unix.Setfsgid(u.GID)
	unix.Setfsuid(u.UID)
	// setfsuid/setfsgid report failure only by returning the old id:
	// setting the same id again returns the current one.
	if g, _ := unix.SetfsgidRetGid(u.GID); g != u.GID {
		return fmt.Errorf("setfsgid(%d) left fsgid %d", u.GID, g)
	}
	if id, _ := unix.SetfsuidRetUid(u.UID); id != u.UID {
		return fmt.Errorf("setfsuid(%d) left fsuid %d", u.UID, id)
	}
	return nil
}

// k5loginReadFile opens path without following a final symlink and
// without blocking (a FIFO), checks the opened file itself (fstat, so no
// race with a rename) and reads at most max bytes.
func k5loginReadFile(path string, u LocalUser, max int64) ([]byte, string, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	switch {
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR):
		return nil, "", nil
	case errors.Is(err, unix.ELOOP):
		return nil, path + " is a symbolic link (refused)", &os.PathError{Op: "open", Path: path, Err: err}
	case errors.Is(err, unix.EACCES):
		return nil, path + " cannot be read by the user", &os.PathError{Op: "open", Path: path, Err: err}
	case err != nil:
		return nil, path + " cannot be opened", &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, path + " cannot be examined", &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, fmt.Sprintf("%s is not a regular file (mode %#o)", path, st.Mode), nil
	case int(st.Uid) != u.UID && st.Uid != 0:
		return nil, fmt.Sprintf("%s is owned by uid %d, neither the user (%d) nor root", path, st.Uid, u.UID), nil
	case st.Mode&0o022 != 0:
		return nil, fmt.Sprintf("%s is writable by group or others (mode %#o)", path, st.Mode&0o7777), nil
	case st.Size > max:
		return nil, fmt.Sprintf("%s is larger than %d bytes", path, max), nil
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, path + " cannot be read", err
	}
	if int64(len(data)) > max {
		return nil, fmt.Sprintf("%s is larger than %d bytes", path, max), nil
	}
	if data == nil {
		data = []byte{}
	}
	return data, "", nil
}
