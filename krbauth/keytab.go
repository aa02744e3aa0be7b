package krbauth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"
)

// DefaultKeytab is the keytab used when neither -K nor KRB5_KTNAME names one.
const DefaultKeytab = "/etc/krb5.keytab"

// Keytab is a loaded service keytab.
type Keytab struct {
	Path string // file it was read from
	kt   *keytab.Keytab
}

// KeytabPath resolves the keytab name: flag (-K) if set, else $KRB5_KTNAME,
// else /etc/krb5.keytab; a "FILE:" or "WRFILE:" prefix is removed.
func KeytabPath(flag string) (string, error) {
	name := flag
	if name == "" {
		name = os.Getenv("KRB5_KTNAME")
	}
	if name == "" {
		name = DefaultKeytab
	}
	return fileName(name, "keytab", "FILE", "WRFILE")
}

// fileName strips an allowed "TYPE:" prefix and refuses other types
// (MEMORY:, KEYRING:, DIR: …) with a clear error.
func fileName(name, what string, types ...string) (string, error) {
	if i := strings.IndexByte(name, ':'); i > 0 && !strings.HasPrefix(name, "/") {
		typ := name[:i]
		for _, t := range types {
			if strings.EqualFold(typ, t) {
				return name[i+1:], nil
			}
		}
		return "", fmt.Errorf("krbauth: %s %q: only %s: (file) %ss are supported", what, name, types[0], what)
	}
	return name, nil
}

// LoadKeytab reads the keytab named by flag (see KeytabPath).
func LoadKeytab(flag string) (kt *Keytab, err error) {
	path, err := KeytabPath(flag)
	if err != nil {
		return nil, err
	}
	defer recoverErr(&err, "keytab "+path)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: keytab %s does not exist (use -K or KRB5_KTNAME)", ErrNoKeytab, path)
		}
		return nil, fmt.Errorf("%w: %v", ErrNoKeytab, err)
	}
	return ParseKeytab(b, path)
}

// ParseKeytab parses keytab bytes (for tests and a monitor that was handed
// the file's contents); path is only used in error messages.
func ParseKeytab(b []byte, path string) (kt *Keytab, err error) {
	defer recoverErr(&err, "keytab "+path)
	k := keytab.New()
	if err := k.Unmarshal(b); err != nil {
		// Not err's text: gokrb5 quotes the whole file (keys included) in it.
		return nil, fmt.Errorf("%w: keytab %s is malformed", ErrNoKeytab, path)
	}
	return &Keytab{Path: path, kt: k}, nil
}

// Principals lists the distinct principals in the keytab (name@REALM).
func (k *Keytab) Principals() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range k.kt.Entries {
		p := strings.Join(e.Principal.Components, "/") + "@" + e.Principal.Realm
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// serviceKey finds the key that decrypts a ticket for sname@realm with the
// given kvno and enctype. Only host/… principals are accepted (any host
// name: a multi-homed server may be reached under several names). A miss
// names what the keytab does have.
func (k *Keytab) serviceKey(sname types.PrincipalName, realm string, kvno int, etype int32) (Key, error) {
	princ := principalString(sname, realm)
	kerr := &KeytabError{Path: k.Path, Principal: princ, KVNO: kvno, EType: etype, Err: ErrNoKey}
	if len(sname.NameString) != 2 || sname.NameString[0] != "host" {
		return Key{}, fmt.Errorf("%w: ticket is for %s, not a host/ principal", ErrNoKey, princ)
	}
	var best *types.EncryptionKey
	var bestTS int64
	realmSeen := false
	have := map[int]bool{}
	for i := range k.kt.Entries {
		e := &k.kt.Entries[i]
		c := e.Principal.Components
		if len(c) != 2 || c[0] != sname.NameString[0] || c[1] != sname.NameString[1] {
			continue
		}
		if e.Principal.Realm != realm {
			continue
		}
		realmSeen = true
		have[int(e.KVNO)] = true
		if e.Key.KeyType != etype {
			continue
		}
		// MIT writes an 8-bit kvno plus a 32-bit one; the ticket carries the
		// full number, older keytabs only the low 8 bits.
		if int(e.KVNO) != kvno && !(e.KVNO < 256 && kvno >= 256 && int(e.KVNO) == kvno&0xff) {
			continue
		}
		if best == nil || e.Timestamp.Unix() > bestTS {
			best, bestTS = &e.Key, e.Timestamp.Unix()
		}
	}
	if best != nil {
		return keyFrom(*best), nil
	}
	for v := range have {
		kerr.Have = append(kerr.Have, v)
	}
	sort.Ints(kerr.Have)
	if !realmSeen {
		var realms []string
		for _, p := range k.Principals() {
			if strings.HasPrefix(p, sname.NameString[0]+"/"+sname.NameString[1]+"@") {
				realms = append(realms, p)
			}
		}
		if len(realms) > 0 {
			return Key{}, &WrongRealmError{Realm: realm, Reason: fmt.Sprintf("ticket is for %s but keytab %s only has %s", princ, k.Path, strings.Join(realms, ", "))}
		}
		return Key{}, kerr
	}
	if !have[kvno] {
		kerr.Err = ErrWrongKVNO
	}
	return Key{}, kerr
}
