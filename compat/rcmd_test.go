package compat

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// onlyReader hides any ReadByte method, forcing 1-byte reads.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// PROTOCOL.md §5, plain rlogin, alice → alice, xterm/38400.
var rloginExample = []byte{
	0x00, 0x61, 0x6c, 0x69, 0x63, 0x65, 0x00, 0x61, 0x6c, 0x69, 0x63, 0x65, 0x00,
	0x78, 0x74, 0x65, 0x72, 0x6d, 0x2f, 0x33, 0x38, 0x34, 0x30, 0x30, 0x00,
}

func TestHandshakeWorkedExamples(t *testing.T) {
	h := Handshake{ClientUser: "alice", ServerUser: "alice", Payload: TermSpeed{"xterm", 38400}.String()}
	b, err := h.Marshal()
	if err != nil || !bytes.Equal(b, rloginExample) {
		t.Fatalf("rlogin example: % x, %v\nwant % x", b, err, rloginExample)
	}
	rsh := Handshake{StderrPort: 1022, ClientUser: "alice", ServerUser: "alice", Payload: "ls -l"}
	b, err = rsh.Marshal()
	if want := "1022\x00alice\x00alice\x00ls -l\x00"; err != nil || string(b) != want {
		t.Fatalf("rsh example: %q, %v; want %q", b, err, want)
	}
	var w countingWriter
	if err := WriteHandshake(&w, rsh); err != nil || w.writes != 1 || w.buf.String() != string(b) {
		t.Fatalf("WriteHandshake: %d writes, %q, %v", w.writes, w.buf.String(), err)
	}
	// Parse both back, with data following, through three kinds of reader.
	for _, tc := range []struct {
		wire []byte
		want Handshake
		lim  Limits
	}{{rloginExample, h, LoginLimits}, {b, rsh, ShellLimits}} {
		data := []byte("DATA\xff\xff")
		in := append(append([]byte{}, tc.wire...), data...)
		got, n, err := ParseHandshake(in, tc.lim)
		if err != nil || got != tc.want || n != len(tc.wire) {
			t.Fatalf("ParseHandshake = %+v, %d, %v", got, n, err)
		}
		r := onlyReader{bytes.NewReader(in)}
		if got, err = ReadHandshake(r, tc.lim); err != nil || got != tc.want {
			t.Fatalf("ReadHandshake(1-byte) = %+v, %v", got, err)
		}
		if rest, _ := io.ReadAll(r); !bytes.Equal(rest, data) {
			t.Fatalf("over-read: rest %q", rest)
		}
		br := bufio.NewReader(bytes.NewReader(in))
		if got, err = ReadHandshake(br, tc.lim); err != nil || got != tc.want {
			t.Fatalf("ReadHandshake(bufio) = %+v, %v", got, err)
		}
		if rest, _ := io.ReadAll(br); !bytes.Equal(rest, data) {
			t.Fatalf("bufio lost data: rest %q", rest)
		}
	}
	ts, err := ParseTermSpeed(h.Payload)
	if err != nil || ts != (TermSpeed{"xterm", 38400}) {
		t.Fatalf("ParseTermSpeed = %+v, %v", ts, err)
	}
}

type countingWriter struct {
	buf    bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) { c.writes++; return c.buf.Write(p) }

func fieldErr(t *testing.T, err error, sentinel error, field string) *FieldError {
	t.Helper()
	var fe *FieldError
	if !errors.Is(err, sentinel) || !errors.As(err, &fe) || fe.Field != field {
		t.Fatalf("got %v (%T), want %v in field %q", err, err, sentinel, field)
	}
	return fe
}

