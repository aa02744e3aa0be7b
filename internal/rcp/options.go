package rcp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/krx-suite/krx/compat"
)

// MaxDepth bounds directory nesting in the sink: each level holds an open
// directory descriptor, and Linux PATH_MAX (4096) allows at most ~2048
// levels of one-letter names anyway.
const MaxDepth = 1024

// Options configure one end of an rcp session.
type Options struct {
	Recursive bool // -r: directories (D/E lines)
	Preserve  bool // -p: modes and times (T lines)
	TargetDir bool // -d: the sink's target must be a directory
	// Remote says this end runs as the remote "rcp -t/-f" (netkit
	// iamremote): errors go only on the wire, never to Log.
	Remote bool
	// Log receives the local error messages ("rcp: <file>: <reason>\n")
	// when not Remote; nil discards them.
	Log io.Writer
	// Progress, if set, is told about each file's body as it moves.
	Progress Progress
	// Umask is applied to modes from the wire when not Preserve, as
	// netkit's sink does with the process umask (see ProcessUmask).
	Umask uint32
	// Limits bounds the control lines the sink accepts.
	Limits compat.RcpLimits
}

// Progress receives the progress of file bodies (sent or received).
type Progress interface {
	// Start announces a file of size bytes.
	Start(name string, size int64)
	// Update reports the bytes of the current file moved so far.
	Update(done int64)
	// End says the current file is finished (or abandoned).
	End()
}

// ErrFailed is matched by *Failures.
var ErrFailed = errors.New("rcp: some files were not copied")

// Failures is returned when the session ran to its end but some files or
// directories failed; the messages were already reported.
type Failures struct {
	Messages []string // "rcp: <file>: <reason>", in order
}

// Error summarises the failures.
func (f *Failures) Error() string {
	if len(f.Messages) == 1 {
		return f.Messages[0]
	}
	return fmt.Sprintf("%s (and %d more)", f.Messages[0], len(f.Messages)-1)
}

// Is makes errors.Is(err, ErrFailed) true.
func (f *Failures) Is(target error) bool { return target == ErrFailed }

// ErrProtocol is matched by *ProtocolError.
var ErrProtocol = errors.New("rcp: protocol error")

// ProtocolError ends a session: the peer broke the protocol ("protocol
// screwup" in netkit), gave up (a fatal \2 reply or shell noise), or the
// connection dropped.
type ProtocolError struct {
	Msg   string // what happened, without the "rcp: " prefix
	Cause error  // underlying error (a compat *LineError, an I/O error) or nil
}

// Error returns the message and the cause.
func (e *ProtocolError) Error() string {
	if e.Cause != nil {
		return "rcp: " + e.Msg + ": " + e.Cause.Error()
	}
	return "rcp: " + e.Msg
}

// Unwrap returns ErrProtocol and the cause.
func (e *ProtocolError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrProtocol}
	}
	return []error{ErrProtocol, e.Cause}
}

// ProcessUmask returns the process's umask without changing it (Linux
// /proc/self/status "Umask:"; elsewhere the umask(2) set-and-restore).
func ProcessUmask() uint32 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Umask:"); ok {
				if u, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return uint32(u)
				}
			}
		}
	}
	u := syscall.Umask(022)
	syscall.Umask(u)
	return uint32(u)
}

// session holds what both ends share: the stream and the error count.
type session struct {
	opt      Options
	r        io.Reader // buffered: compat reads lines with ReadByte
	w        io.Writer
	failures []string
}

// fail reports a per-file failure the netkit way: "\1msg\n" to the peer
// and, unless remote, msg on the local log.
func (s *session) fail(msg string) error {
	s.failures = append(s.failures, msg)
	s.logf("%s\n", msg)
	if err := compat.WriteReply(s.w, compat.Reply{Kind: compat.ReplyError, Message: oneLine(msg)}); err != nil {
		return &ProtocolError{Msg: "lost connection", Cause: err}
	}
	return nil
}

func (s *session) logf(format string, args ...any) {
	if !s.opt.Remote && s.opt.Log != nil {
		fmt.Fprintf(s.opt.Log, format, args...)
	}
}

// peerMessage handles a \1 or \2 message from the peer: printed locally
// unless remote (netkit response()), counted.
func (s *session) peerMessage(rep compat.Reply) {
	msg := strings.TrimSuffix(rep.Message, "\r")
	s.failures = append(s.failures, msg)
	s.logf("%s\n", msg)
}

func (s *session) result() error {
	if len(s.failures) == 0 {
		return nil
	}
	return &Failures{Messages: s.failures}
}

// oneLine makes msg sendable as one reply line.
func oneLine(msg string) string {
	msg = strings.ReplaceAll(msg, "\n", " ")
	if len(msg) > compat.DefaultRcpMaxLine {
		msg = msg[:compat.DefaultRcpMaxLine]
	}
	return msg
}

// errText is the text of an error without Go's "op path:" decoration,
// like strerror.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		err = se.Err
	}
	return err.Error()
}
