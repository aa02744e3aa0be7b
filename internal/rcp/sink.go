package rcp

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/compat"
)

// bodyBuf is the sink's copy buffer: large reads bypass the bufio buffer.
const bodyBuf = 1 << 20

// sink is one receiving session.
type sink struct {
	session
	buf []byte
}

// place is where one incoming entry goes: name inside the open directory
// dirfd; path is for messages.
type place struct {
	dirfd int
	name  string
	path  string
	// wire says name came from the wire (never follow a link there).
	wire bool
}

// Sink receives files from an rcp source on r/w into target (netkit
// "rcp [-r] [-p] [-d] -t target"): it sends the ready byte, then reads
// control lines until the source closes the stream. See the package
// documentation for how files are written.
func Sink(r io.Reader, w io.Writer, target string, opt Options) error {
	s := &sink{session: session{opt: opt, r: bufio.NewReaderSize(r, 64<<10), w: w}, buf: make([]byte, bodyBuf)}
	fi, err := os.Stat(target)
	isDir := err == nil && fi.IsDir()
	if opt.TargetDir && !isDir {
		// netkit verifydir(): report and exit 1, before the ready byte.
		why := "not a directory"
		if err != nil {
			why = errText(err)
		}
		msg := fmt.Sprintf("rcp: %s: %s", target, why)
		s.fail(msg)
		return &ProtocolError{Msg: target + ": " + why}
	}
	var top place
	var dirfd int
	if isDir {
		dirfd, err = unix.Open(target, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	} else {
		top, err = resolveTarget(target)
		dirfd = top.dirfd
	}
	if err != nil {
		msg := fmt.Sprintf("rcp: %s: %s", target, errText(err))
		s.fail(msg)
		return &ProtocolError{Msg: target + ": " + errText(err)}
	}
	defer unix.Close(dirfd)
	if err := s.level(dirfd, target, isDir, top, 0); err != nil {
		return err
	}
	return s.result()
}

// resolveTarget finds the directory and final name of a target that is
// not an existing directory. The user gave this path: a symbolic link at
// it is followed to where it points (netkit opens it).
func resolveTarget(target string) (place, error) {
	path := target
	if fi, err := os.Lstat(target); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if real, err := filepath.EvalSymlinks(target); err == nil {
			path = real
		}
	}
	dir, name := filepath.Split(filepath.Clean(path))
	if dir == "" {
		dir = "."
	}
	if name == "" || name == "." || name == ".." || name == "/" {
		return place{}, &os.PathError{Op: "open", Path: target, Err: unix.EISDIR}
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return place{}, err
	}
	return place{dirfd: fd, name: name, path: target}, nil
}

// level runs netkit's sink() loop for one directory level: it acknowledges
// (the ready byte, or the ack of a D line), then handles lines up to E or
// the end of the stream. Entries go into the directory dirfd (named path)
// when isDir, otherwise all to the one place top.
func (s *sink) level(dirfd int, path string, isDir bool, top place, depth int) error {
	if err := compat.WriteReply(s.w, compat.Reply{}); err != nil {
		return &ProtocolError{Msg: "lost connection", Cause: err}
	}
	var times *compat.Times
	for first := depth == 0; ; first = false {
		m, err := compat.ReadControl(s.r, s.opt.Limits)
		if err == io.EOF {
			if depth > 0 {
				return &ProtocolError{Msg: "lost connection", Cause: io.ErrUnexpectedEOF}
			}
			return nil
		}
		if err != nil {
			var le *compat.LineError
			if first && errors.Is(err, compat.ErrNotControl) && errors.As(err, &le) {
				// Shell noise before the source started ("No match."):
				// netkit prints it and exits 1.
				s.peerMessage(compat.Reply{Kind: compat.ReplyNoise, Message: le.Line})
				return &ProtocolError{Msg: "remote: " + le.Line}
			}
			return s.screwup(err)
		}
		switch m := m.(type) {
		case *compat.Reply:
			s.peerMessage(*m)
			if m.Kind == compat.ReplyFatal {
				return &ProtocolError{Msg: "remote: " + m.Message}
			}
		case *compat.EndDir:
			if err := compat.WriteReply(s.w, compat.Reply{}); err != nil {
				return &ProtocolError{Msg: "lost connection", Cause: err}
			}
			return nil
		case *compat.Times:
			times = m
			if err := compat.WriteReply(s.w, compat.Reply{}); err != nil {
				return &ProtocolError{Msg: "lost connection", Cause: err}
			}
		case *compat.DirHeader:
			if !s.opt.Recursive {
				return s.screwup(errors.New("received directory without -r"))
			}
			if depth+1 >= MaxDepth {
				return s.screwup(fmt.Errorf("directories nested deeper than %d", MaxDepth))
			}
			p := top
			if isDir {
				p = place{dirfd: dirfd, name: m.Name, path: filepath.Join(path, m.Name), wire: true}
			}
			t := times
			times = nil
			if err := s.dir(p, m, t, depth); err != nil {
				return err
			}
		case *compat.FileHeader:
			p := top
			if isDir {
				p = place{dirfd: dirfd, name: m.Name, path: filepath.Join(path, m.Name), wire: true}
			}
			t := times
			times = nil
			if err := s.file(p, m, t); err != nil {
				return err
			}
		}
	}
}