func TestHandshakeLimits(t *testing.T) {
	// Everything netkit's servers accept, krx accepts.
	ok := Handshake{
		ClientUser: strings.Repeat("u", NetkitRlogindUserLen),
		ServerUser: strings.Repeat("v", MaxUserLen),
		Payload:    strings.Repeat("t", NetkitRlogindTermLen),
	}
	b, _ := ok.Marshal()
	if got, _, err := ParseHandshake(b, LoginLimits); err != nil || got != ok {
		t.Fatalf("netkit-sized login handshake refused: %v", err)
	}
	ok.Payload = strings.Repeat("c", NetkitRshdCommandLen)
	b, _ = ok.Marshal()
	if got, _, err := ParseHandshake(b, ShellLimits); err != nil || got != ok {
		t.Fatalf("netkit-sized shell handshake refused: %v", err)
	}
	// Over-long strings, each field.
	long := strings.Repeat("x", MaxUserLen+1)
	for _, tc := range []struct {
		wire  string
		lim   Limits
		field string
		limit int
	}{
		{"\x00" + long + "\x00b\x00c\x00", ShellLimits, FieldClientUser, MaxUserLen},
		{"\x00a\x00" + long + "\x00c\x00", ShellLimits, FieldServerUser, MaxUserLen},
		{"\x00a\x00b\x00" + strings.Repeat("t", MaxTermLen+1) + "\x00", LoginLimits, FieldPayload, MaxTermLen},
		{"\x00a\x00b\x00" + strings.Repeat("c", MaxCommandLen+1) + "\x00", Limits{}, FieldPayload, MaxCommandLen},
		{"\x00" + strings.Repeat("r", NetkitRshdUserLen+1) + "\x00b\x00c\x00", Limits{User: NetkitRshdUserLen}, FieldClientUser, NetkitRshdUserLen},
		{strings.Repeat("1", MaxPortFieldLen+1) + "\x00", ShellLimits, FieldStderrPort, MaxPortFieldLen},
	} {
		_, n, err := ParseHandshake([]byte(tc.wire), tc.lim)
		fe := fieldErr(t, err, ErrTooLong, tc.field)
		if fe.Limit != tc.limit || n >= len(tc.wire) {
			t.Fatalf("%s: limit %d (want %d), consumed %d of %d", tc.field, fe.Limit, tc.limit, n, len(tc.wire))
		}
	}
	// Marshal refuses what no server would take.
	for _, h := range []Handshake{
		{StderrPort: -1}, {StderrPort: 65536},
		{ClientUser: "a\x00b"}, {Payload: "x\x00"}, {ServerUser: long},
		{Payload: strings.Repeat("c", MaxCommandLen+1)},
	} {
		if _, err := h.Marshal(); err == nil {
			t.Fatalf("Marshal(%+v) succeeded", h)
		}
	}
}

