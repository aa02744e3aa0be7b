package rcp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/compat"
)

// sendChunk is how much one io.CopyN call moves: small enough for ~10
// progress updates a second, large enough that sendfile's per-call cost
// does not show.
const sendChunk = 16 << 20

// source is one sending session.
type source struct {
	session
	zeros   []byte
	copyBuf []byte // see copyN
	// ancestors are the directories being sent, to catch link loops.
	ancestors map[[2]uint64]bool
}

// Source sends paths to an rcp sink on r/w (netkit "rcp [-r] [-p] -f
// path…"): it waits for the sink's ready byte, then sends each path —
// files as C lines and bodies, directories (with Recursive) as D…E — and
// reads the sink's acknowledgement after each line and body.
func Source(r io.Reader, w io.Writer, paths []string, opt Options) error {
	s := &source{session: session{opt: opt, r: bufio.NewReaderSize(r, 4096), w: w}, ancestors: map[[2]uint64]bool{}}
	if _, err := s.response(); err != nil {
		return err
	}
	for _, p := range paths {
		if err := s.send(p, ""); err != nil {
			return err
		}
	}
	return s.result()
}

// response reads the sink's acknowledgement (netkit response()): ok is
// false after a \1 error (already reported); a fatal reply or a broken
// stream is the returned error.
func (s *source) response() (ok bool, err error) {
	rep, err := compat.ReadReply(s.r, 0)
	if err != nil {
		if rep.Kind != compat.ReplyOK {
			s.peerMessage(rep)
		}
		return false, &ProtocolError{Msg: "lost connection", Cause: err}
	}
	switch rep.Kind {
	case compat.ReplyOK:
		return true, nil
	case compat.ReplyError:
		s.peerMessage(rep)
		return false, nil
	}
	s.peerMessage(rep)
	return false, &ProtocolError{Msg: "remote: " + rep.Message}
}

// send sends one path; name is its name on the wire ("" for a
// command-line path: its base name).
func (s *source) send(path, name string) error {
	if name == "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return s.fail(fmt.Sprintf("rcp: %s: %s", path, errText(err)))
		}
		name = filepath.Base(abs)
		if name == "/" {
			return s.fail(fmt.Sprintf("rcp: %s: cannot send the root directory by name", path))
		}
	}
	if strings.IndexByte(name, '\n') >= 0 {
		return s.fail(fmt.Sprintf("rcp: %q: name contains a newline, not sent", path))
	}
	// O_NONBLOCK: opening a FIFO must not hang; it is refused below.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return s.fail(fmt.Sprintf("rcp: %s: %s", path, errText(err)))
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return s.fail(fmt.Sprintf("rcp: %s: %s", path, errText(err)))
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return s.sendFile(f, &st, path, name)
	case unix.S_IFDIR:
		if s.opt.Recursive {
			return s.sendDir(f, &st, path, name)
		}
	}
	return s.fail(fmt.Sprintf("rcp: %s: not a plain file", path))
}

func (s *source) sendTimes(st *unix.Stat_t) (bool, error) {
	if !s.opt.Preserve {
		return true, nil
	}
	t := compat.Times{Mtime: time.Unix(st.Mtim.Unix()), Atime: time.Unix(st.Atim.Unix())}
	if err := compat.WriteControl(s.w, &t); err != nil {
		return false, &ProtocolError{Msg: "lost connection", Cause: err}
	}
	return s.response()
}

func (s *source) sendFile(f *os.File, st *unix.Stat_t, path, name string) error {
	if ok, err := s.sendTimes(st); !ok {
		return err
	}
	h := compat.FileHeader{Mode: compat.FileModeOf(st.Mode), Size: st.Size, Name: name}
	if err := compat.WriteControl(s.w, &h); err != nil {
		if errors.Is(err, compat.ErrBadName) {
			return s.fail(fmt.Sprintf("rcp: %s: name cannot be sent", path))
		}
		return &ProtocolError{Msg: "lost connection", Cause: err}
	}
	if ok, err := s.response(); !ok {
		return err
	}
	rerr, err := s.body(f, path, h.Size)
	if err != nil {
		return &ProtocolError{Msg: "lost connection", Cause: err}
	}
	if rerr == nil {
		if _, err := s.w.Write([]byte{0}); err != nil {
			return &ProtocolError{Msg: "lost connection", Cause: err}
		}
	} else if err := s.fail(fmt.Sprintf("rcp: %s: %s", path, rerr)); err != nil {
		return err
	}
	_, err = s.response()
	return err
}

