package tty

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// Winsize is a terminal window size (struct winsize): the fields of the
// rlogin window message in the same order (RFC 1282).
type Winsize struct {
	Rows   uint16
	Cols   uint16
	XPixel uint16
	YPixel uint16
}

// GetSize returns the window size of terminal fd (TIOCGWINSZ).
func GetSize(fd int) (Winsize, error) {
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return Winsize{}, &Error{Op: "TIOCGWINSZ", Fd: fd, Err: err}
	}
	return Winsize{Rows: ws.Row, Cols: ws.Col, XPixel: ws.Xpixel, YPixel: ws.Ypixel}, nil
}

// Size returns the terminal's window size.
func (t *Terminal) Size() (Winsize, error) { return GetSize(t.fd) }

// WatchSize delivers the terminal's window size after every SIGWINCH
// that changed it. The channel holds at most one size: a newer size
// replaces one not yet received, so the reader always gets the latest.
// The first size sent is the first that differs from the size at the
// time of the call. The channel is closed when ctx is done.
func (t *Terminal) WatchSize(ctx context.Context) <-chan Winsize {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	out := make(chan Winsize, 1)
	last, _ := t.Size()
	go func() {
		defer close(out)
		defer signal.Stop(sig)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
			}
			ws, err := t.Size()
			if err != nil || ws == last {
				continue
			}
			last = ws
			select {
			case out <- ws:
			default:
				// Replace the stale size. Only this goroutine sends, so
				// after the drain there is room.
				select {
				case <-out:
				default:
				}
				out <- ws
			}
		}
	}()
	return out
}
