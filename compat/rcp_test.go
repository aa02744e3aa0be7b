package compat

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRcpLinesRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		wire string
		msg  RcpMessage
	}{
		{"C0644 1234 foo.txt\n", &FileHeader{Mode: 0644, Size: 1234, Name: "foo.txt"}},
		{"C4755 0 with space \r\n", &FileHeader{Mode: 0755 | fs.ModeSetuid, Size: 0, Name: "with space \r"}},
		{"C7777 3221225472 big\n", &FileHeader{Mode: 0777 | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky, Size: 3 << 30, Name: "big"}},
		{"C0000 9223372036854775807 max\n", &FileHeader{Size: 1<<63 - 1, Name: "max"}},
		{"D0755 0 dir\n", &DirHeader{Mode: 0755, Name: "dir"}},
		{"D1777 0 tmp\n", &DirHeader{Mode: 0777 | fs.ModeSticky, Name: "tmp"}},
		{"E\n", &EndDir{}},
		{"T1700000000 0 1700000001 0\n", &Times{Mtime: time.Unix(1700000000, 0), Atime: time.Unix(1700000001, 0)}},
		{"T0 999999 253402300799 1\n", &Times{Mtime: time.Unix(0, 999999000), Atime: time.Unix(MaxRcpTime, 1000)}},
		{"\x01rcp: x: No such file or directory\n", &Reply{Kind: ReplyError, Message: "rcp: x: No such file or directory"}},
		{"\x02fatal\n", &Reply{Kind: ReplyFatal, Message: "fatal"}},
	} {
		got, err := ParseControl([]byte(tc.wire), RcpLimits{})
		if err != nil || !reflect.DeepEqual(got, tc.msg) {
			t.Fatalf("ParseControl(%q) = %#v, %v", tc.wire, got, err)
		}
		b, err := tc.msg.AppendLine(nil)
		if err != nil || string(b) != tc.wire {
			t.Fatalf("AppendLine(%#v) = %q, %v", tc.msg, b, err)
		}
		var w countingWriter
		if err := WriteControl(&w, tc.msg); err != nil || w.writes != 1 || w.buf.String() != tc.wire {
			t.Fatalf("WriteControl: %d writes, %v", w.writes, err)
		}
		// Reading from a stream stops exactly after the line.
		r := onlyReader{strings.NewReader(tc.wire + "BODY")}
		if got, err = ReadControl(r, RcpLimits{}); err != nil || !reflect.DeepEqual(got, tc.msg) {
			t.Fatalf("ReadControl(%q) = %#v, %v", tc.wire, got, err)
		}
		if rest, _ := io.ReadAll(r); string(rest) != "BODY" {
			t.Fatalf("over-read %q", rest)
		}
	}
	// netkit writes the mode of any file type masked to 07777.
	b, _ := (&DirHeader{Mode: fs.ModeDir | 0700, Name: "d"}).AppendLine(nil)
	if string(b) != "D0700 0 d\n" {
		t.Fatalf("dir mode %q", b)
	}
	// A clean end of stream is io.EOF (the source is done).
	if m, err := ReadControl(strings.NewReader(""), RcpLimits{}); m != nil || err != io.EOF {
		t.Fatalf("empty stream: %v, %v", m, err)
	}
}

func lineErr(t *testing.T, err error, sentinel error, field string) {
	t.Helper()
	var le *LineError
	if !errors.Is(err, sentinel) || !errors.As(err, &le) || le.Field != field {
		t.Fatalf("got %v (%T), want %v in field %q", err, err, sentinel, field)
	}
}