// body sends exactly size bytes of f with io.CopyN (sendfile when w is a
// TCP connection). If f fails or is shorter, the rest is zeros and rerr
// says why; err is a failure of the stream.
func (s *source) body(f *os.File, path string, size int64) (rerr, err error) {
	pr := s.opt.Progress
	if pr != nil {
		pr.Start(path, size)
		defer pr.End()
	}
	chunk := int64(sendChunk)
	if pr == nil {
		// No progress to show: one copy, so that a pipelined writer
		// (krx's ReadFrom) is set up once per file, not per chunk.
		chunk = size
	}
	var sent int64
	for sent < size && rerr == nil {
		n := min(size-sent, chunk)
		var m int64
		m, rerr = s.copyN(f, n)
		sent += m
		if pr != nil {
			pr.Update(sent)
		}
		if rerr == io.EOF {
			rerr = fmt.Errorf("file shrank to %d of %d bytes while being sent", sent, size)
		}
	}
	if rerr != nil {
		// The error may have been the stream's: padding shows which.
		if s.zeros == nil {
			s.zeros = make([]byte, 64<<10)
		}
		for sent < size {
			n, err := s.w.Write(s.zeros[:min(size-sent, int64(len(s.zeros)))])
			sent += int64(n)
			if err != nil {
				return rerr, err
			}
		}
		rerr = errors.New(errText(rerr))
	}
	return rerr, nil
}

// copyBufSize is the body buffer for writers that are not an
// io.ReaderFrom (a unix socket: "rcp -f" under krx's daemon); io.CopyN's
// own is 32 KiB.
const copyBufSize = 256 << 10

// copyN copies n bytes of f to the stream as io.CopyN does (io.EOF if f
// is shorter), through the writer's ReadFrom when it has one (sendfile on
// TCP, krx's pipeline) and a copyBufSize buffer otherwise.
func (s *source) copyN(f *os.File, n int64) (int64, error) {
	if _, ok := s.w.(io.ReaderFrom); ok {
		return io.CopyN(s.w, f, n)
	}
	if s.copyBuf == nil {
		s.copyBuf = make([]byte, copyBufSize)
	}
	m, err := io.CopyBuffer(s.w, io.LimitReader(f, n), s.copyBuf)
	if m < n && err == nil {
		err = io.EOF
	}
	return m, err
}

func (s *source) sendDir(f *os.File, st *unix.Stat_t, path, name string) error {
	key := [2]uint64{st.Dev, st.Ino}
	if s.ancestors[key] {
		return s.fail(fmt.Sprintf("rcp: %s: directory contains itself (symbolic link loop), not sent again", path))
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return s.fail(fmt.Sprintf("rcp: %s: %s", path, errText(err)))
	}
	sort.Strings(names)
	if ok, err := s.sendTimes(st); !ok {
		return err
	}
	d := compat.DirHeader{Mode: compat.FileModeOf(st.Mode), Name: name}
	if err := compat.WriteControl(s.w, &d); err != nil {
		if errors.Is(err, compat.ErrBadName) {
			return s.fail(fmt.Sprintf("rcp: %s: name cannot be sent", path))
		}
		return &ProtocolError{Msg: "lost connection", Cause: err}
	}
	if ok, err := s.response(); !ok {
		return err
	}
	s.ancestors[key] = true
	defer delete(s.ancestors, key)
	for _, n := range names {
		if err := s.send(filepath.Join(path, n), n); err != nil {
			return err
		}
	}
	if err := compat.WriteControl(s.w, compat.EndDir{}); err != nil {
		return &ProtocolError{Msg: "lost connection", Cause: err}
	}
	_, err = s.response()
	return err
}
