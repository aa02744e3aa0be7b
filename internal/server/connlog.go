package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/krx-suite/krx/compat"
)

// Decisions recorded in a connection's log line.
const (
	Accepted = "accepted" // authorised, session started
	Refused  = "refused"  // policy said no; the peer was told
	Failed   = "failed"   // the peer vanished, timed out or broke the protocol
)

// ConnLog collects what the one log line of a connection says: service,
// peer, users, decision and reason. Emit writes it once.
type ConnLog struct {
	Service    Service
	Peer       net.Addr
	Principal  string // the Kerberos client principal (krx services)
	ClientUser string
	ServerUser string
	Payload    string // TERM/speed or the command; logged at Debug level only
	Decision   string
	Reason     string

	once sync.Once
}

// NewConnLog starts the record of connection c.
func NewConnLog(svc Service, c net.Conn) *ConnLog {
	return &ConnLog{Service: svc, Peer: c.RemoteAddr()}
}

// Set records the decision and reason.
func (l *ConnLog) Set(decision, reason string) { l.Decision, l.Reason = decision, reason }

// Refuse records refusal r with decision and, when r has a message for
// the peer, writes it to c (for at most 5 s) and closes gently so the
// message is not lost to a reset. Both services refuse this way.
func (l *ConnLog) Refuse(c *net.TCPConn, r *Refusal, decision string) {
	l.Set(decision, r.Reason)
	if r.Peer != "" {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		WriteRefusal(c, l.Service, r.Peer)
		LingerClose(c)
	}
}

// Emit writes the line (once; later calls do nothing): Info for accepted
// and refused connections, Warn for failed ones.
func (l *ConnLog) Emit(log *slog.Logger) {
	l.once.Do(func() {
		lvl := slog.LevelInfo
		if l.Decision == Failed {
			lvl = slog.LevelWarn
		}
		attrs := []any{"service", string(l.Service), "peer", AddrString(l.Peer)}
		if l.Principal != "" || l.Service == Eklogin || l.Service == Kshell || l.Service == Krx {
			attrs = append(attrs, "principal", l.Principal)
		}
		attrs = append(attrs, "client-user", l.ClientUser, "server-user", l.ServerUser,
			"decision", l.Decision, "reason", l.Reason)
		if log.Enabled(context.Background(), slog.LevelDebug) {
			attrs = append(attrs, "payload", l.Payload)
		}
		log.Log(context.Background(), lvl, "connection", attrs...)
	})
}

// AddrString formats a, "" for nil.
func AddrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// HandshakeRefusal turns an error from reading the handshake into a
// Refusal. Peer is empty when there is no one left to tell (the peer
// closed) — the caller then only logs.
func HandshakeRefusal(err error, timeout time.Duration) *Refusal {
	var fe *compat.FieldError
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return Refuse("timeout reading the handshake", "no complete handshake within %v: %v", timeout, err)
	case errors.Is(err, compat.ErrTooLong) && errors.As(err, &fe):
		return Refuse(fe.Field+" too long", "handshake: %v", err)
	case errors.Is(err, compat.ErrBadPort):
		return Refuse("bad stderr port", "handshake: %v", err)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return Refuse("", "peer closed the connection during the handshake: %v", err)
	}
	return Refuse("", "reading the handshake: %v", err)
}

// DeadlineOnDone sets c's deadline to the past when ctx ends, so a
// blocked handshake read returns at shutdown. Call the returned stop
// function once the handshake is over.
func DeadlineOnDone(ctx context.Context, c net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
}

// Lingering close after a refusal (like HTTP servers' lingering close).
const (
	lingerTime = time.Second
	lingerMax  = 1 << 20
)

// LingerClose closes c after a refusal without losing the refusal: it
// sends FIN, then reads and drops what the client still sends (for at
// most a second, at most 1 MiB), because closing a socket with unread
// input makes the kernel answer with a reset, which may destroy the
// message at the client before it is read.
func LingerClose(c *net.TCPConn) {
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, c, lingerMax)
	c.Close()
}
