package krbauth

// Authorisation: may the authenticated principal log in as the local user?
// The rules are MIT's krb5_kuserok (MIT src/lib/krb5/os/localauth_k5login.c
// plus the default auth_to_local rule), hardened where MIT trusts too much:
// see Authorize.

import (
	"errors"
	"fmt"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNotAuthorized is the sentinel every authorisation refusal wraps
// (errors.Is(err, ErrNotAuthorized)); the details are in an *AuthzError.
var ErrNotAuthorized = errors.New("krbauth: permission denied")

// ErrK5loginPrincipal reports a principal name that cannot be parsed
// (MIT krb5_parse_name rules).
var ErrK5loginPrincipal = errors.New("krbauth: malformed principal name")

// PublicDenial is the only text a refused peer is shown, whatever the
// reason (MIT kshd and Heimdal rshd send the same words).
const PublicDenial = "Permission denied."

// DefaultK5loginMaxSize is how many bytes of a .k5login are read at most
// when AuthzConfig.MaxK5loginSize is 0; a longer file is refused.
const DefaultK5loginMaxSize = 1 << 20

// AuthzConfig holds the krb5.conf settings authorisation depends on.
type AuthzConfig struct {
	// DefaultRealm is krb5.conf's default_realm: a one-component principal
	// of this realm maps to the local user of the same name. Empty: no
	// principal maps to a local user by name.
	DefaultRealm string
	// K5loginDirectory is krb5.conf's k5login_directory: if set, the file
	// read is <K5loginDirectory>/<user> instead of ~user/.k5login.
	K5loginDirectory string
	// K5loginNotAuthoritative is krb5.conf's "k5login_authoritative = false":
	// a .k5login that does not let the principal in does not deny by itself;
	// the name mapping still may allow.
	K5loginNotAuthoritative bool
	// MaxK5loginSize caps the size of a .k5login (0: DefaultK5loginMaxSize).
	MaxK5loginSize int64
}

// LocalUser is the account a client asks to log in to.
type LocalUser struct {
	Name   string // login name
	UID    int    // numeric user id
	GID    int    // primary group id
	Groups []int  // supplementary group ids (used to read .k5login as the user)
	Home   string // home directory
}

// LookupLocalUser finds a local account by name (via os/user).
func LookupLocalUser(name string) (LocalUser, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return LocalUser{}, fmt.Errorf("krbauth: local user %q: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return LocalUser{}, fmt.Errorf("krbauth: local user %q has non-numeric ids %q/%q", name, u.Uid, u.Gid)
	}
	lu := LocalUser{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil {
				lu.Groups = append(lu.Groups, g)
			}
		}
	}
	return lu, nil
}

// AuthzError is an authorisation refusal. Error() and Reason are for the
// log; Public() is all the peer may see.
type AuthzError struct {
	Principal string // the authenticated client principal (unparsed)
	User      string // the local account asked for
	Reason    string // why, for the log
	Err       error  // underlying cause (an *os.PathError, …) or nil
}

// Error is the log line: who, as whom, why.
func (e *AuthzError) Error() string {
	s := "krbauth: " + e.Principal + " is not authorized to log in as " + e.User + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap lets errors.Is match ErrNotAuthorized and the underlying cause.
func (e *AuthzError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrNotAuthorized}
	}
	return []error{ErrNotAuthorized, e.Err}
}

// Public is the message for the peer: always PublicDenial.
func (e *AuthzError) Public() string { return PublicDenial }

