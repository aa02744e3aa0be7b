package krxproto

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/krx-suite/krx/compat"
)

func TestBindingBytes(t *testing.T) {
	b := Binding{Service: Shell, ServerPort: 544, StderrPort: 40001, ServerUser: "alice", Payload: "ls -l", ClientUser: "al", Forward: true}
	got, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "krx1\x00shell\x00544\x0040001\x00alice\x00ls -l\x00al\x00\x01"
	if string(got) != want {
		t.Fatalf("%q", got)
	}
	b.Forward, b.StderrPort = false, 0
	got, _ = b.Marshal()
	if string(got) != "krx1\x00shell\x00544\x000\x00alice\x00ls -l\x00al\x00\x00" {
		t.Fatalf("%q", got)
	}
	// Every field matters: changing any one changes the data.
	base, _ := b.Marshal()
	for _, m := range []func(*Binding){
		func(x *Binding) { x.Service = Login; x.Payload = "xterm/38400" },
		func(x *Binding) { x.ServerPort = 2105 },
		func(x *Binding) { x.StderrPort = 1 },
		func(x *Binding) { x.ServerUser = "alicf" },
		func(x *Binding) { x.Payload = "ls -L" },
		func(x *Binding) { x.ClientUser = "am" },
		func(x *Binding) { x.Forward = true },
		// Moving a byte between adjacent fields must not give the same data.
		func(x *Binding) { x.ServerUser = "alice\x00ls"; x.Payload = " -l" },
	} {
		x := b
		m(&x)
		d, err := x.Marshal()
		if err == nil && bytes.Equal(d, base) {
			t.Errorf("%+v gives the same binding as %+v", x, b)
		}
	}
	for _, bad := range []Binding{
		{Service: "exec"}, {Service: Login, ServerPort: 65536}, {Service: Login, StderrPort: -1},
		{Service: Login, Payload: strings.Repeat("x", compat.MaxTermLen+1)},
		{Service: Shell, ClientUser: "a\x00b"},
	} {
		if _, err := bad.Marshal(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestParamsRoundTrip(t *testing.T) {
	p := Params{ServerUser: "root", Payload: "xterm-256color/38400", ClientUser: "alice"}
	b, err := p.AppendTo(nil, Login)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, "rest"...)
	for _, r := range []io.Reader{bytes.NewReader(b), bufio.NewReader(bytes.NewReader(b)), iotest.OneByteReader(bytes.NewReader(b))} {
		got, err := ReadParams(r, Login)
		if err != nil || got != p {
			t.Fatalf("%+v %v", got, err)
		}
		rest, _ := io.ReadAll(r)
		if string(rest) != "rest" {
			t.Fatalf("over-read: rest %q", rest)
		}
	}
}

func TestParamsLimits(t *testing.T) {
	long := strings.Repeat("t", compat.MaxTermLen+1)
	if _, err := (Params{Payload: long}).AppendTo(nil, Login); !errors.Is(err, compat.ErrTooLong) {
		t.Fatalf("login payload over the limit: %v", err)
	}
	if _, err := (Params{Payload: long}).AppendTo(nil, Shell); err != nil {
		t.Fatalf("shell command of %d bytes: %v", len(long), err)
	}
	_, err := ReadParams(strings.NewReader("u\x00"+long+"\x00c\x00"), Login)
	var fe *compat.FieldError
	if !errors.As(err, &fe) || fe.Field != FieldPayload || !errors.Is(err, compat.ErrTooLong) {
		t.Fatalf("%v", err)
	}
	_, err = ReadParams(strings.NewReader("u\x00pay"), Shell)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, compat.ErrUnterminated) {
		t.Fatalf("%v", err)
	}
	_, err = ReadParams(strings.NewReader(""), Shell)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("empty: %v", err)
	}
	if _, err := ReadParams(strings.NewReader("a\x00b\x00c\x00"), "exec"); !errors.Is(err, ErrBadService) {
		t.Fatalf("%v", err)
	}
}

func TestCred(t *testing.T) {
	b, _ := AppendCred(nil, nil)
	if !bytes.Equal(b, []byte{0, 0, 0, 0}) {
		t.Fatalf("% x", b)
	}
	if der, err := ReadCred(bytes.NewReader(b)); der != nil || err != nil {
		t.Fatal(der, err)
	}
	b, _ = AppendCred(nil, []byte("DER!"))
	b = append(b, 'x')
	r := bufio.NewReader(bytes.NewReader(b))
	if der, err := ReadCred(r); string(der) != "DER!" || err != nil {
		t.Fatal(der, err)
	}
	if c, _ := r.ReadByte(); c != 'x' {
		t.Fatal("over-read")
	}
	if _, err := ReadCred(bytes.NewReader([]byte{0, 1, 0, 1})); !errors.Is(err, ErrCredTooLong) {
		t.Fatalf("%v", err)
	}
	if _, err := ReadCred(bytes.NewReader([]byte{0, 0, 0, 5, 1})); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("%v", err)
	}
	if _, err := AppendCred(nil, make([]byte, MaxCredLen+1)); !errors.Is(err, ErrCredTooLong) {
		t.Fatalf("%v", err)
	}
}

func TestStatus(t *testing.T) {
	ok, _ := AppendStatus(nil, true, "")
	if string(ok) != "krx1\x00" {
		t.Fatalf("%q", ok)
	}
	if err := ReadStatus(bytes.NewReader(ok)); err != nil {
		t.Fatal(err)
	}
	no, _ := AppendStatus(nil, false, "rlogind: Permission denied.")
	err := ReadStatus(bytes.NewReader(append(no, "more"...)))
	var se *StatusError
	if !errors.As(err, &se) || se.Message != "rlogind: Permission denied." {
		t.Fatalf("%v", err)
	}
	for _, bad := range []string{"\x01rlogind: bad\n", "\x00", "krx1\x07", "krx1\x01unterminated", "KRX1\x00"} {
		if err := ReadStatus(strings.NewReader(bad)); err == nil || errors.As(err, &se) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := ReadStatus(strings.NewReader("\x01legacy\n")); !errors.Is(err, ErrBadTag) {
		t.Errorf("clear refusal: %v", err)
	}
	if _, err := AppendStatus(nil, false, "two\nlines"); !errors.Is(err, ErrBadStatus) {
		t.Fatal(err)
	}
	if _, err := AppendStatus(nil, true, "text"); !errors.Is(err, ErrBadStatus) {
		t.Fatal(err)
	}
}

func TestAppVersionLength(t *testing.T) {
	// kcmd servers require a 9-byte version including the NUL.
	if len(AppVersion)+1 != 9 {
		t.Fatalf("%q", AppVersion)
	}
}
