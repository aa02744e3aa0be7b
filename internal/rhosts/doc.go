// Package rhosts decides plain (non-Kerberos) r-command logins from
// /etc/hosts.equiv and ~/.rhosts, with glibc's rules (ruserok(3):
// inet/rcmd.c ruserok2_sa, iruserfopen, __validuser2_sa, __checkhost_sa,
// __icheckuser; PROTOCOL.md §1.1 "Authorization (plain)").
//
// Order: hosts.equiv first, but never for a server user with uid 0; then
// the server user's ~/.rhosts. The first file that allows wins; a
// negative entry only ends the scan of its own file.
//
// Files. Each is opened without following symbolic links (O_NOFOLLOW)
// and checked on the opened descriptor: a regular file (glibc: lstat,
// "not regular file" — so a symlink is refused), owned by root or, for
// ~/.rhosts, by the user ("bad owner"), not writable by group or others,
// not hard-linked elsewhere (st_nlink 1). ~/.rhosts is opened and read
// as the user, as glibc does with seteuid, but only on one locked OS
// thread whose file-system uid/gid and groups are switched (setfsuid,
// setfsgid, setgroups are per-thread system calls on Linux). The thread
// is given back to the Go scheduler only after its identity has been
// restored and verified; otherwise it stays locked and the runtime
// retires it. The rest of the daemon never runs with the user's
// identity, and the user cannot make root read a file the user
// could not read. A file larger than Checker.MaxFileSize is refused.
//
// Lines (__validuser2_sa): blank lines and lines whose first non-blank
// character is '#' are skipped. The host is the text up to the first
// white space, lower-cased; if a space or tab follows, the user is the
// next word, otherwise (or if no word follows) the user is the server
// user's own name. Anything after the user is ignored; a NUL byte ends
// the line. A line that starts with blank space but is not blank has an
// empty host, and glibc stops reading that file there: so does rhosts.
//
// Matching, per line, in glibc's order (the user part is looked at
// first, so host names are only resolved when the user part matters):
//
//	user "+"        any client user          host "+"     any host
//	user "-name"    this user: deny          host "-h"    host h: deny
//	user "name"     exactly this user        host "h"     IP literal equal to the
//	                (case-sensitive)                      peer, or a name that
//	                                                      resolves to the peer
//
// A line allows when both parts match positively; it denies (and ends
// the file) when the host matches negatively, or the host matches and
// the user negatively. The peer address is compared with IPv4-mapped
// IPv6 addresses unmapped (a dual-stack listener's view of an IPv4 peer).
// Name resolution uses Checker.Lookup, net.DefaultResolver by default.
//
// Netgroups ("+@group", "-@group") need an NIS/NSS netgroup database,
// which krx does not consult. rhosts fails closed: a "+@group" entry
// never matches, a "-@group" entry always matches (so a "-@group" host
// denies every peer that reaches that line). The decision's reason names
// the line.
//
// The decision carries a reason for the server's log; the client is only
// ever told "permission denied".
//
// Differences from glibc, all stricter: the symlink and owner checks are
// done on the opened descriptor (no lstat/open race); Checker.NoRhosts
// also applies to root (glibc's __check_rhosts_file does not cover
// root); "-@netgroup" is a deny as described above.
package rhosts