func TestRcpLinesRefused(t *testing.T) {
	long := strings.Repeat("n", MaxRcpName+1)
	for _, tc := range []struct {
		line     string
		sentinel error
		field    string
	}{
		// modes
		{"C644 1 x", ErrBadMode, "mode"},
		{"C06444 1 x", ErrBadMode, "mode"},
		{"C0648 1 x", ErrBadMode, "mode"},
		{"C0x44 1 x", ErrBadMode, "mode"},
		{"Cabcd 1 x", ErrBadMode, "mode"},
		{"C-644 1 x", ErrBadMode, "mode"},
		{"C0644", ErrBadMode, "mode"},
		{"D755 0 d", ErrBadMode, "mode"},
		// sizes
		{"C0644 -1 x", ErrBadSize, "size"},
		{"C0644 +1 x", ErrBadSize, "size"},
		{"C0644 1a x", ErrBadSize, "size"},
		{"C0644 0x10 x", ErrBadSize, "size"},
		{"C0644  x", ErrBadSize, "size"},
		{"C0644 9223372036854775808 x", ErrBadSize, "size"},
		{"C0644 99999999999999999999 x", ErrBadSize, "size"},
		{"C0644 12", ErrBadFormat, "size"},
		// names
		{"C0644 1 ", ErrBadName, "name"},
		{"C0644 1 .", ErrBadName, "name"},
		{"C0644 1 ..", ErrBadName, "name"},
		{"C0644 1 ../etc/passwd", ErrBadName, "name"},
		{"C0644 1 a/b", ErrBadName, "name"},
		{"C0644 1 /abs", ErrBadName, "name"},
		{"C0644 1 x\x00y", ErrBadName, "name"},
		{"C0644 1 " + long, ErrBadName, "name"},
		{"D0755 0 ..", ErrBadName, "name"},
		{"D0755 0 a/..", ErrBadName, "name"},
		// times
		{"T-1 0 0 0", ErrBadTime, "mtime"},
		{"T1 1000000 0 0", ErrBadTime, "mtime usec"},
		{"T1 0 253402300800 0", ErrBadTime, "atime"},
		{"T1 0 2 x", ErrBadTime, "atime usec"},
		{"T1 0 2", ErrBadFormat, "times"},
		{"T1 0 2 0 ", ErrBadFormat, "times"},
		{"T1  0 2 0", ErrBadFormat, "times"},
		// other
		{"", ErrEmptyLine, "line"},
		{"Exyz", ErrBadFormat, "end"},
		{"No match.", ErrNotControl, "type"},
		{"\x00", ErrNotControl, "type"},
	} {
		_, err := ParseControl([]byte(tc.line+"\n"), RcpLimits{})
		lineErr(t, err, tc.sentinel, tc.field)
		_, err = ReadControl(strings.NewReader(tc.line+"\n"), RcpLimits{})
		lineErr(t, err, tc.sentinel, tc.field)
		var le *LineError
		if errors.As(err, &le); le.Line != tc.line {
			t.Fatalf("LineError.Line = %q, want %q", le.Line, tc.line)
		}
	}
	// Size limit set by the caller; directories are not subject to it.
	lim := RcpLimits{MaxSize: 1 << 20}
	_, err := ParseControl([]byte("C0644 1048577 x\n"), lim)
	lineErr(t, err, ErrSizeLimit, "size")
	if _, err := ParseControl([]byte("C0644 1048576 x\n"), lim); err != nil {
		t.Fatal(err)
	}
	// Name limit set by the caller.
	_, err = ParseControl([]byte("C0644 1 abcde\n"), RcpLimits{MaxName: 4})
	lineErr(t, err, ErrBadName, "name")
	// Missing newline, mid-line EOF, over-long line, two lines.
	_, err = ParseControl([]byte("C0644 1 x"), RcpLimits{})
	lineErr(t, err, ErrUnterminated, "line")
	_, err = ReadControl(strings.NewReader("C0644 1 x"), RcpLimits{})
	lineErr(t, err, ErrUnterminated, "line")
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("mid-line EOF: %v", err)
	}
	over := "C0644 1 " + strings.Repeat("n", DefaultRcpMaxLine)
	_, err = ReadControl(strings.NewReader(over+"\n"), RcpLimits{})
	lineErr(t, err, ErrTooLong, "line")
	_, err = ParseControl([]byte(over+"\n"), RcpLimits{})
	lineErr(t, err, ErrTooLong, "line")
	_, err = ParseControl([]byte("E\nE\n"), RcpLimits{})
	lineErr(t, err, ErrBadFormat, "line")
	// Writers refuse what parsers refuse.
	for _, m := range []RcpMessage{
		&FileHeader{Size: -1, Name: "x"}, &FileHeader{Name: "../x"}, &FileHeader{Name: ""},
		&FileHeader{Name: long}, &DirHeader{Name: "."}, &DirHeader{Name: "a\x00"},
		&FileHeader{Name: "a\nC0644 1 b"}, &DirHeader{Name: "d\n"},
		&Times{Mtime: time.Unix(-1, 0), Atime: time.Unix(0, 0)},
		&Times{Mtime: time.Unix(0, 0), Atime: time.Unix(MaxRcpTime+1, 0)},
		&Reply{Kind: ReplyError, Message: "a\nb"}, &Reply{Kind: ReplyOK, Message: "x"},
		&Reply{Kind: ReplyNoise, Message: "\x01x"}, &Reply{Kind: 7},
	} {
		if b, err := m.AppendLine(nil); err == nil {
			t.Fatalf("AppendLine(%#v) = %q", m, b)
		}
	}
}

