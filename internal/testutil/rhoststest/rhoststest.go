// Package rhoststest lets krx's root-only interop tests authorise root by
// /root/.rhosts (netkit's in.rshd/in.rlogind and krx's rlogind read it)
// without trampling each other: go test runs packages as separate
// processes in parallel, so every change to the file is made under an
// exclusive flock shared by all of them, and each test adds lines tagged
// with its own unique third field (ruserok and internal/rhosts ignore
// fields after the user) and removes exactly those.
package rhoststest

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Path is the file the tests edit: root's .rhosts.
const Path = "/root/.rhosts"

// lockPath is the lock every krx test process takes around an edit.
const lockPath = "/tmp/krx-test-rhosts.lock"

var seq atomic.Uint64

// AuthorizeRoot lets root@localhost and root@127.0.0.1 into root's account
// for the rest of tb: Authorize(tb, "root").
func AuthorizeRoot(tb testing.TB) {
	tb.Helper()
	Authorize(tb, "root")
}

// Authorize adds "localhost <clientUser> <tag>" and "127.0.0.1 <clientUser>
// <tag>" to /root/.rhosts and removes them when tb ends (the file too if
// nothing else is left in it).
func Authorize(tb testing.TB, clientUser string) {
	tb.Helper()
	tag := fmt.Sprintf("krx-test-%d-%d-%d", os.Getpid(), time.Now().UnixNano(), seq.Add(1))
	mine := []string{"localhost " + clientUser + " " + tag, "127.0.0.1 " + clientUser + " " + tag}
	if err := edit(func(lines []string) []string { return append(lines, mine...) }); err != nil {
		tb.Fatalf("rhoststest: %v", err)
	}
	tb.Cleanup(func() {
		err := edit(func(lines []string) []string {
			keep := lines[:0]
			for _, l := range lines {
				if l != mine[0] && l != mine[1] {
					keep = append(keep, l)
				}
			}
			return keep
		})
		if err != nil {
			tb.Errorf("rhoststest: %v", err)
		}
	})
}

// edit rewrites the file's lines under the cross-process lock; an empty
// result removes the file.
func edit(f func([]string) []string) error {
	lk, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lk.Close()
	if err := syscall.Flock(int(lk.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	old, err := os.ReadFile(Path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var lines []string
	if s := strings.TrimSuffix(string(old), "\n"); s != "" {
		lines = strings.Split(s, "\n")
	}
	lines = f(lines)
	if len(lines) == 0 {
		if err := os.Remove(Path); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	// Readers (in.rshd, pam_rhosts, rlogind) take no lock: replace the file
	// by rename so they see the old or the new content, never a truncated one.
	tmp := fmt.Sprintf("%s.krx-tmp-%d", Path, os.Getpid())
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, Path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
