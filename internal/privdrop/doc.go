// Package privdrop turns a root process into a given user, for good.
//
// Drop is the one ordered privilege-drop function of krx (after the
// shape of Tailscale's tailssh incubator): supplementary groups first
// (setgroups needs root), then the primary group (setgid needs root),
// then the user (setuid gives root up), and finally a verification that
// the drop really happened and cannot be undone:
//
//   - getresuid and getresgid report the target in all three slots
//     (real, effective, saved), so no saved id can be switched back to;
//   - getgroups equals the target's group list;
//   - setuid(0), setgid(0) and setgroups all fail;
//   - the effective and permitted capability sets are empty.
//
// It fails closed: any error is returned and the caller must exit
// without running anything for the user; a partly dropped process is
// never "good enough".
//
// Go applies syscall.Setgroups, syscall.Setgid and syscall.Setuid to
// every OS thread of the process (since Go 1.16 through
// syscall.AllThreadsSyscall, or through the C library's own all-threads
// mechanism when cgo is linked in), so a drop done from any goroutine
// covers the whole process. Per-thread raw system calls
// (golang.org/x/sys/unix.Setgroups, Setfsuid) do not, and are not used
// here.
//
// Lookup resolves a user name with os/user (NSS through cgo when
// available, /etc/passwd and /etc/group otherwise), including the
// supplementary groups initgroups(3) would give.
package privdrop
