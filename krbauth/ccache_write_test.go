package krbauth

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The exact bytes of MIT's version-4 layout for a known credential.
func TestMarshalCCacheLayout(t *testing.T) {
	at := time.Unix(0x6000_0000, 0)
	c := &ForwardedCred{
		ClientRealm: "R", Client: []string{"al"}, ClientNameType: 1,
		ServerRealm: "R", Server: []string{"krbtgt", "R"}, ServerNameType: 2,
		Key: Key{Type: 18, Value: []byte{1, 2, 3, 4}}, Flags: 0x40a00000,
		AuthTime: at, EndTime: at.Add(0x10 * time.Second), RenewTill: at.Add(0x20 * time.Second),
		Ticket: []byte{0x61, 0x03, 0x02, 0x01, 0x05},
	}
	got, err := MarshalCCache(c)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"0504", "0000", // version 4, no header tags
		"00000001", "00000001", "00000001", "52", "00000002", "616c", // default principal al@R
		"00000001", "00000001", "00000001", "52", "00000002", "616c", // client
		"00000002", "00000002", "00000001", "52", "00000006", "6b7262746774", "00000001", "52", // krbtgt/R@R
		"0012", "00000004", "01020304", // key: enctype 18, 4 bytes
		"60000000", "60000000", "60000010", "60000020", // authtime, starttime (= authtime), endtime, renew-till
		"00", "40a00000", // is-skey, flags
		"00000000", "00000000", // no addresses, no authdata
		"00000005", "6103020105", // ticket
		"00000000", // no second ticket
	}, "")
	if hex.EncodeToString(got) != want {
		t.Fatalf("ccache bytes\n got %x\nwant %s", got, want)
	}
	if _, err := MarshalCCache(&ForwardedCred{}); !errors.Is(err, ErrCCacheWrite) {
		t.Fatalf("empty credential: %v", err)
	}
	c.Key.Type = 1 << 20
	if _, err := MarshalCCache(c); !errors.Is(err, ErrCCacheWrite) {
		t.Fatalf("enctype out of range: %v", err)
	}
}

func TestWriteForwardedCCacheFile(t *testing.T) {
	fc := fwdSampleCred(t, time.Now())
	dir := t.TempDir()
	old := syscall.Umask(0o277) // the mode must not depend on the umask
	path, cleanup, err := WriteForwardedCCache(fc, CCacheOptions{Dir: dir, UID: -1, GID: -1})
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode() != 0o600 || int(st.Sys().(*syscall.Stat_t).Uid) != os.Getuid() {
		t.Fatalf("mode %v uid %d", st.Mode(), st.Sys().(*syscall.Stat_t).Uid)
	}
	want, _ := MarshalCCache(fc)
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Fatal("file content differs from MarshalCCache")
	}
	// Names are unpredictable: two writes, two names.
	p2, c2, err := WriteForwardedCCache(fc, CCacheOptions{Dir: dir, UID: -1, GID: -1})
	if err != nil || p2 == path {
		t.Fatalf("second cache %s (%v)", p2, err)
	}
	c2()

	// cleanup zeroes the file it created (seen through a second link)
	// and removes the name.
	link := filepath.Join(dir, "link")
	if err := os.Link(path, link); err != nil {
		t.Fatal(err)
	}
	if err := cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("not removed: %v", err)
	}
	if b, _ := os.ReadFile(link); len(b) != len(want) || !bytes.Equal(b, make([]byte, len(want))) {
		t.Fatalf("contents not zeroed: %x", b)
	}

	if _, _, err := WriteForwardedCCache(fc, CCacheOptions{Dir: filepath.Join(dir, "missing"), UID: -1, GID: -1}); !errors.Is(err, ErrCCacheWrite) {
		t.Fatalf("missing directory: %v", err)
	}
	if _, _, err := WriteForwardedCCache(&ForwardedCred{}, CCacheOptions{Dir: dir, UID: -1, GID: -1}); !errors.Is(err, ErrCCacheWrite) {
		t.Fatalf("incomplete credential: %v", err)
	}
}

// If the user swaps the cache for a symlink to another file during the
// session, cleanup removes the symlink and leaves the target alone.
func TestCCacheCleanupAfterSwap(t *testing.T) {
	dir := t.TempDir()
	path, cleanup, err := WriteForwardedCCache(fwdSampleCred(t, time.Now()), CCacheOptions{Dir: dir, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	os.Remove(path)
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if err := cleanup(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("victim changed to %q", b)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("symlink not removed: %v", err)
	}
}

func TestWriteForwardedCCacheOwnerRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file to another uid")
	}
	path, cleanup, err := WriteForwardedCCache(fwdSampleCred(t, time.Now()), CCacheOptions{Dir: t.TempDir(), UID: 65534, GID: 65534})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	s := st.Sys().(*syscall.Stat_t)
	if st.Mode() != 0o600 || s.Uid != 65534 || s.Gid != 65534 || !strings.HasPrefix(filepath.Base(path), "krb5cc_65534_") {
		t.Fatalf("%s: mode %v owner %d:%d", path, st.Mode(), s.Uid, s.Gid)
	}
}

func TestValidateCCache(t *testing.T) {
	good, err := MarshalCCache(fwdSampleCred(t, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateCCache(good); err != nil {
		t.Fatalf("our own ccache: %v", err)
	}
	withHeader := append([]byte{5, 4, 0, 12, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 2}, good[4:]...)
	if err := ValidateCCache(withHeader); err != nil {
		t.Fatalf("KDC time-offset header: %v", err)
	}
	for i := 0; i < len(good); i++ {
		if err := ValidateCCache(good[:i]); i > 4 && i < len(good) && err == nil && i != fwdPrincipalEnd(good) {
			t.Fatalf("truncated to %d bytes accepted", i)
		}
	}
	for name, b := range map[string][]byte{
		"empty":             nil,
		"version 5.2":       {5, 2, 0, 0},
		"not a ccache":      {4, 4, 0, 0},
		"header overrun":    {5, 4, 0, 4, 0, 1, 0, 8},
		"unknown tag":       {5, 4, 0, 4, 0, 2, 0, 0},
		"huge realm":        {5, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xf0},
		"huge name count":   {5, 4, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0},
		"huge address cnt":  ccWithCount(good, len(good)-4-(4+len(fwdSampleTicket(t, "KRX.TEST")))-4-4),
		"huge authdata cnt": ccWithCount(good, len(good)-4-(4+len(fwdSampleTicket(t, "KRX.TEST")))-4),
	} {
		if err := ValidateCCache(b); !errors.Is(err, ErrCCacheFormat) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// ccWithCount is b with the u32 at off set to 0xffffffff.
func ccWithCount(b []byte, off int) []byte {
	b = bytes.Clone(b)
	if b[off] != 0 || b[off+3] != 0 {
		panic("not a zero count at the offset")
	}
	copy(b[off:], []byte{0xff, 0xff, 0xff, 0xff})
	return b
}

// fwdPrincipalEnd is where the default principal of a ccache ends: a file
// with a default principal and no credential is well-formed.
func fwdPrincipalEnd(b []byte) int {
	r := ccReader{b: b, off: 4}
	r.principal()
	return r.off
}
