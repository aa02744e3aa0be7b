package server

import (
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// childIgnored returns the SigIgn mask of a program started now.
func childIgnored(t *testing.T) uint64 {
	t.Helper()
	out, err := exec.Command("cat", "/proc/self/status").Output()
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatalf("no SigIgn line in %q", out)
	return 0
}

// TestDefaultChildSignals: with SIGHUP and SIGINT ignored in the daemon, a
// child inherits them ignored (a shell that would outlive its hang-up);
// after DefaultChildSignals the child gets them at their defaults.
func TestDefaultChildSignals(t *testing.T) {
	const hupInt = 1<<(syscall.SIGHUP-1) | 1<<(syscall.SIGINT-1)
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT)
	t.Cleanup(func() { signal.Reset(syscall.SIGHUP, syscall.SIGINT) })
	if m := childIgnored(t); m&hupInt != hupInt {
		t.Fatalf("SigIgn %#x: ignoring in the parent did not reach the child, the check below proves nothing", m)
	}
	DefaultChildSignals()
	if m := childIgnored(t); m&hupInt != 0 {
		t.Fatalf("SigIgn %#x after DefaultChildSignals: the child still ignores SIGHUP or SIGINT", m)
	}
}