func TestRcpReplies(t *testing.T) {
	for _, tc := range []struct {
		wire string
		rep  Reply
	}{
		{"\x00", Reply{}},
		{"\x01rcp: x: Permission denied\n", Reply{ReplyError, "rcp: x: Permission denied"}},
		{"\x02rcp: protocol screwup: bad mode\n", Reply{ReplyFatal, "rcp: protocol screwup: bad mode"}},
		{"No match.\n", Reply{ReplyNoise, "No match."}},
		{"\n", Reply{ReplyNoise, ""}},
	} {
		r := onlyReader{strings.NewReader(tc.wire + "next")}
		got, err := ReadReply(r, 0)
		if err != nil || got != tc.rep {
			t.Fatalf("ReadReply(%q) = %+v, %v", tc.wire, got, err)
		}
		if rest, _ := io.ReadAll(r); string(rest) != "next" {
			t.Fatalf("over-read %q", rest)
		}
		var w countingWriter
		if err := WriteReply(&w, tc.rep); err != nil || w.buf.String() != tc.wire {
			t.Fatalf("WriteReply = %q, %v", w.buf.String(), err)
		}
		var re *RcpError
		if tc.rep.Kind == ReplyOK {
			if tc.rep.Err() != nil || tc.rep.Fatal() {
				t.Fatal("OK reply is an error")
			}
		} else if !errors.As(tc.rep.Err(), &re) || re.Message != tc.rep.Message || tc.rep.Fatal() != (tc.rep.Kind != ReplyError) {
			t.Fatalf("Err() = %v", tc.rep.Err())
		}
	}
	_, err := ReadReply(strings.NewReader(""), 0)
	lineErr(t, err, ErrNoStatus, "reply")
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal(err)
	}
	rep, err := ReadReply(strings.NewReader("\x01half"), 0)
	lineErr(t, err, ErrUnterminated, "reply")
	if rep.Message != "half" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("partial reply %+v", rep)
	}
	_, err = ReadReply(strings.NewReader("\x01"+strings.Repeat("m", 11)+"\n"), 10)
	lineErr(t, err, ErrTooLong, "reply")
	_, err = ReadReply(strings.NewReader("N"+strings.Repeat("m", 10)+"\n"), 10)
	lineErr(t, err, ErrTooLong, "reply")
	if rep, n, err := ParseReply([]byte("N"+strings.Repeat("m", 9)+"\nX"), 10); err != nil || n != 11 || rep.Kind != ReplyNoise {
		t.Fatalf("noise at the limit: %+v %d %v", rep, n, err)
	}
}

