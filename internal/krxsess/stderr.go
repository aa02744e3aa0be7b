package krxsess

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/krx-suite/krx/cfbstream"
	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/krbauth"
	"github.com/krx-suite/krx/oob"
)

// prefixTimeout bounds how long one candidate stderr connection may take to
// send its prefix.
const prefixTimeout = 10 * time.Second

// ClientStderr is the client end of a shell session's stderr channel: the
// decrypted stderr of the command, and encrypted signal bytes back.
type ClientStderr struct {
	conn *net.TCPConn
	dec  *cfbstream.Decrypter
	mu   sync.Mutex
	w    *cfbstream.Writer
	// Strangers is how many connections were refused because they did not
	// start with the encrypted prefix.
	Strangers int
}

// AcceptStderr waits up to timeout for the server's stderr connection
// (docs/protocol.md §8). A connection whose first bytes do not decrypt to
// "krx-stderr\0" under this session's key is closed and waiting goes on:
// only the server, holding the subkey, can produce them. The listener is
// closed and the key forgotten once the channel is up.
func (s *ClientSession) AcceptStderr(timeout time.Duration) (*ClientStderr, error) {
	if s.stderrL == nil {
		return nil, ErrNoStderr
	}
	defer func() {
		s.stderrL.Close()
		clear(s.key.Value)
		s.key = krbauth.Key{}
	}()
	deadline := time.Now().Add(timeout)
	if err := s.stderrL.SetDeadline(deadline); err != nil {
		return nil, err
	}
	strangers := 0
	for {
		c, err := s.stderrL.AcceptTCP()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, fmt.Errorf("%w within %v (%d refused)", ErrStderrTimeout, timeout, strangers)
			}
			return nil, err
		}
		enc, dec, err := pair(s.key, cfbstream.Client, cfbstream.Stderr)
		if err != nil {
			c.Close()
			return nil, err
		}
		pd := time.Now().Add(prefixTimeout)
		if deadline.Before(pd) {
			pd = deadline
		}
		c.SetReadDeadline(pd)
		got := make([]byte, len(krxproto.StderrPrefix))
		_, rerr := io.ReadFull(c, got)
		dec.XORKeyStream(got, got)
		if rerr != nil || subtle.ConstantTimeCompare(got, []byte(krxproto.StderrPrefix)) != 1 {
			c.Close()
			strangers++
			continue
		}
		c.SetReadDeadline(time.Time{})
		return &ClientStderr{conn: c, dec: dec, w: cfbstream.NewWriter(c, enc), Strangers: strangers}, nil
	}
}

// Read reads and decrypts the command's stderr.
func (c *ClientStderr) Read(p []byte) (int, error) {
	n, err := c.conn.Read(p)
	c.dec.XORKeyStream(p[:n], p[:n])
	return n, err
}

// SendSignal sends one encrypted signal byte (2 INT, 3 QUIT, 15 TERM).
func (c *ClientStderr) SendSignal(sig compat.Signal) error {
	if _, err := compat.ParseSignal(byte(sig)); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.w.Write([]byte{byte(sig)})
	return err
}

// Close closes the stderr connection.
func (c *ClientStderr) Close() error { return c.conn.Close() }

// ServerStderr is the server end of the stderr channel.
type ServerStderr struct {
	conn *net.TCPConn
	w    *cfbstream.Writer
	r    *cfbstream.Reader
	mu   sync.Mutex
}

// DialStderr connects the stderr channel to the client's port, from the
// main connection's local address, and sends the encrypted prefix. Call it
// after Accept.
func (s *ServerSession) DialStderr(ctx context.Context) (*ServerStderr, error) {
	if s.StderrPort == 0 {
		return nil, ErrNoStderr
	}
	enc, dec, err := pair(s.key, cfbstream.Server, cfbstream.Stderr)
	if err != nil {
		return nil, err
	}
	local := s.Conn.LocalAddr().(*net.TCPAddr)
	remote := s.Conn.RemoteAddr().(*net.TCPAddr)
	d := net.Dialer{Control: oob.Control, LocalAddr: &net.TCPAddr{IP: local.IP, Zone: local.Zone}}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(remote.IP.String(), fmt.Sprint(s.StderrPort)))
	if err != nil {
		return nil, fmt.Errorf("krxsess: connecting the stderr channel: %w", err)
	}
	st := &ServerStderr{conn: c.(*net.TCPConn), w: cfbstream.NewWriter(c, enc), r: cfbstream.NewReader(c, dec)}
	if _, err := st.w.Write([]byte(krxproto.StderrPrefix)); err != nil {
		c.Close()
		return nil, err
	}
	return st, nil
}

// Write encrypts and sends the command's stderr.
func (s *ServerStderr) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// ReadSignal reads one signal byte from the client; io.EOF when the client
// closed its side.
func (s *ServerStderr) ReadSignal() (compat.Signal, error) {
	var b [1]byte
	if _, err := io.ReadFull(s.r, b[:]); err != nil {
		return 0, err
	}
	return compat.ParseSignal(b[0])
}

// CloseWrite half-closes the stderr connection (the command's stderr ended).
func (s *ServerStderr) CloseWrite() error { return s.conn.CloseWrite() }

// Close closes the stderr connection.
func (s *ServerStderr) Close() error { return s.conn.Close() }
