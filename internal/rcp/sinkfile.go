package rcp

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/compat"
)

// file handles a C line: the body goes to a temporary file next to the
// destination, which replaces the destination only when complete.
func (s *sink) file(p place, h *compat.FileHeader, t *compat.Times) error {
	var st unix.Stat_t
	exists := true
	if err := unix.Fstatat(p.dirfd, p.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err != unix.ENOENT {
			return s.fail(fmt.Sprintf("rcp: %s: %s", p.path, errText(err)))
		}
		exists = false
	}
	regular := exists && st.Mode&unix.S_IFMT == unix.S_IFREG
	if exists {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			return s.fail(fmt.Sprintf("rcp: %s: %s", p.path, errText(unix.EISDIR)))
		case unix.S_IFREG:
			// netkit opens the old file O_WRONLY: refuse what that refuses.
			if err := unix.Faccessat(p.dirfd, p.name, unix.W_OK, unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return s.fail(fmt.Sprintf("rcp: %s: %s", p.path, errText(err)))
			}
		case unix.S_IFLNK:
			// Replaced by the new file, never followed (see doc.go).
		case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
			if !p.wire {
				// The user named a device or FIFO ("rcp host:f /dev/null"):
				// write into it, as netkit does, never replace it.
				return s.special(p, h)
			}
			return s.fail(fmt.Sprintf("rcp: %s: not a regular file", p.path))
		default:
			return s.fail(fmt.Sprintf("rcp: %s: not a regular file", p.path))
		}
	}
	tmp := tempName(p.name)
	fd, err := unix.Openat(p.dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0600)
	if err != nil {
		return s.fail(fmt.Sprintf("rcp: %s: %s", p.path, errText(err)))
	}
	installed := false
	defer func() {
		if fd >= 0 {
			unix.Close(fd)
		}
		if !installed {
			unix.Unlinkat(p.dirfd, tmp, 0)
		}
	}()
	if err := compat.WriteReply(s.w, compat.Reply{}); err != nil {
		return &ProtocolError{Msg: "lost connection", Cause: err}
	}

	werr, err := s.receive(fd, p.path, h.Size)
	if err != nil {
		msg := fmt.Sprintf("%s: source died mid-file: %v", p.path, err)
		s.logf("rcp: %s\n", msg)
		compat.WriteReply(s.w, compat.Reply{Kind: compat.ReplyError, Message: oneLine("rcp: " + msg)})
		return &ProtocolError{Msg: "lost connection", Cause: fmt.Errorf("%s: %w", p.path, err)}
	}
	rep, err := compat.ReadReply(s.r, 0)
	if err != nil {
		return &ProtocolError{Msg: "lost connection", Cause: fmt.Errorf("%s: status after the body: %w", p.path, err)}
	}
	if rep.Kind != compat.ReplyOK {
		// The source could not read its file (it padded the body): keep
		// the old destination.
		s.peerMessage(rep)
		if rep.Fatal() {
			return &ProtocolError{Msg: "remote: " + rep.Message}
		}
		return s.fail(fmt.Sprintf("rcp: %s: not replaced: the source reported an error", p.path))
	}
	if werr == nil {
		werr = s.finish(fd, p, h, t, exists, regular, &st)
	}
	if werr == nil {
		werr = unix.Close(fd)
		fd = -1
	}
	if werr == nil {
		werr = unix.Renameat(p.dirfd, tmp, p.dirfd, p.name)
	}
	if werr != nil {
		return s.fail(fmt.Sprintf("rcp: %s: %s", p.path, errText(werr)))
	}
	installed = true
	if err := compat.WriteReply(s.w, compat.Reply{}); err != nil {
		return &ProtocolError{Msg: "lost connection", Cause: err}
	}
	return nil
}

// special writes a body straight into the device or FIFO the user named.
func (s *sink) special(p place, h *compat.FileHeader) error {
	fd, err := unix.Openat(p.dirfd, p.name, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return s.fail(fmt.Sprintf("rcp: %s: %s", p.path, errText(err)))
	}
	defer unix.Close(fd)
	if err := compat.WriteReply(s.w, compat.Reply{}); err != nil {
		return &ProtocolError{Msg: "lost connection", Cause: err}
	}
	werr, err := s.receive(fd, p.path, h.Size)
	if err != nil {
		return &ProtocolError{Msg: "lost connection", Cause: fmt.Errorf("%s: %w", p.path, err)}
	}
	rep, err := compat.ReadReply(s.r, 0)
	if err != nil {
		return &ProtocolError{Msg: "lost connection", Cause: fmt.Errorf("%s: status after the body: %w", p.path, err)}
	}
	if rep.Kind != compat.ReplyOK {
		s.peerMessage(rep)
		if rep.Fatal() {
			return &ProtocolError{Msg: "remote: " + rep.Message}
		}
	}
	if werr != nil {
		return s.fail(fmt.Sprintf("rcp: %s: %s", p.path, errText(werr)))
	}
	if err := compat.WriteReply(s.w, compat.Reply{}); err != nil {
		return &ProtocolError{Msg: "lost connection", Cause: err}
	}
	return nil
}

// finish sets the new file's mode, owner and times before it is renamed.
func (s *sink) finish(fd int, p place, h *compat.FileHeader, t *compat.Times, exists, regular bool, old *unix.Stat_t) error {
	mode := compat.UnixMode(h.Mode)
	switch {
	case s.opt.Preserve:
	case regular:
		mode = old.Mode & 07777
	default:
		mode = (mode | 0200) &^ s.opt.Umask // netkit: open(…, mode|S_IWRITE) under the umask
	}
	if regular && unix.Geteuid() == 0 && (old.Uid != 0 || old.Gid != 0) {
		// Keep the owner of the file root replaces (netkit writes in place).
		// Before the chmod: chown clears setuid/setgid bits.
		if err := unix.Fchown(fd, int(old.Uid), int(old.Gid)); err != nil {
			return err
		}
	}
	if err := unix.Fchmod(fd, mode); err != nil {
		return err
	}
	if t != nil {
		if err := unix.Futimes(fd, timevals(t)); err != nil {
			return fmt.Errorf("can't set times: %w", err)
		}
	}
	return nil
}

// receive reads size body bytes from the stream into fd. A write error
// (disk full…) stops the writing but not the reading, so the stream stays
// in step: it is returned as werr. err is a stream failure (the source
// died): the session is over.
func (s *sink) receive(fd int, name string, size int64) (werr, err error) {
	if pr := s.opt.Progress; pr != nil {
		pr.Start(name, size)
		defer pr.End()
	}
	var done int64
	for done < size {
		chunk := s.buf
		if int64(len(chunk)) > size-done {
			chunk = chunk[:size-done]
		}
		n, rerr := s.r.Read(chunk)
		if n > 0 && werr == nil {
			werr = writeAll(fd, chunk[:n])
		}
		done += int64(n)
		if pr := s.opt.Progress; pr != nil {
			pr.Update(done)
		}
		if rerr != nil && done < size {
			if rerr == io.EOF {
				rerr = io.ErrUnexpectedEOF
			}
			return werr, fmt.Errorf("after %d of %d bytes: %w", done, size, rerr)
		}
	}
	return werr, nil
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b = b[n:]
	}
	return nil
}
