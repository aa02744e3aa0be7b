package compat

import (
	"bytes"
	"io"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"time"
)

// rcp limits (netkit rcp.c sink(), response(); Linux limits).
const (
	// DefaultRcpMaxLine bounds a control line or reply, bytes before the
	// '\n': netkit's sink and response() read into BUFSIZ (8192) buffers.
	DefaultRcpMaxLine = 8192
	// MaxRcpName bounds a file name: Linux NAME_MAX (255) — a longer single
	// path component cannot be created anyway.
	MaxRcpName = 255
	// MaxRcpTime is the largest seconds value accepted in a T line:
	// 9999-12-31T23:59:59Z. netkit's sink takes any run of digits (and
	// overflows); krx refuses what no file system stores.
	MaxRcpTime = 253402300799
	// RcpModeMask: the mode bits rcp transfers (netkit rcp.c: st_mode&07777).
	RcpModeMask = 07777
)

// RcpLimits bounds what ReadControl and ParseControl accept. Zero fields
// mean the defaults: DefaultRcpMaxLine, MaxRcpName, no size limit.
type RcpLimits struct {
	MaxLine int   // bytes before '\n'
	MaxName int   // bytes in a file or directory name
	MaxSize int64 // largest file size the caller will accept
}

func (l RcpLimits) norm() RcpLimits {
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultRcpMaxLine
	}
	if l.MaxName <= 0 {
		l.MaxName = MaxRcpName
	}
	if l.MaxSize <= 0 {
		l.MaxSize = math.MaxInt64
	}
	return l
}

// RcpMessage is one message from an rcp source: *Times, *FileHeader,
// *DirHeader, *EndDir, or *Reply (a source reporting an error with a \1 or
// \2 line, e.g. "\1rcp: x: Permission denied\n"; netkit rcp.c source()).
type RcpMessage interface {
	// AppendLine appends the message's wire form, '\n' included.
	AppendLine(b []byte) ([]byte, error)
}

// Times is "T<mtime> <usec> <atime> <usec>\n", sent before a C or D line
// when preserving times (rcp -p). netkit always sends 0 microseconds; krx
// sends the real microseconds, which netkit's and OpenSSH's sinks apply.
type Times struct {
	Mtime, Atime time.Time
}

// FileHeader is "C<mode> <size> <name>\n": a regular file of Size bytes
// follows once the sink has acknowledged the line. Mode holds only
// permission, setuid, setgid and sticky bits.
type FileHeader struct {
	Mode fs.FileMode
	Size int64
	Name string
}

// DirHeader is "D<mode> 0 <name>\n": enter a directory (rcp -r); its
// entries follow, then EndDir. Mode holds only permission, setuid, setgid
// and sticky bits (no fs.ModeDir).
type DirHeader struct {
	Mode fs.FileMode
	Name string
}

// EndDir is "E\n": leave the current directory.
type EndDir struct{}

// UnixMode converts the permission, setuid, setgid and sticky bits of m to
// their Unix octal values (≤ 07777); all other bits are ignored.
func UnixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 04000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 02000
	}
	if m&fs.ModeSticky != 0 {
		u |= 01000
	}
	return u
}