// Authorize decides whether principal (unparsed, "name[/inst]@REALM" as
// UnparsePrincipalName writes it) may log in as u. On success it returns
// a reason for the log; otherwise an *AuthzError.
//
// Rules (MIT krb5_kuserok): if the user's .k5login exists, the principal
// must be one of its lines, compared exactly (only the line's '\n' is
// removed: no trimming, so " alice@R" or "alice@R\r" never match, blank
// lines match nothing); if it exists and does not list the principal,
// the login is refused (unless K5loginNotAuthoritative). If it does not
// exist, a one-component principal of DefaultRealm must equal the user
// name; "user/admin@R" or "user@OTHER" do not map.
//
// Stricter than MIT: the file is opened without following a symlink and
// read with the user's own file-system identity (so it cannot point the
// daemon at a file the user cannot read); it must be a regular file owned
// by the user or root and writable by neither group nor others (as
// OpenSSH's StrictModes); any failure to read an existing file refuses.
func Authorize(principal string, u LocalUser, cfg AuthzConfig) (string, error) {
	deny := func(reason string, err error) (string, error) {
		return "", &AuthzError{Principal: principal, User: u.Name, Reason: reason, Err: err}
	}
	if u.Name == "" {
		return deny("no local user name", nil)
	}
	path := k5loginPath(u, cfg)
	found, line, why, err := k5loginCheck(path, principal, u, cfg)
	switch {
	case found && err == nil:
		return fmt.Sprintf("listed in %s line %d", path, line), nil
	case why != "" && !cfg.K5loginNotAuthoritative:
		return deny(why, err)
	}
	// No .k5login (or not authoritative): the default aname → lname rule.
	comps, realm, perr := k5ParsePrincipal(principal)
	if perr != nil {
		return deny("principal name cannot be parsed", perr)
	}
	switch {
	case cfg.DefaultRealm == "":
		return deny("no .k5login and no default realm to map the principal to a local name", nil)
	case realm != cfg.DefaultRealm:
		return deny(fmt.Sprintf("no .k5login and realm %q is not the default realm %q", realm, cfg.DefaultRealm), nil)
	case len(comps) != 1:
		return deny(fmt.Sprintf("no .k5login and a %d-component principal maps to no local name", len(comps)), nil)
	case comps[0] != u.Name:
		return deny(fmt.Sprintf("no .k5login and the principal maps to local name %q", comps[0]), nil)
	}
	return fmt.Sprintf("no .k5login; principal maps to local user %s in the default realm", u.Name), nil
}

// k5loginPath is the file MIT would read for u.
func k5loginPath(u LocalUser, cfg AuthzConfig) string {
	if cfg.K5loginDirectory != "" {
		return filepath.Join(cfg.K5loginDirectory, u.Name)
	}
	if u.Home == "" {
		return ""
	}
	return filepath.Join(u.Home, ".k5login")
}

// k5loginCheck reads path as u and looks for principal. found with a
// 1-based line number means allowed; a non-empty why means the file
// exists and refuses (for that reason, with err as the cause); neither
// means there is no file.
func k5loginCheck(path, principal string, u LocalUser, cfg AuthzConfig) (found bool, line int, why string, err error) {
	if cfg.K5loginDirectory != "" && (strings.ContainsAny(u.Name, "/\x00") || u.Name == "." || u.Name == "..") {
		return false, 0, "user name cannot name a file in k5login_directory", nil
	}
	if path == "" {
		return false, 0, "", nil
	}
	max := cfg.MaxK5loginSize
	if max <= 0 {
		max = DefaultK5loginMaxSize
	}
	data, why, err := k5loginRead(path, u, max)
	if why != "" || data == nil {
		return false, 0, why, err
	}
	if n := K5loginMatch(data, principal); n > 0 {
		return true, n, "", nil
	}
	return false, 0, path + " does not list the principal", nil
}

// K5loginMatch returns the 1-based number of the first line of a .k5login
// file's contents equal to principal, or 0. Lines end at '\n' (a last line
// without one counts); nothing else is stripped. An empty principal never
// matches.
func K5loginMatch(data []byte, principal string) int {
	if principal == "" {
		return 0
	}
	n := 0
	for len(data) > 0 {
		n++
		i := 0
		for i < len(data) && data[i] != '\n' {
			i++
		}
		if string(data[:i]) == principal {
			return n
		}
		if i == len(data) {
			break
		}
		data = data[i+1:]
	}
	return 0
}