func TestReceiveBody(t *testing.T) {
	h := FileHeader{Mode: 0644, Size: 10, Name: "f"}
	// Good body, status, and the next line stays in the stream.
	in := bufio.NewReader(strings.NewReader("0123456789\x00E\n"))
	var out bytes.Buffer
	st, err := ReceiveBody(&out, in, h, make([]byte, 3))
	if err != nil || st.Kind != ReplyOK || out.String() != "0123456789" {
		t.Fatalf("ReceiveBody = %+v, %v, %q", st, err, out.String())
	}
	if m, err := ReadControl(in, RcpLimits{}); err != nil || !reflect.DeepEqual(m, &EndDir{}) {
		t.Fatalf("next line: %#v, %v", m, err)
	}
	// The source reports a read error instead of \0.
	st, err = ReceiveBody(io.Discard, strings.NewReader("0123456789\x01rcp: f: Input/output error\n"), h, nil)
	if err != nil || st.Kind != ReplyError || st.Message != "rcp: f: Input/output error" {
		t.Fatalf("source error status: %+v, %v", st, err)
	}
	// The source dies mid-file (and mid-status).
	for _, wire := range []string{"", "01234", "012345678"} {
		_, err = ReceiveBody(io.Discard, strings.NewReader(wire), h, nil)
		var be *BodyError
		if !errors.Is(err, ErrSourceDied) || !errors.Is(err, io.ErrUnexpectedEOF) || !errors.As(err, &be) || be.Received != int64(len(wire)) || be.Name != "f" {
			t.Fatalf("died after %d: %v", len(wire), err)
		}
	}
	if _, err = ReceiveBody(io.Discard, strings.NewReader("0123456789"), h, nil); !errors.Is(err, ErrNoStatus) {
		t.Fatalf("no trailing status: %v", err)
	}
	// The sink's disk fails: the body is drained, the stream stays in step.
	in = bufio.NewReader(strings.NewReader("0123456789\x00E\n"))
	fw := &failWriter{after: 4}
	st, err = ReceiveBody(fw, in, h, make([]byte, 3))
	var be *BodyError
	if !errors.Is(err, ErrSinkWrite) || !errors.Is(err, errDiskFull) || !errors.As(err, &be) || be.Received != 3 || st.Kind != ReplyOK {
		t.Fatalf("disk full: %+v, %v", st, err)
	}
	if m, err := ReadControl(in, RcpLimits{}); err != nil || !reflect.DeepEqual(m, &EndDir{}) {
		t.Fatalf("after disk full: %#v, %v", m, err)
	}
	// Status before the body is complete.
	br := NewBodyReader(strings.NewReader("0123456789\x00"), h)
	if _, err := br.Status(); !errors.Is(err, ErrBodyPending) {
		t.Fatalf("early Status: %v", err)
	}
}

var errDiskFull = errors.New("disk full")

type failWriter struct{ after, n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n+len(p) > f.after {
		return 0, errDiskFull
	}
	f.n += len(p)
	return len(p), nil
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestBodyBeyond2GiB(t *testing.T) {
	size := int64(2<<30 + 12345)
	m, err := ParseControl([]byte("C0600 2147495993 huge\n"), RcpLimits{})
	if err != nil || m.(*FileHeader).Size != size {
		t.Fatalf("%#v %v", m, err)
	}
	src := io.MultiReader(io.LimitReader(zeros{}, size), strings.NewReader("\x00"))
	var n countWriter
	st, err := ReceiveBody(&n, src, *m.(*FileHeader), make([]byte, 1<<20))
	if err != nil || st.Kind != ReplyOK || int64(n) != size {
		t.Fatalf("received %d, %+v, %v", n, st, err)
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

func TestSendBody(t *testing.T) {
	h := FileHeader{Mode: 0644, Size: 10, Name: "f"}
	var w bytes.Buffer
	if err := SendBody(&w, strings.NewReader("0123456789extra"), h, make([]byte, 4)); err != nil || w.String() != "0123456789\x00" {
		t.Fatalf("SendBody = %q, %v", w.String(), err)
	}
	// The file shrank: padded, error reported in place of \0.
	w.Reset()
	err := SendBody(&w, strings.NewReader("0123"), h, nil)
	if !errors.Is(err, ErrFileRead) || w.String() != "0123\x00\x00\x00\x00\x00\x00\x01rcp: f: file shrank to 4 bytes\n" {
		t.Fatalf("shrunk: %q, %v", w.String(), err)
	}
	// What SendBody writes, ReceiveBody reads back.
	st, err := ReceiveBody(io.Discard, &w, h, nil)
	if err != nil || st.Kind != ReplyError || st.Message != "rcp: f: file shrank to 4 bytes" {
		t.Fatalf("read back: %+v %v", st, err)
	}
	w.Reset()
	if err := SendBody(&w, strings.NewReader(""), FileHeader{Name: "empty"}, nil); err != nil || w.String() != "\x00" {
		t.Fatalf("empty file: %q, %v", w.String(), err)
	}
	if err := SendBody(&failWriter{}, strings.NewReader("0123456789"), h, nil); !errors.Is(err, errDiskFull) {
		t.Fatalf("write error: %v", err)
	}
}