// FileModeOf converts Unix mode bits (masked with 07777) to an fs.FileMode.
func FileModeOf(u uint32) fs.FileMode {
	m := fs.FileMode(u & 0777)
	if u&04000 != 0 {
		m |= fs.ModeSetuid
	}
	if u&02000 != 0 {
		m |= fs.ModeSetgid
	}
	if u&01000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// appendMode appends exactly four octal digits (netkit: "%04o").
func appendMode(b []byte, m fs.FileMode) []byte {
	u := UnixMode(m)
	return append(b, byte('0'+u>>9&7), byte('0'+u>>6&7), byte('0'+u>>3&7), byte('0'+u&7))
}

// AppendLine implements RcpMessage. Both times must lie in 1970–9999.
func (t *Times) AppendLine(b []byte) ([]byte, error) {
	for _, f := range [...]struct {
		name string
		v    time.Time
	}{{"mtime", t.Mtime}, {"atime", t.Atime}} {
		if s := f.v.Unix(); s < 0 || s > MaxRcpTime {
			return b, &LineError{Line: f.v.String(), Field: f.name, Err: ErrBadTime}
		}
	}
	b = append(b, 'T')
	b = strconv.AppendInt(b, t.Mtime.Unix(), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(t.Mtime.Nanosecond()/1000), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, t.Atime.Unix(), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(t.Atime.Nanosecond()/1000), 10)
	return append(b, '\n'), nil
}

// AppendLine implements RcpMessage. It refuses a negative Size and a Name
// that is not one path component of at most MaxRcpName bytes.
func (h *FileHeader) AppendLine(b []byte) ([]byte, error) {
	if h.Size < 0 {
		return b, &LineError{Line: strconv.FormatInt(h.Size, 10), Field: "size", Err: ErrBadSize}
	}
	if err := checkName(h.Name, MaxRcpName); err != nil {
		return b, err
	}
	b = appendMode(append(b, 'C'), h.Mode)
	b = append(b, ' ')
	b = strconv.AppendInt(b, h.Size, 10)
	b = append(b, ' ')
	b = append(b, h.Name...)
	return append(b, '\n'), nil
}

// AppendLine implements RcpMessage (the size field is always 0).
func (d *DirHeader) AppendLine(b []byte) ([]byte, error) {
	if err := checkName(d.Name, MaxRcpName); err != nil {
		return b, err
	}
	b = appendMode(append(b, 'D'), d.Mode)
	b = append(b, " 0 "...)
	b = append(b, d.Name...)
	return append(b, '\n'), nil
}

// AppendLine implements RcpMessage.
func (EndDir) AppendLine(b []byte) ([]byte, error) { return append(b, 'E', '\n'), nil }

// checkName accepts exactly one path component: non-empty, not "." or
// "..", no '/' or NUL, at most max bytes.
// checkName refuses anything that is not one path component, and newlines,
// which would end the control line early on the wire.
func checkName(name string, max int) error {
	if name == "" || name == "." || name == ".." || len(name) > max ||
		strings.ContainsAny(name, "/\x00\n") {
		return &LineError{Line: name, Field: "name", Err: ErrBadName}
	}
	return nil
}

// WriteControl writes one message with a single Write call.
func WriteControl(w io.Writer, m RcpMessage) error {
	b, err := m.AppendLine(nil)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ReadControl reads one message from an rcp source (sink side), never
// consuming a byte past its '\n' (see ReadHandshake for how). At a clean end
// of stream before the first byte it returns (nil, io.EOF): the source is
// done. Other problems are *LineError: ErrUnterminated (EOF mid-line, Cause
// io.ErrUnexpectedEOF), ErrTooLong, ErrEmptyLine, ErrNotControl (the line
// may be shell noise — netkit prints it when it is the first line),
// ErrBadFormat, ErrBadMode, ErrBadSize, ErrSizeLimit, ErrBadName,
// ErrBadTime.
func ReadControl(r io.Reader, lim RcpLimits) (RcpMessage, error) {
	lim = lim.norm()
	s := newByteSource(r)
	data, tooLong, err := readTerminated(&s, '\n', lim.MaxLine, nil)
	if tooLong {
		return nil, &LineError{Line: string(data), Field: "line", Err: ErrTooLong}
	}
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, &LineError{Line: string(data), Field: "line", Err: ErrUnterminated, Cause: err}
	}
	return parseControl(data, lim)
}

// ParseControl parses one message from line, which must end with its '\n'
// and contain no other. Errors are as for ReadControl.
func ParseControl(line []byte, lim RcpLimits) (RcpMessage, error) {
	lim = lim.norm()
	body, ok := bytes.CutSuffix(line, []byte{'\n'})
	if !ok {
		return nil, &LineError{Line: string(line), Field: "line", Err: ErrUnterminated, Cause: io.ErrUnexpectedEOF}
	}
	if len(body) > lim.MaxLine {
		return nil, &LineError{Line: string(body), Field: "line", Err: ErrTooLong}
	}
	if bytes.IndexByte(body, '\n') >= 0 {
		return nil, &LineError{Line: string(body), Field: "line", Err: ErrBadFormat}
	}
	return parseControl(body, lim)
}
