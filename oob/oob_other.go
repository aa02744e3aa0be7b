//go:build !linux

package oob

import (
	"net"
	"time"
)

// Everything socket-related needs Linux: SO_OOBINLINE semantics, SIOCATMARK,
// F_SETOWN_EX, signalfd and epoll as this package uses them were only
// checked there.

func setInlineFD(int) error                                  { return ErrUnsupported }
func setNotSentLowatFD(int, int) error                       { return ErrUnsupported }
func smoothedRTTFD(int) (time.Duration, error)               { return 0, ErrUnsupported }
func atMarkFD(int) (bool, error)                             { return false, ErrUnsupported }
func sendUrgent(*net.TCPConn, byte) error                    { return ErrUnsupported }
func readMark(*net.TCPConn, []byte, bool) (int, bool, error) { return 0, false, ErrUnsupported }

type watcher struct{ events chan Event }

func startWatcher(*net.TCPConn, func(Event)) (*watcher, error) { return nil, ErrUnsupported }
func (w *watcher) sync() (uint64, error)                       { return 0, ErrUnsupported }
func (w *watcher) stats() WatchStats                           { return WatchStats{} }
func (w *watcher) close() error                                { return ErrUnsupported }
func (w *watcher) consumed()                                   {}