func TestHandshakeUnterminated(t *testing.T) {
	full := []byte("1022\x00alice\x00bob\x00ls -l\x00")
	fields := []string{FieldStderrPort, FieldClientUser, FieldServerUser, FieldPayload}
	for cut := 0; cut < len(full); cut++ {
		_, err := ReadHandshake(bytes.NewReader(full[:cut]), ShellLimits)
		field := fields[bytes.Count(full[:cut], []byte{0})]
		fieldErr(t, err, ErrUnterminated, field)
		if cut == 0 {
			if !errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("empty stream: %v, want io.EOF", err)
			}
		} else if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut %d: %v does not match io.ErrUnexpectedEOF", cut, err)
		}
	}
	// Other read errors come through as the cause.
	boom := errors.New("boom")
	_, err := ReadHandshake(io.MultiReader(strings.NewReader("\x00al"), errReader{boom}), ShellLimits)
	fieldErr(t, err, ErrUnterminated, FieldClientUser)
	if !errors.Is(err, boom) {
		t.Fatalf("cause lost: %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestHandshakePort(t *testing.T) {
	for wire, want := range map[string]int{"\x00": 0, "0\x00": 0, "1022\x00": 1022, "00001022\x00": 1022, "65535\x00": 65535} {
		h, _, err := ParseHandshake([]byte(wire+"a\x00b\x00c\x00"), ShellLimits)
		if err != nil || h.StderrPort != want {
			t.Fatalf("%q: port %d, %v", wire, h.StderrPort, err)
		}
	}
	// netkit rshd ignores non-digits; krx refuses them.
	for _, wire := range []string{"12a\x00", " 1022\x00", "-1\x00", "65536\x00", "99999999\x00", "+1\x00"} {
		_, _, err := ParseHandshake([]byte(wire+"a\x00b\x00c\x00"), ShellLimits)
		fieldErr(t, err, ErrBadPort, FieldStderrPort)
	}
	if !IsReservedPort(512) || !IsReservedPort(1023) || IsReservedPort(511) || IsReservedPort(1024) {
		t.Fatal("IsReservedPort")
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		st   Status
		wire string
	}{
		{Status{}, "\x00"},
		{Status{Code: StatusRefused, Message: "Permission denied."}, "\x01Permission denied.\n"},
		{Status{Code: StatusRefused, Message: "rlogind: Permission denied.\r"}, "\x01rlogind: Permission denied.\r\n"},
		{Status{Code: 0x7f, Message: ""}, "\x7f\n"},
	} {
		var w countingWriter
		if err := WriteStatus(&w, tc.st); err != nil || w.buf.String() != tc.wire || w.writes != 1 {
			t.Fatalf("WriteStatus(%+v) = %q, %v", tc.st, w.buf.String(), err)
		}
		r := onlyReader{strings.NewReader(tc.wire + "after")}
		got, err := ReadStatus(r)
		if err != nil || got != tc.st {
			t.Fatalf("ReadStatus(%q) = %+v, %v", tc.wire, got, err)
		}
		if rest, _ := io.ReadAll(r); string(rest) != "after" {
			t.Fatalf("over-read: %q", rest)
		}
		if (got.Err() == nil) != got.OK() {
			t.Fatal("Err/OK disagree")
		}
	}
	st, _, _ := ParseStatus([]byte("\x01rlogind: Permission denied.\r\n"))
	var se *StatusError
	if !errors.As(st.Err(), &se) || se.Message != "rlogind: Permission denied." || st.Err().Error() != "remote: rlogind: Permission denied." {
		t.Fatalf("StatusError: %v", st.Err())
	}
	// Closed before the status byte; message cut off; too long.
	_, err := ReadStatus(strings.NewReader(""))
	if !errors.Is(err, ErrNoStatus) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("no status: %v", err)
	}
	st, err = ReadStatus(strings.NewReader("\x01Permission den"))
	fieldErr(t, err, ErrUnterminated, FieldStatus)
	if st.Message != "Permission den" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("partial status %+v", st)
	}
	_, err = ReadStatus(strings.NewReader("\x01" + strings.Repeat("m", MaxStatusLen+1) + "\n"))
	fieldErr(t, err, ErrTooLong, FieldStatus)
	for _, bad := range []Status{{Message: "x"}, {Code: 1, Message: "a\nb"}, {Code: 1, Message: strings.Repeat("m", MaxStatusLen+1)}} {
		if _, err := bad.Marshal(); err == nil {
			t.Fatalf("Marshal(%+v) succeeded", bad)
		}
	}
}

func TestTermSpeed(t *testing.T) {
	for in, want := range map[string]TermSpeed{
		"xterm/38400": {"xterm", 38400}, "vt100": {"vt100", 0}, "network/9600": {"network", 9600}, "/9600": {"", 9600},
	} {
		got, err := ParseTermSpeed(in)
		if err != nil || got != want {
			t.Fatalf("%q: %+v, %v", in, got, err)
		}
		if want.Speed != 0 && got.String() != in {
			t.Fatalf("String %q != %q", got.String(), in)
		}
	}
	for _, in := range []string{"x/", "x/abc", "x/12/34", "x/-1", "x/1234567890", "x/ 96"} {
		got, err := ParseTermSpeed(in)
		fieldErr(t, err, ErrBadSpeed, "speed")
		if got.Term != "x" {
			t.Fatalf("%q: term %q not kept for fall-back", in, got.Term)
		}
	}
}
