package oob

import (
	"net"
	"syscall"
)

// rawControl runs f on c's file descriptor while the connection holds it
// open, and returns f's error (or the error of getting the descriptor).
func rawControl(c *net.TCPConn, f func(fd int) error) error {
	if c == nil {
		return &OpError{Op: "socket", Err: syscall.EINVAL}
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return &OpError{Op: "socket", Err: err}
	}
	return controlRaw(rc, f)
}

// controlRaw is rawControl for a syscall.RawConn.
func controlRaw(rc syscall.RawConn, f func(fd int) error) error {
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return &OpError{Op: "socket", Err: err}
	}
	return ferr
}
