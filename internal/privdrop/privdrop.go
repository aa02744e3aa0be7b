package privdrop

import (
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrRootTarget is returned by Drop for a target with uid 0: there is
// nothing to drop, and "verified unable to regain root" cannot hold.
// A caller that really means to run as root must not call Drop.
var ErrRootTarget = errors.New("privdrop: refusing to drop to uid 0")

// ErrBadTarget is returned for a nil target or one with negative ids.
var ErrBadTarget = errors.New("privdrop: invalid target user")

// Target is the identity a process drops to.
type Target struct {
	Name   string // login name, for messages
	UID    int    // numeric user id
	GID    int    // primary group id
	Groups []int  // supplementary groups, sorted, without duplicates; includes GID
	Home   string // home directory from the passwd entry
}

// Error is the error type of a failed step; it names the step and wraps
// the system error, so callers can use errors.As / errors.Is.
type Error struct {
	Step string // "lookup", "setgroups", "setgid", "setuid" or "verify"
	User string // target name (may be empty)
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("privdrop: %s for user %q: %v", e.Step, e.User, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Lookup resolves a user name to a Target with the groups initgroups(3)
// would give it (the primary group plus every group listing the user).
func Lookup(name string) (*Target, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, &Error{Step: "lookup", User: name, Err: err}
	}
	return fromUser(u)
}

// LookupID resolves a numeric user id to a Target, like Lookup.
func LookupID(uid int) (*Target, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return nil, &Error{Step: "lookup", User: strconv.Itoa(uid), Err: err}
	}
	return fromUser(u)
}

func fromUser(u *user.User) (*Target, error) {
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, &Error{Step: "lookup", User: u.Username, Err: fmt.Errorf("uid %q: %w", u.Uid, err)}
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, &Error{Step: "lookup", User: u.Username, Err: fmt.Errorf("gid %q: %w", u.Gid, err)}
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, &Error{Step: "lookup", User: u.Username, Err: fmt.Errorf("groups: %w", err)}
	}
	groups := []int{gid}
	for _, s := range ids {
		g, err := strconv.Atoi(s)
		if err != nil {
			return nil, &Error{Step: "lookup", User: u.Username, Err: fmt.Errorf("group id %q: %w", s, err)}
		}
		groups = append(groups, g)
	}
	return &Target{Name: u.Username, UID: uid, GID: gid, Groups: normGroups(groups), Home: u.HomeDir}, nil
}

// normGroups returns a sorted copy without duplicates.
func normGroups(g []int) []int {
	out := slices.Clone(g)
	slices.Sort(out)
	return slices.Compact(out)
}

// Credential returns the target as a syscall.Credential for
// exec.Cmd.SysProcAttr, so a child is started directly as the user (Go's
// fork path does setgroups, setgid, setuid in that order).
func (t *Target) Credential() *syscall.Credential {
	gs := make([]uint32, len(t.Groups))
	for i, g := range t.Groups {
		gs[i] = uint32(g)
	}
	return &syscall.Credential{Uid: uint32(t.UID), Gid: uint32(t.GID), Groups: gs}
}

func (t *Target) check() error {
	if t == nil || t.UID < 0 || t.GID < 0 {
		return ErrBadTarget
	}
	for _, g := range t.Groups {
		if g < 0 {
			return ErrBadTarget
		}
	}
	if t.UID == 0 {
		return ErrRootTarget
	}
	return nil
}

// Drop makes the whole process the target user, in this order:
// setgroups(t.Groups), setgid(t.GID), setuid(t.UID), then Verify. The
// order matters: once setuid has run, setgroups and setgid are no longer
// permitted. Any failure is returned as *Error (or ErrRootTarget /
// ErrBadTarget); the caller must then exit, since the process may be
// partly dropped.
func Drop(t *Target) error {
	if err := t.check(); err != nil {
		return err
	}
	groups := normGroups(t.Groups)
	if err := syscall.Setgroups(groups); err != nil {
		return &Error{Step: "setgroups", User: t.Name, Err: err}
	}
	if err := syscall.Setgid(t.GID); err != nil {
		return &Error{Step: "setgid", User: t.Name, Err: err}
	}
	if err := syscall.Setuid(t.UID); err != nil {
		return &Error{Step: "setuid", User: t.Name, Err: err}
	}
	return Verify(t)
}

// Verify checks that the process is now exactly the target and cannot
// become anything else: all three uids and gids equal the target,
// getgroups equals the target's list, setuid(0), setgid(0) and
// setgroups fail, and no capability is effective or permitted.
func Verify(t *Target) error {
	if err := t.check(); err != nil {
		return err
	}
	fail := func(format string, a ...any) error {
		return &Error{Step: "verify", User: t.Name, Err: fmt.Errorf(format, a...)}
	}
	if r, e, s := unix.Getresuid(); r != t.UID || e != t.UID || s != t.UID {
		return fail("uids are %d/%d/%d, want %d", r, e, s, t.UID)
	}
	if r, e, s := unix.Getresgid(); r != t.GID || e != t.GID || s != t.GID {
		return fail("gids are %d/%d/%d, want %d", r, e, s, t.GID)
	}
	have, err := syscall.Getgroups()
	if err != nil {
		return fail("getgroups: %v", err)
	}
	if want := normGroups(t.Groups); !slices.Equal(normGroups(have), want) {
		return fail("groups are %v, want %v", normGroups(have), want)
	}
	// The "can it come back" probes. Each would be harmless if it failed
	// as it must; if one succeeds the process is compromised and the
	// caller exits on our error.
	if err := syscall.Setuid(0); err == nil {
		return fail("setuid(0) succeeded")
	}
	if t.GID != 0 {
		if err := syscall.Setgid(0); err == nil {
			return fail("setgid(0) succeeded")
		}
	}
	if err := syscall.Setgroups(normGroups(t.Groups)); err == nil {
		return fail("setgroups succeeded (CAP_SETGID still held)")
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fail("capget: %v", err)
	}
	for _, d := range data {
		if d.Effective != 0 || d.Permitted != 0 {
			return fail("capabilities still held (effective %#x, permitted %#x)", d.Effective, d.Permitted)
		}
	}
	return nil
}
