package server

import (
	"os"
	"os/signal"
	"syscall"
)

// inheritedIgnores are the signals a Go program keeps ignored when it was
// started with them ignored (os/signal: "If the Go program is started
// with either SIGHUP or SIGINT ignored … they will remain ignored"). Every
// other signal gets the runtime's handler, which execve resets to the
// default; an ignored one stays ignored across fork and exec.
var inheritedIgnores = []os.Signal{syscall.SIGHUP, syscall.SIGINT}

// ignoredSink receives the signals DefaultChildSignals un-ignores and is
// never read: for this process they stay as good as ignored.
var ignoredSink = make(chan os.Signal, 1)

// DefaultChildSignals makes sure the programs a daemon starts get SIGHUP
// and SIGINT at their defaults, even when the daemon was started with them
// ignored (under nohup, or by a test runner that was): a session's shell
// that ignores SIGHUP outlives its hang-up, and one that ignores SIGINT
// cannot be interrupted. It catches such signals into a channel nobody
// reads, so this process goes on ignoring them while execve resets them to
// the default in every child. Call it before starting a child; it is cheap
// and safe to call again (a later signal.Ignore is undone the same way).
func DefaultChildSignals() {
	for _, s := range inheritedIgnores {
		if signal.Ignored(s) {
			signal.Notify(ignoredSink, s)
		}
	}
}
