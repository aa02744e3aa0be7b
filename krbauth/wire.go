package krbauth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Wire constants of sendauth/recvauth (MIT src/lib/krb5/krb/sendauth.c,
// recvauth.c; PROTOCOL.md §2.2).
const (
	// SendauthVersion is the sendauth protocol version string (sent with a
	// trailing NUL, 19 bytes in all).
	SendauthVersion = "KRB5_SENDAUTH_V1.0"
	// AppVersionKCMD01 is the legacy kcmd application version (APPL kcmd.c).
	AppVersionKCMD01 = "KCMDV0.1"
	// AppVersionKCMD02 is the later kcmd application version (APPL kcmd.c).
	AppVersionKCMD02 = "KCMDV0.2"

	// Answer bytes after the version strings (MIT recvauth.c).
	versionOK             = 0
	versionBadSendauth    = 1
	versionBadApplication = 2

	// maxVersionLen bounds each version string including its NUL. MIT reads
	// any length; 255 is ample (the real ones are 19 and 9 bytes).
	maxVersionLen = 255
	// MaxAPReqLen bounds an AP-REQ a server reads: tickets with large
	// authorisation data (PACs) fit easily, a hostile peer cannot make us
	// allocate more.
	MaxAPReqLen = 256 << 10
	// maxAPRepLen bounds the AP-REP a client reads.
	maxAPRepLen = 64 << 10
)

// writeMsg writes a u32 big-endian length and the body in one write (MIT
// os/write_msg.c krb5_write_message).
func writeMsg(w io.Writer, body []byte) error {
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	_, err := w.Write(buf)
	return err
}

// readMsg reads a u32 big-endian length and that many bytes, refusing
// lengths above max. A zero length returns an empty, non-nil slice.
func readMsg(r io.Reader, max int, what string) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("krbauth: reading %s length: %w", what, eofErr(err))
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if uint64(n) > uint64(max) {
		return nil, fmt.Errorf("%w: %s of %d bytes (limit %d)", ErrTooLong, what, n, max)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("krbauth: reading %s (%d bytes): %w", what, n, eofErr(err))
	}
	return body, nil
}

func eofErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// versionMsg is a length-prefixed NUL-terminated version string.
func versionMsg(v string) []byte {
	return append(append(binary.BigEndian.AppendUint32(nil, uint32(len(v)+1)), v...), 0)
}

// readVersion reads one length-prefixed version string. The length
// includes the trailing NUL, which must be the last byte and the only NUL
// (MIT recvauth compares the whole buffer, NUL included).
func readVersion(r io.Reader, what string) (string, error) {
	b, err := readMsg(r, maxVersionLen, what)
	if err != nil {
		return "", err
	}
	if len(b) == 0 || b[len(b)-1] != 0 {
		return "", malformed(what+" is not NUL-terminated", nil)
	}
	b = b[:len(b)-1]
	if bytes.IndexByte(b, 0) >= 0 {
		return "", malformed(what+" contains a NUL byte", nil)
	}
	return string(b), nil
}

// ReadVersions reads the sendauth and application version strings the
// client sends first (server side, step 1 of recvauth). A wrong sendauth
// version is reported as ErrSendauthVersionRejected with the application
// version still returned if it could be read; the caller must then answer
// with WriteVersionAnswer(w, false, false).
func ReadVersions(r io.Reader) (appVersion string, err error) {
	sv, err := readVersion(r, "sendauth version")
	if err != nil {
		return "", err
	}
	av, err := readVersion(r, "application version")
	if err != nil {
		return "", err
	}
	if sv != SendauthVersion {
		return av, fmt.Errorf("%w: got %q", ErrSendauthVersionRejected, sv)
	}
	return av, nil
}

// WriteVersionAnswer writes recvauth's one-byte answer: 0 if both versions
// are accepted, 1 for a bad sendauth version, 2 for a refused application
// version (MIT recvauth.c).
func WriteVersionAnswer(w io.Writer, sendauthOK, appOK bool) error {
	b := byte(versionOK)
	switch {
	case !sendauthOK:
		b = versionBadSendauth
	case !appOK:
		b = versionBadApplication
	}
	_, err := w.Write([]byte{b})
	return err
}
