package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/privdrop"
	"github.com/krx-suite/krx/internal/rhosts"
)

// Defaults of Config.
const (
	// DefaultHandshakeTimeout: netkit rlogind and rshd alarm(60) while
	// reading the handshake (PROTOCOL.md §1.1).
	DefaultHandshakeTimeout = 60 * time.Second
	// DefaultHangupGrace is how long a hung-up session may take to exit
	// before its process group is killed.
	DefaultHangupGrace = 5 * time.Second
	// DefaultShell is used when the password entry names no shell
	// (login(1), netkit rshd: _PATH_BSHELL).
	DefaultShell = "/bin/sh"
	// UserPath and RootPath are the PATH given to sessions (Debian
	// login.defs ENV_PATH / ENV_SUPATH).
	UserPath = "/usr/local/bin:/usr/bin:/bin"
	RootPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// Peer-visible refusal texts (netkit rlogind.c fatal(), rshd.c error()).
const (
	MsgPermissionDenied = "Permission denied"
	MsgRhostsDisabled   = ".rhosts authentication disabled (start with --rhosts)"
)

// ErrRefused is wrapped by every *Refusal.
var ErrRefused = errors.New("server: connection refused")

// Refusal is a decision not to serve a connection: Peer is the short text
// the client is sent, Reason the detail for the log.
type Refusal struct {
	Peer   string
	Reason string
}

// Error returns the reason.
func (r *Refusal) Error() string { return "server: refused: " + r.Reason }

// Unwrap returns ErrRefused.
func (r *Refusal) Unwrap() error { return ErrRefused }

// Refuse builds a *Refusal.
func Refuse(peer, format string, args ...any) *Refusal {
	return &Refusal{Peer: peer, Reason: fmt.Sprintf(format, args...)}
}

// WriteRefusal sends the status byte 0x01 and "rlogind: <msg>" (with
// "\r\n" for the login service, whose client may have its terminal raw,
// as netkit rlogind's fatal(); "\n" otherwise, as rshd's error()).
func WriteRefusal(w io.Writer, svc Service, msg string) error {
	text := "rlogind: " + msg
	if svc == Login {
		text += ".\r"
	}
	return compat.WriteStatus(w, compat.Status{Code: compat.StatusRefused, Message: text})
}

// Account is the local user a session runs as.
type Account struct {
	*privdrop.Target
	Shell string // login shell from the password database, DefaultShell if empty
}

// Env returns the environment every session gets (netkit rshd: HOME,
// SHELL, PATH, USER; plus LOGNAME as login(1) sets it), followed by extra
// "K=V" entries.
func (a *Account) Env(extra ...string) []string {
	path := UserPath
	if a.UID == 0 {
		path = RootPath
	}
	env := []string{"HOME=" + a.Home, "SHELL=" + a.Shell, "PATH=" + path, "USER=" + a.Name, "LOGNAME=" + a.Name}
	return append(env, extra...)
}

// Dir returns the session's working directory: home, or "/" when home is
// not a directory (netkit rshd chdir("/") fall-back).
func (a *Account) Dir() string {
	if st, err := os.Stat(a.Home); err == nil && st.IsDir() {
		return a.Home
	}
	return "/"
}

// LookupAccount resolves name with privdrop.Lookup and adds its login
// shell, read from /etc/passwd (privdrop.Target carries none; a user known
// only through other NSS sources gets DefaultShell).
func LookupAccount(name string) (*Account, error) {
	t, err := privdrop.Lookup(name)
	if err != nil {
		return nil, err
	}
	return &Account{Target: t, Shell: passwdShell("/etc/passwd", name)}, nil
}

// passwdShell returns field 7 of name's line in the passwd file at path.
func passwdShell(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return DefaultShell
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), ":")
		if len(fs) >= 7 && fs[0] == name {
			if fs[6] == "" {
				return DefaultShell
			}
			return fs[6]
		}
	}
	return DefaultShell
}

// Config is what both plain services share.
type Config struct {
	// Rhosts allows .rhosts/hosts.equiv authorisation. Off, every plain
	// connection is refused with MsgRhostsDisabled.
	Rhosts bool
	// Checker holds the rhosts policy (hosts.equiv path…); nil: the zero
	// Checker (glibc's defaults).
	Checker *rhosts.Checker
	// NoReservedPortCheck accepts client (and rsh stderr) ports outside
	// 512–1023.
	NoReservedPortCheck bool
	// HandshakeTimeout bounds reading the handshake; 0: DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// HangupGrace is how long a hung-up session may take to exit before
	// SIGKILL; 0: DefaultHangupGrace.
	HangupGrace time.Duration
	// Lookup resolves the server user; nil: LookupAccount.
	Lookup func(name string) (*Account, error)
	// Log receives one line per connection and errors; nil: slog.Default().
	Log *slog.Logger
}

// Logger returns c.Log or slog.Default().
func (c *Config) Logger() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

// Timeout returns the handshake timeout.
func (c *Config) Timeout() time.Duration {
	if c.HandshakeTimeout > 0 {
		return c.HandshakeTimeout
	}
	return DefaultHandshakeTimeout
}

// Grace returns the hang-up grace period.
func (c *Config) Grace() time.Duration {
	if c.HangupGrace > 0 {
		return c.HangupGrace
	}
	return DefaultHangupGrace
}

// CheckPort refuses a client whose source port is not reserved, unless
// the check is off (netkit rlogind/network.c, rshd.c; glibc rresvport).
func (c *Config) CheckPort(peer net.Addr) *Refusal {
	if c.NoReservedPortCheck {
		return nil
	}
	ta, ok := peer.(*net.TCPAddr)
	if !ok || !compat.IsReservedPort(ta.Port) {
		return Refuse(MsgPermissionDenied, "source port of %v is not reserved (512-1023)", peer)
	}
	return nil
}

// Authorize decides whether clientUser at peer may use serverUser's
// account, returning the account and the reason for the log.
func (c *Config) Authorize(ctx context.Context, peer netip.Addr, clientUser, serverUser string) (*Account, string, *Refusal) {
	if !c.Rhosts {
		return nil, "", Refuse(MsgRhostsDisabled, ".rhosts authentication disabled (no --rhosts)")
	}
	lookup := c.Lookup
	if lookup == nil {
		lookup = LookupAccount
	}
	acct, err := lookup(serverUser)
	if err != nil {
		// The peer must not learn which accounts exist.
		return nil, "", Refuse(MsgPermissionDenied, "unknown server user %q: %v", serverUser, err)
	}
	ck := c.Checker
	if ck == nil {
		ck = &rhosts.Checker{}
	}
	d := ck.Check(ctx, rhosts.Request{
		ClientUser: clientUser,
		Server:     rhosts.User{Name: acct.Name, UID: acct.UID, GID: acct.GID, Home: acct.Home},
		Peer:       peer,
	})
	if !d.Allowed {
		return nil, "", Refuse(MsgPermissionDenied, "rhosts: %s", d.Reason)
	}
	return acct, "rhosts: " + d.Reason, nil
}

// PeerAddr returns the IP of a TCP address, IPv4-mapped addresses unmapped.
func PeerAddr(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}
