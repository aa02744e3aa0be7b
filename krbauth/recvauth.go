package krbauth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
)

// ReadAPReq reads the client's u32-length AP-REQ (at most MaxAPReqLen bytes).
func ReadAPReq(r io.Reader) ([]byte, error) {
	b, err := readMsg(r, MaxAPReqLen, "AP-REQ")
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, malformed("empty AP-REQ", nil)
	}
	return b, nil
}

// WriteAPReqReply sends recvauth's answer to the AP-REQ: on success a zero
// length and then, if the client asked for mutual authentication, the
// length-prefixed AP-REP; on failure (verr != nil) a length-prefixed
// KRB-ERROR naming server (MIT recvauth.c). apreq is used only to name the
// server in the KRB-ERROR and may be nil.
func WriteAPReqReply(w io.Writer, acc *Accepted, verr error, apreq []byte, now time.Time) error {
	if verr != nil {
		return writeMsg(w, MarshalKRBError(verr, apreqServer(apreq), now))
	}
	if !acc.MutualRequired {
		return writeMsg(w, nil)
	}
	// One write for both messages.
	buf := binary.BigEndian.AppendUint32(make([]byte, 4, 8+len(acc.APRep)), uint32(len(acc.APRep)))
	_, err := w.Write(append(buf, acc.APRep...))
	return err
}

// apreqServer extracts the ticket's server principal for error messages.
func apreqServer(b []byte) (s string) {
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	var req messages.APReq
	if b == nil || req.Unmarshal(b) != nil {
		return ""
	}
	return principalString(req.Ticket.SName, req.Ticket.Realm)
}

// RecvAuth runs the server side of recvauth on rw: it reads the version
// strings, asks acceptVersion (nil accepts any) about the application
// version and answers 0/1/2, reads and verifies the AP-REQ (checksum
// deferred: call Accepted.VerifyChecksum once the kcmd strings are read),
// and answers with the AP-REP or a KRB-ERROR. On success the Accepted has
// AppVersion set.
func (ac *Acceptor) RecvAuth(rw io.ReadWriter, acceptVersion func(appVersion string) bool) (acc *Accepted, err error) {
	defer recoverErr(&err, "recvauth")
	app, verr := ReadVersions(rw)
	if verr != nil {
		if errors.Is(verr, ErrSendauthVersionRejected) {
			_ = WriteVersionAnswer(rw, false, false)
		}
		return nil, verr
	}
	if acceptVersion != nil && !acceptVersion(app) {
		_ = WriteVersionAnswer(rw, true, false)
		return nil, fmt.Errorf("%w: client sent %q", ErrAppVersionRejected, app)
	}
	if err := WriteVersionAnswer(rw, true, true); err != nil {
		return nil, fmt.Errorf("krbauth: writing version answer: %w", err)
	}
	apreq, err := ReadAPReq(rw)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	acc, verr = ac.Verify(apreq, nil, now)
	if werr := WriteAPReqReply(rw, acc, verr, apreq, now); werr != nil && verr == nil {
		return nil, fmt.Errorf("krbauth: writing AP-REQ reply: %w", werr)
	}
	if verr != nil {
		return nil, verr
	}
	acc.AppVersion = app
	return acc, nil
}