// screwup sends netkit's "protocol screwup" error and ends the session.
func (s *sink) screwup(cause error) error {
	msg := "protocol screwup: " + cause.Error()
	s.logf("rcp: %s\n", msg)
	compat.WriteReply(s.w, compat.Reply{Kind: compat.ReplyError, Message: oneLine("rcp: " + msg)})
	return &ProtocolError{Msg: "protocol screwup", Cause: cause}
}

// dir handles a D line: create or enter the directory, receive its
// entries, then apply its mode and times.
func (s *sink) dir(p place, h *compat.DirHeader, t *compat.Times, depth int) error {
	var st unix.Stat_t
	exists := true
	if err := unix.Fstatat(p.dirfd, p.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err != unix.ENOENT {
			return s.fail(fmt.Sprintf("rcp: %s: %s", p.path, errText(err)))
		}
		exists = false
	}
	switch {
	case !exists:
		if err := unix.Mkdirat(p.dirfd, p.name, 0700); err != nil {
			return s.fail(fmt.Sprintf("rcp: %s: %s", p.path, errText(err)))
		}
	case st.Mode&unix.S_IFMT == unix.S_IFLNK && p.wire:
		return s.fail(fmt.Sprintf("rcp: %s: is a symbolic link, not followed", p.path))
	case st.Mode&unix.S_IFMT != unix.S_IFDIR && st.Mode&unix.S_IFMT != unix.S_IFLNK:
		return s.fail(fmt.Sprintf("rcp: %s: %s", p.path, errText(unix.ENOTDIR)))
	}
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	if p.wire {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Openat(p.dirfd, p.name, flags, 0)
	if err != nil {
		return s.fail(fmt.Sprintf("rcp: %s: %s", p.path, errText(err)))
	}
	defer unix.Close(fd)
	if err := s.level(fd, p.path, true, place{}, depth+1); err != nil {
		return err
	}
	mode := ^uint32(0)
	switch {
	case s.opt.Preserve:
		mode = compat.UnixMode(h.Mode)
	case !exists:
		mode = compat.UnixMode(h.Mode) &^ s.opt.Umask
	}
	if mode != ^uint32(0) {
		if err := unix.Fchmod(fd, mode); err != nil {
			s.fail(fmt.Sprintf("rcp: %s: %s", p.path, errText(err)))
		}
	}
	if t != nil {
		if err := unix.Futimes(fd, timevals(t)); err != nil {
			s.fail(fmt.Sprintf("rcp: can't set times on %s: %s", p.path, errText(err)))
		}
	}
	return nil
}

func timevals(t *compat.Times) []unix.Timeval {
	return []unix.Timeval{unix.NsecToTimeval(t.Atime.UnixNano()), unix.NsecToTimeval(t.Mtime.UnixNano())}
}

// tempName returns a fresh temporary name for name, within NAME_MAX.
func tempName(name string) string {
	if len(name) > 200 {
		name = name[:200]
	}
	var r [6]byte
	rand.Read(r[:])
	return fmt.Sprintf(".rcp.%s.%x", name, r)
}
