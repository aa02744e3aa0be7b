package rhosts

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
)

// DefaultHostsEquiv is glibc's _PATH_HEQUIV.
const DefaultHostsEquiv = "/etc/hosts.equiv"

// DefaultMaxFileSize is the largest hosts.equiv/.rhosts read by default.
const DefaultMaxFileSize = 1 << 20

// LookupFunc resolves a host name to its addresses.
type LookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// User is the local account a client asks to log in to.
type User struct {
	Name string
	UID  int
	GID  int
	Home string // where ~/.rhosts is looked for
}

// Request is one login attempt.
type Request struct {
	ClientUser string     // user name on the client host (first handshake string)
	Server     User       // the account asked for (second handshake string)
	Peer       netip.Addr // the client's address
}

// Checker holds the policy. The zero value follows glibc: hosts.equiv at
// DefaultHostsEquiv, then ~/.rhosts, names resolved by net.DefaultResolver.
type Checker struct {
	HostsEquiv   string     // path of hosts.equiv; "" means DefaultHostsEquiv
	NoHostsEquiv bool       // do not read hosts.equiv at all
	NoRhosts     bool       // do not read ~/.rhosts (netkit rlogind -l), for root too
	Lookup       LookupFunc // nil: net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	MaxFileSize  int64      // 0: DefaultMaxFileSize
}

// Decision is the outcome of Check. Reason is for the server's log only.
type Decision struct {
	Allowed bool
	File    string // the file whose line allowed, or the last that denied; "" if none
	Line    int    // 1-based number of that line, 0 if none
	Reason  string
}

func (d Decision) String() string {
	verdict := "denied"
	if d.Allowed {
		verdict = "allowed"
	}
	return "rhosts: " + verdict + ": " + d.Reason
}

func (c *Checker) lookup() LookupFunc {
	if c.Lookup != nil {
		return c.Lookup
	}
	return func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
}

func (c *Checker) maxSize() int64 {
	if c.MaxFileSize > 0 {
		return c.MaxFileSize
	}
	return DefaultMaxFileSize
}

// Check decides req. It never returns an error: anything that goes wrong
// (unreadable or unsafe file, resolver failure, cancelled ctx) means no
// permission from that file, and is said in the reason.
func (c *Checker) Check(ctx context.Context, req Request) Decision {
	who := fmt.Sprintf("%s@%s as %s", req.ClientUser, req.Peer, req.Server.Name)
	if !req.Peer.IsValid() {
		return Decision{Reason: who + ": no peer address"}
	}
	if req.ClientUser == "" || req.Server.Name == "" {
		return Decision{Reason: who + ": empty user name"}
	}
	peer := req.Peer.WithZone("").Unmap()
	r := &resolver{lookup: c.lookup()}
	var notes []string
	var denyFile string
	var denyLine int

	try := func(path string, data []byte) (Decision, bool) {
		v, n, text := scan(ctx, r, data, peer, req.ClientUser, req.Server.Name)
		switch v {
		case allow:
			return Decision{Allowed: true, File: path, Line: n,
				Reason: fmt.Sprintf("%s: %s:%d %q", who, path, n, text)}, true
		case deny:
			denyFile, denyLine = path, n
			notes = append(notes, fmt.Sprintf("%s:%d %q denies", path, n, text))
		}
		return Decision{}, false
	}

	superuser := req.Server.UID == 0
	switch {
	case c.NoHostsEquiv:
	case superuser:
		notes = append(notes, "hosts.equiv not used for uid 0")
	default:
		path := c.HostsEquiv
		if path == "" {
			path = DefaultHostsEquiv
		}
		data, err := readChecked(path, 0, -1, -1, c.maxSize())
		switch {
		case err == errNoFile:
		case err != nil:
			notes = append(notes, err.Error())
		default:
			if d, ok := try(path, data); ok {
				return d
			}
		}
	}

	if !c.NoRhosts {
		if req.Server.Home == "" || !filepath.IsAbs(req.Server.Home) {
			notes = append(notes, fmt.Sprintf("no usable home directory %q", req.Server.Home))
		} else {
			path := filepath.Join(req.Server.Home, ".rhosts")
			data, err := readChecked(path, req.Server.UID, req.Server.UID, req.Server.GID, c.maxSize())
			switch {
			case err == errNoFile:
			case err != nil:
				notes = append(notes, err.Error())
			default:
				if d, ok := try(path, data); ok {
					return d
				}
			}
		}
	}
	reason := who + ": no matching entry"
	if len(notes) > 0 {
		reason += " (" + strings.Join(notes, "; ") + ")"
	}
	return Decision{File: denyFile, Line: denyLine, Reason: reason}
}
