package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/krx-suite/krx/oob"
)

// Loopback addresses of the demo's three "hosts". The clients dial
// relayIP; the relay reaches rlogind (on serverIP) from upstreamIP, so the
// server's stderr connection back to its peer lands on the relay too,
// not on the client directly.
const (
	serverIP   = "127.0.0.1"
	relayIP    = "127.0.0.2"
	upstreamIP = "127.0.0.3"
)

// maxStderrField is the longest stderr-port field a client may send: up to
// five digits and the NUL (docs/protocol.md §3, as kcmd sends it).
const maxStderrField = 6

// stderrAcceptTimeout bounds how long the relay waits for the server's
// stderr connection once it has seen a non-zero stderr port.
const stderrAcceptTimeout = 30 * time.Second

// Capture is every byte the relays carried, one stream per direction of
// every TCP connection, so a plaintext string split across reads is still
// found.
type Capture struct {
	mu      sync.Mutex
	streams []*stream
}

// stream is one direction of one relayed connection.
type stream struct {
	name     string
	toServer bool
	data     []byte
}

func (c *Capture) newStream(name string, toServer bool) *stream {
	s := &stream{name: name, toServer: toServer}
	c.mu.Lock()
	c.streams = append(c.streams, s)
	c.mu.Unlock()
	return s
}

func (c *Capture) add(s *stream, p []byte) {
	c.mu.Lock()
	s.data = append(s.data, p...)
	c.mu.Unlock()
}

// Totals returns the bytes relayed towards the server and towards the
// clients, and how many TCP connections were relayed.
func (c *Capture) Totals() (toServer, toClient int64, conns int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.streams {
		if s.toServer {
			toServer += int64(len(s.data))
			conns++
		} else {
			toClient += int64(len(s.data))
		}
	}
	return toServer, toClient, conns
}

// Largest returns the name and a copy of the data of the longest
// client→server stream (the rcp upload in the demo).
func (c *Capture) Largest() (string, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *stream
	for _, s := range c.streams {
		if s.toServer && (best == nil || len(s.data) > len(best.data)) {
			best = s
		}
	}
	if best == nil {
		return "", nil
	}
	return best.name, append([]byte(nil), best.data...)
}

// Count returns how many times needle occurs in the captured streams.
func (c *Capture) Count(needle []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.streams {
		n += bytes.Count(s.data, needle)
	}
	return n
}

// Relay is a TCP relay on relayIP:port in front of rlogind's serverIP:port
// that records every byte into a Capture. The port is the server's own:
// the krx checksum binds the server port the client dialled.
type Relay struct {
	name string
	port int
	ln   *net.TCPListener
	cap  *Capture
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[io.Closer]bool
	errs []error
}

// ListenRelay binds relayIP:port (port 0: any free one) for service name.
func ListenRelay(name string, port int, capture *Capture) (*Relay, error) {
	lc := net.ListenConfig{Control: oob.Control}
	ln, err := lc.Listen(context.Background(), "tcp", net.JoinHostPort(relayIP, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("relay %s: %w", name, err)
	}
	r := &Relay{name: name, ln: ln.(*net.TCPListener), cap: capture, open: map[io.Closer]bool{}}
	r.port = r.ln.Addr().(*net.TCPAddr).Port
	return r, nil
}

// Port is the relay's (and the server's) port.
func (r *Relay) Port() int { return r.port }

// Serve relays connections until Close.
func (r *Relay) Serve() {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for n := 1; ; n++ {
			c, err := r.ln.AcceptTCP()
			if err != nil {
				return
			}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				if err := r.relay(c, n); err != nil {
					r.mu.Lock()
					r.errs = append(r.errs, err)
					r.mu.Unlock()
				}
			}()
		}
	}()
}

