package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// floodEnv, set to "1" in the environment of the test binary, makes it the
// flood generator instead of running tests (TestMain): the test types
// "KRX_E2E_FLOOD=1 <test binary>" into the remote login shell.
const floodEnv = "KRX_E2E_FLOOD"

// recLen is the size of one record; records are written in chunks of
// chunkRecs, so every marker sits on a record boundary.
const (
	// markerRepeat is when the generator writes an INT marker again
	// (see the loop).
	markerRepeat = 100 * time.Millisecond
	recLen       = 64
	chunkRecs    = 64
)

// Record layout: "R" + 10-digit sequence number + " " (the header), 40
// payload bytes, " " + the sequence number again + "\n" (the trailer), so
// a record cut at either end can still be located.
const (
	headLen    = 12
	trailLen   = 12
	payloadLen = recLen - headLen - trailLen
)

// payloadAlphabet is what payload bytes are drawn from: printable ASCII
// except '#' (markers) plus 0xFF, 0x02 and 'C', so records carry the bytes
// of a krx control command (FF 'C' 02) as data, which the server must
// escape and the client must not act on.
var payloadAlphabet = func() []byte {
	var a []byte
	for c := byte(' '); c < 0x7f; c++ {
		if c != '#' {
			a = append(a, c)
		}
	}
	return append(a, 0xFF, 0xFF, 0x02, 'C')
}()

// record appends record seq to b.
func record(b []byte, seq int64) []byte {
	b = append(b, fmt.Sprintf("R%010d ", seq)...)
	x := uint64(seq)*0x9E3779B97F4A7C15 + 1
	for i := range payloadLen {
		if seq%7 == 3 && i == 17 { // a control command's shape, as data
			b = append(b, 0xFF, 'C', 0x02)
		}
		if seq%7 == 3 && i >= 17 && i < 20 {
			continue
		}
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b = append(b, payloadAlphabet[x%uint64(len(payloadAlphabet))])
	}
	return append(b, fmt.Sprintf(" %010d\n", seq)...)
}

// Markers the generator writes between chunks, each a line "#...#\n".
const (
	markStart = "#START#\n"
	markInt   = "#INT %d#\n"          // after the n-th SIGINT
	markWin   = "#WIN %d %d %d %d#\n" // rows cols xpixel ypixel after SIGWINCH
	markEnd   = "#END %d %d#\n"       // records written, SIGINTs seen
)

// TestMain runs the flood generator when floodEnv is set.
func TestMain(m *testing.M) {
	if os.Getenv(floodEnv) == "1" {
		os.Exit(flood())
	}
	code := m.Run()
	theWorld.close()
	os.Exit(code)
}

// flood is the generator run in the remote session on the remote pty:
// echo and output processing off (records pass unchanged, ^C is not
// echoed), ISIG on (^C flushes the pty's output and sends SIGINT, which
// only makes it write a marker). It writes records until it reads the
// line "q", then "#END…#" and restores the terminal.
func flood() int {
	old, err := unix.IoctlGetTermios(0, unix.TCGETS)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flood: stdin is not a terminal:", err)
		return 2
	}
	t := *old
	t.Lflag &^= unix.ECHO | unix.ECHOCTL | unix.ECHOE | unix.ECHOK | unix.ECHONL
	t.Lflag |= unix.ISIG | unix.ICANON
	t.Oflag &^= unix.OPOST
	if err := unix.IoctlSetTermios(0, unix.TCSETSW, &t); err != nil {
		fmt.Fprintln(os.Stderr, "flood: TCSETS:", err)
		return 2
	}
	defer unix.IoctlSetTermios(0, unix.TCSETSW, old)
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGWINCH)
	quit := make(chan struct{})
	go func() {
		// fd 0 shares its open file description (and so O_NONBLOCK, set
		// on fd 1 below) with fd 1: read it with poll, not os.Stdin.
		sc := bufio.NewScanner(pollReader{})
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "q" {
				close(quit)
				return
			}
		}
	}()
	// Writes poll with a timeout instead of Go's edge-triggered poller: a
	// pty flush (^C) frees the master's buffer without waking a writer
	// (Linux pty_flush_buffer), and the SIGINT that would restart a
	// blocked write(2) may land on another thread.
	if err := unix.SetNonblock(1, true); err != nil {
		return 2
	}
	defer unix.SetNonblock(1, false) // the shell shares the file description
	out := pollWriter{}
	if _, err := out.WriteString(markStart); err != nil {
		return 1
	}
	var seq int64
	ints := 0
	var repeatAt time.Time // when to write the last INT marker again
	buf := make([]byte, 0, recLen*chunkRecs)
	for {
		select {
		case s := <-sigs:
			var m string
			if s == syscall.SIGINT {
				// The SIGINT can come before the kernel has flushed
				// the pty for the same ^C (seen on Linux 6.18, more
				// often under load: a marker written at once was
				// flushed with the data around it), so the marker is
				// written again after markerRepeat unless another
				// SIGINT comes first; the checker accepts the repeat.
				repeatAt = time.Now().Add(markerRepeat)
				ints++
				m = fmt.Sprintf(markInt, ints)
				if f := os.Getenv(genLogEnv); f != "" {
					if lf, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
						fmt.Fprintf(lf, "%s INT %d before seq %d\n", time.Now().Format("15:04:05.000000"), ints, seq)
						lf.Close()
					}
				}
			} else {
				ws, err := unix.IoctlGetWinsize(1, unix.TIOCGWINSZ)
				if err != nil {
					m = "#WIN error " + strconv.Quote(err.Error()) + "#\n"
				} else {
					m = fmt.Sprintf(markWin, ws.Row, ws.Col, ws.Xpixel, ws.Ypixel)
				}
			}
			if _, err := out.WriteString(m); err != nil {
				return 1
			}
			continue
		case <-quit:
			out.WriteString(fmt.Sprintf(markEnd, seq, ints))
			return 0
		default:
		}
		if !repeatAt.IsZero() && time.Now().After(repeatAt) {
			repeatAt = time.Time{}
			if _, err := out.WriteString(fmt.Sprintf(markInt, ints)); err != nil {
				return 1
			}
		}
		buf = buf[:0]
		for range chunkRecs {
			buf = record(buf, seq)
			seq++
		}
		if _, err := out.Write(buf); err != nil {
			return 1
		}
	}
}

// pollWriter writes to fd 1 (non-blocking), polling for room with a
// timeout.
type pollWriter struct{}

func (pollWriter) WriteString(s string) (int, error) { return pollWriter{}.Write([]byte(s)) }

func (pollWriter) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := unix.Write(1, b[n:])
		if k > 0 {
			n += k
		}
		switch err {
		case nil, unix.EINTR:
		case unix.EAGAIN:
			unix.Poll([]unix.PollFd{{Fd: 1, Events: unix.POLLOUT}}, 10)
		default:
			return n, err
		}
	}
	return n, nil
}

// pollReader reads fd 0, polling while it has nothing (it may be
// non-blocking: see pollWriter).
type pollReader struct{}

func (pollReader) Read(b []byte) (int, error) {
	for {
		n, err := unix.Read(0, b)
		switch {
		case n > 0:
			return n, nil
		case err == unix.EAGAIN || err == unix.EINTR:
			unix.Poll([]unix.PollFd{{Fd: 0, Events: unix.POLLIN}}, 100)
		case err != nil:
			return 0, err
		default:
			return 0, io.EOF
		}
	}
}
