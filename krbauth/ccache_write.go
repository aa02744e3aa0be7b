package krbauth

// Writing a FILE credential cache for forwarded credentials (gokrb5 can
// only read them). Layout: MIT's ccache file format, version 4
// (MIT doc/formats/ccache_file_format.rst, src/lib/krb5/ccache/cc_file.c),
// all integers big-endian:
//
//	05 04                    file format version 0x0504
//	u16 header length        0: no header tags (tag 1 = KDC time offset is optional)
//	principal                the default principal
//	credential …             here exactly one
//
//	principal  = u32 name-type, u32 component count, data realm, data component…
//	data       = u32 length, bytes
//	credential = principal client, principal server,
//	             u16 enctype, data key,
//	             u32 authtime, starttime, endtime, renew-till (seconds since 1970),
//	             u8 is-skey, u32 ticket flags,
//	             u32 address count (0), u32 authdata count (0),
//	             data ticket (DER), data second ticket (empty)

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// MIT ccache file format numbers (cc_file.c).
const (
	ccFileVersion4 = 0x0504
)

// ErrCCacheWrite wraps every failure to write a forwarded-credentials cache.
var ErrCCacheWrite = errors.New("krbauth: cannot write the credential cache")

// CCacheOptions says where WriteForwardedCCache puts the file and whose it is.
type CCacheOptions struct {
	// Dir is the directory for the file ("": /tmp, as MIT).
	Dir string
	// UID and GID own the file (the logged-in user); -1 keeps the
	// creating process's id for that one.
	UID, GID int
}

// MarshalCCache encodes c as a version-4 FILE ccache whose default
// principal is c's client and whose one entry is c.
func MarshalCCache(c *ForwardedCred) ([]byte, error) {
	if c == nil || len(c.Client) == 0 || len(c.Server) == 0 || len(c.Ticket) == 0 {
		return nil, fmt.Errorf("%w: incomplete credential", ErrCCacheWrite)
	}
	if c.Key.Type < math.MinInt16 || c.Key.Type > math.MaxInt16 {
		return nil, fmt.Errorf("%w: enctype %d does not fit the file format", ErrCCacheWrite, c.Key.Type)
	}
	b := make([]byte, 0, 256+len(c.Ticket))
	b = binary.BigEndian.AppendUint16(b, ccFileVersion4)
	b = binary.BigEndian.AppendUint16(b, 0) // no header tags
	b = ccAppendPrincipal(b, c.ClientNameType, c.Client, c.ClientRealm)
	b = ccAppendPrincipal(b, c.ClientNameType, c.Client, c.ClientRealm)
	b = ccAppendPrincipal(b, c.ServerNameType, c.Server, c.ServerRealm)
	b = binary.BigEndian.AppendUint16(b, uint16(int16(c.Key.Type)))
	b = ccAppendData(b, c.Key.Value)
	start := c.StartTime
	if start.IsZero() {
		start = c.AuthTime
	}
	for _, t := range []time.Time{c.AuthTime, start, c.EndTime, c.RenewTill} {
		b = binary.BigEndian.AppendUint32(b, ccTime(t))
	}
	b = append(b, 0) // is-skey: not a user-to-user ticket
	b = binary.BigEndian.AppendUint32(b, c.Flags)
	b = binary.BigEndian.AppendUint32(b, 0) // addresses
	b = binary.BigEndian.AppendUint32(b, 0) // authdata
	b = ccAppendData(b, c.Ticket)
	b = ccAppendData(b, nil) // second ticket
	return b, nil
}

func ccAppendData(b, d []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(d)))
	return append(b, d...)
}

func ccAppendPrincipal(b []byte, nt int32, comps []string, realm string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(nt))
	b = binary.BigEndian.AppendUint32(b, uint32(len(comps)))
	b = ccAppendData(b, []byte(realm))
	for _, c := range comps {
		b = ccAppendData(b, []byte(c))
	}
	return b
}

// ccTime is a ccache timestamp: 32-bit seconds, 0 for "none"; MIT reads
// it as unsigned, which carries it to 2106.
func ccTime(t time.Time) uint32 {
	if t.IsZero() || t.Unix() <= 0 {
		return 0
	}
	if t.Unix() > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(t.Unix())
}

// WriteForwardedCCache stores c in a new FILE ccache, "krb5cc_<uid>_<random>"
// in o.Dir, created with O_EXCL|O_NOFOLLOW (never through a planted file
// or symlink), mode 0600, owned by o.UID/o.GID. It returns the path (for
// KRB5CCNAME=FILE:<path>) and a cleanup function for the end of the
// session: it overwrites the file's contents with zeros (through the
// descriptor kept since creation, so never another file) and removes the
// name. cleanup may be called more than once.
func WriteForwardedCCache(c *ForwardedCred, o CCacheOptions) (path string, cleanup func() error, err error) {
	defer fwdRecover(&err, "writing the credential cache")
	data, err := MarshalCCache(c)
	if err != nil {
		return "", nil, err
	}
	dir := o.Dir
	if dir == "" {
		dir = "/tmp"
	}
	uid := o.UID
	if uid < 0 {
		uid = os.Getuid()
	}
	var f *os.File
	for try := 0; ; try++ {
		path = filepath.Join(dir, "krb5cc_"+strconv.Itoa(uid)+"_"+ccRandomName())
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if errors.Is(err, unix.EEXIST) && try < 16 {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("%w: %v", ErrCCacheWrite, &os.PathError{Op: "create", Path: path, Err: err})
		}
		f = os.NewFile(uintptr(fd), path)
		break
	}
	fail := func(op string, e error) (string, func() error, error) {
		f.Close()
		os.Remove(path)
		return "", nil, fmt.Errorf("%w: %v", ErrCCacheWrite, &os.PathError{Op: op, Path: path, Err: e})
	}
	if err := f.Chmod(0o600); err != nil { // exact, whatever the umask
		return fail("chmod", err)
	}
	if o.UID >= 0 || o.GID >= 0 {
		if err := f.Chown(o.UID, o.GID); err != nil {
			return fail("chown", err)
		}
	}
	if _, err := f.Write(data); err != nil {
		return fail("write", err)
	}
	var once sync.Once
	var cerr error
	cleanup = func() error {
		once.Do(func() { cerr = ccDestroy(f, path) })
		return cerr
	}
	return path, cleanup, nil
}

// ccDestroy zeroes the file we created (via its descriptor, whatever is
// at the path now) and unlinks the path.
func ccDestroy(f *os.File, path string) error {
	var errs []error
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		zero := make([]byte, min(st.Size(), 1<<20))
		for off := int64(0); off < st.Size(); off += int64(len(zero)) {
			n := min(int64(len(zero)), st.Size()-off)
			if _, err := f.WriteAt(zero[:n], off); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	if err := f.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("krbauth: removing credential cache %s: %w", path, errors.Join(errs...))
	}
	return nil
}

// ccRandomName is 12 random characters [A-Za-z0-9] (≈71 bits).
func ccRandomName() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux ≥ 3.17
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}