// Close stops the relay, closes every connection it holds and waits for
// its goroutines; it returns the first relaying error, if any.
func (r *Relay) Close() error {
	r.ln.Close()
	r.mu.Lock()
	for c := range r.open {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}

// track remembers c so Close can close it; it reports false (and closes c)
// if the relay is already closing.
func (r *Relay) track(c io.Closer) {
	r.mu.Lock()
	r.open[c] = true
	r.mu.Unlock()
}

func (r *Relay) untrack(c io.Closer) {
	r.mu.Lock()
	delete(r.open, c)
	r.mu.Unlock()
	c.Close()
}

// relay carries one client connection to rlogind. The client's first bytes
// are the stderr-port field, in clear; for a non-zero port the relay
// listens on upstreamIP at that port (where the server will connect back)
// before passing the field on, and relays that connection to the client.
func (r *Relay) relay(client *net.TCPConn, n int) error {
	r.track(client)
	defer r.untrack(client)
	d := net.Dialer{Control: oob.Control, LocalAddr: &net.TCPAddr{IP: net.ParseIP(upstreamIP)}, Timeout: 10 * time.Second}
	sc, err := d.Dial("tcp", net.JoinHostPort(serverIP, strconv.Itoa(r.port)))
	if err != nil {
		return fmt.Errorf("relay %s: connecting to rlogind: %w", r.name, err)
	}
	server := sc.(*net.TCPConn)
	r.track(server)
	defer r.untrack(server)

	label := fmt.Sprintf("%s #%d", r.name, n)
	up := r.cap.newStream(label+" client→server", true)
	down := r.cap.newStream(label+" server→client", false)
	field, err := readField(client)
	r.cap.add(up, field)
	if err != nil {
		return fmt.Errorf("relay %s: reading the stderr-port field: %w", r.name, err)
	}
	var stderrDone chan error
	var stderrL *net.TCPListener
	if port, _ := strconv.Atoi(string(field[:len(field)-1])); port != 0 {
		lc := net.ListenConfig{Control: oob.Control}
		l, err := lc.Listen(context.Background(), "tcp", net.JoinHostPort(upstreamIP, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("relay %s: listening for the stderr channel: %w", r.name, err)
		}
		ln := l.(*net.TCPListener)
		stderrL = ln
		r.track(ln)
		stderrDone = make(chan error, 1)
		go func() {
			defer r.untrack(ln)
			stderrDone <- r.relayStderr(ln, client.RemoteAddr().(*net.TCPAddr), port, label)
		}()
	}
	if _, err := server.Write(field); err != nil {
		return fmt.Errorf("relay %s: %w", r.name, err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.pipe(server, client, up) }()
	go func() { defer wg.Done(); r.pipe(client, server, down) }()
	wg.Wait()
	if stderrDone != nil {
		// A server that has not connected the stderr channel by the end
		// of the session never will: stop waiting for it.
		stderrL.Close()
		return <-stderrDone
	}
	return nil
}

// relayStderr accepts the server's stderr connection and relays it to the
// client's stderr listener at clientAddr's IP and port.
func (r *Relay) relayStderr(ln *net.TCPListener, clientAddr *net.TCPAddr, port int, label string) error {
	ln.SetDeadline(time.Now().Add(stderrAcceptTimeout))
	sc, err := ln.AcceptTCP()
	if err != nil {
		return fmt.Errorf("relay %s: no stderr connection from rlogind: %w", r.name, err)
	}
	ln.Close()
	r.track(sc)
	defer r.untrack(sc)
	d := net.Dialer{Control: oob.Control, LocalAddr: &net.TCPAddr{IP: net.ParseIP(relayIP)}, Timeout: 10 * time.Second}
	cc, err := d.Dial("tcp", net.JoinHostPort(clientAddr.IP.String(), strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("relay %s: connecting the stderr channel to the client: %w", r.name, err)
	}
	client := cc.(*net.TCPConn)
	r.track(client)
	defer r.untrack(client)
	down := r.cap.newStream(label+" stderr server→client", false)
	up := r.cap.newStream(label+" stderr client→server", true)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.pipe(client, sc, down) }()
	go func() { defer wg.Done(); r.pipe(sc, client, up) }()
	wg.Wait()
	return nil
}

// pipe copies src to dst, recording the bytes, and half-closes dst at
// src's end of stream (rsh's end of input travels this way). It reads
// through oob.Reader: a plain read at an urgent mark can return EAGAIN
// with the byte queued and then wait for more data (see oob), which would
// hold back the last byte of a flush command. Urgent bytes go on as data:
// krx's commands are in-band.
func (r *Relay) pipe(dst, src *net.TCPConn, s *stream) {
	buf := make([]byte, 32<<10)
	rd := oob.NewReader(src, nil)
	for {
		n, err := rd.Read(buf)
		if n > 0 {
			r.cap.add(s, buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.CloseRead()
				return
			}
		}
		if err != nil {
			dst.CloseWrite()
			return
		}
	}
}

// readField reads the client's stderr-port field: ASCII digits up to a NUL.
func readField(c net.Conn) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var field []byte
	b := make([]byte, 1)
	for len(field) < maxStderrField {
		if _, err := io.ReadFull(c, b); err != nil {
			return field, err
		}
		field = append(field, b[0])
		if b[0] == 0 {
			return field, nil
		}
		if b[0] < '0' || b[0] > '9' {
			return field, fmt.Errorf("byte %#x is not a digit", b[0])
		}
	}
	return field, fmt.Errorf("no NUL within %d bytes", maxStderrField)
}
