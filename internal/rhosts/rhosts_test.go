package rhosts

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fixture is a temp tree with a home directory for the test user: nobody
// (65534) when running as root, else the current user.
type fixture struct {
	t    *testing.T
	root string
	user User
	dns  *fakeDNS
	c    Checker
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root, err := os.MkdirTemp("", "rhosts")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	u := User{Name: "tester", UID: os.Getuid(), GID: os.Getgid(), Home: filepath.Join(root, "home")}
	if os.Geteuid() == 0 {
		u.UID, u.GID = 65534, 65534
	}
	if err := os.Mkdir(u.Home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(u.Home, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, root: root, user: u, dns: newDNS()}
	f.c = Checker{HostsEquiv: filepath.Join(root, "hosts.equiv"), Lookup: f.dns.lookup}
	return f
}

// write creates name (relative to the home) with mode and owner uid.
func (f *fixture) write(path, text string, mode os.FileMode, uid int) string {
	f.t.Helper()
	if !filepath.IsAbs(path) {
		path = filepath.Join(f.user.Home, path)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask
		f.t.Fatal(err)
	}
	if err := os.Chown(path, uid, -1); err != nil {
		f.t.Fatal(err)
	}
	return path
}

func (f *fixture) check(clientUser, peer string) Decision {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return f.c.Check(ctx, Request{ClientUser: clientUser, Server: f.user, Peer: netip.MustParseAddr(peer)})
}

func expect(t *testing.T, d Decision, allowed bool, reason string) {
	t.Helper()
	if d.Allowed != allowed || !strings.Contains(d.Reason, reason) {
		t.Fatalf("decision %v, want allowed=%v with reason containing %q", d, allowed, reason)
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: chown to other users / read as another user")
	}
}

func TestRhostsAllows(t *testing.T) {
	f := newFixture(t)
	p := f.write(".rhosts", "# trusted\n10.1.1.1 bob\nclient.example\n", 0o600, f.user.UID)
	d := f.check("bob", "10.1.1.1")
	expect(t, d, true, ".rhosts:2")
	if d.File != p || d.Line != 2 {
		t.Errorf("decided by %s:%d", d.File, d.Line)
	}
	expect(t, f.check("tester", "10.1.1.1"), true, ":3")
	expect(t, f.check("bob", "10.2.2.2"), false, "no matching entry")
}

func TestRhostsRefusedFiles(t *testing.T) {
	f := newFixture(t)
	other := f.write(filepath.Join(f.root, "elsewhere"), "+ +\n", 0o600, f.user.UID)

	f.write(".rhosts", "+ +\n", 0o620, f.user.UID)
	expect(t, f.check("bob", "10.1.1.1"), false, "writeable by other than owner")
	f.write(".rhosts", "+ +\n", 0o602, f.user.UID)
	expect(t, f.check("bob", "10.1.1.1"), false, "writeable by other than owner")

	os.Remove(filepath.Join(f.user.Home, ".rhosts"))
	if err := os.Symlink(other, filepath.Join(f.user.Home, ".rhosts")); err != nil {
		t.Fatal(err)
	}
	expect(t, f.check("bob", "10.1.1.1"), false, "symbolic link")

	os.Remove(filepath.Join(f.user.Home, ".rhosts"))
	if err := os.Link(other, filepath.Join(f.user.Home, ".rhosts")); err != nil {
		t.Fatal(err)
	}
	expect(t, f.check("bob", "10.1.1.1"), false, "hard linked")

	os.Remove(filepath.Join(f.user.Home, ".rhosts"))
	if err := syscall.Mkfifo(filepath.Join(f.user.Home, ".rhosts"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(f.user.Home, ".rhosts"), f.user.UID, -1)
	expect(t, f.check("bob", "10.1.1.1"), false, "not regular file") // and no hang

	os.Remove(filepath.Join(f.user.Home, ".rhosts"))
	os.Mkdir(filepath.Join(f.user.Home, ".rhosts"), 0o700)
	os.Chown(filepath.Join(f.user.Home, ".rhosts"), f.user.UID, -1)
	expect(t, f.check("bob", "10.1.1.1"), false, "not regular file")
	os.Remove(filepath.Join(f.user.Home, ".rhosts"))

	f.write(".rhosts", strings.Repeat("# padding\n", 20)+"+ +\n", 0o600, f.user.UID)
	f.c.MaxFileSize = 100
	expect(t, f.check("bob", "10.1.1.1"), false, "larger than 100 bytes")
	f.c.MaxFileSize = 0
	expect(t, f.check("bob", "10.1.1.1"), true, ":21")

	f.c.NoRhosts = true
	expect(t, f.check("bob", "10.1.1.1"), false, "no matching entry")
}

func TestRhostsGarbageAndLongLines(t *testing.T) {
	f := newFixture(t)
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*7 + i/13)
	}
	f.write(".rhosts", string(garbage), 0o600, f.user.UID)
	expect(t, f.check("bob", "10.1.1.1"), false, "")
	long := strings.Repeat("y", 300000)
	f.write(".rhosts", long+" bob\n10.1.1.1 "+long+"\n10.1.1.1 bob\n", 0o600, f.user.UID)
	expect(t, f.check("bob", "10.1.1.1"), true, ":3")
}

func TestRhostsOwnerRules(t *testing.T) {
	needRoot(t)
	f := newFixture(t)
	f.write(".rhosts", "+ +\n", 0o644, 12345)
	expect(t, f.check("bob", "10.1.1.1"), false, "bad owner (uid 12345)")
	// glibc accepts a root-owned ~/.rhosts — but it is read as the user,
	// and this one (0600) the user cannot read: proof of reading as the
	// user, not as root.
	f.write(".rhosts", "+ +\n", 0o600, 0)
	expect(t, f.check("bob", "10.1.1.1"), false, "permission denied")
	f.write(".rhosts", "+ +\n", 0o644, 0)
	expect(t, f.check("bob", "10.1.1.1"), true, ".rhosts:1")
	// The user's own 0400 file inside a 0700 home is fine.
	f.write(".rhosts", "+ +\n", 0o400, f.user.UID)
	expect(t, f.check("bob", "10.1.1.1"), true, ".rhosts:1")
	// Reading as the user did not change the daemon's identity.
	if os.Geteuid() != 0 || os.Getegid() != 0 {
		t.Fatalf("process identity changed: euid %d egid %d", os.Geteuid(), os.Getegid())
	}
	if _, err := os.ReadFile(filepath.Join(f.user.Home, ".rhosts")); err != nil {
		t.Fatalf("root lost its file access: %v", err)
	}
	// No thread of the process keeps the user's file-system identity: the
	// switched thread is thrown away (its exit may lag a moment).
	deadline := time.Now().Add(5 * time.Second)
	for {
		bad := threadsWithFSUID(t, f.user.UID)
		if len(bad) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads still running with fsuid %d: %v", f.user.UID, bad)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// threadsWithFSUID lists the tasks of this process whose fs uid is uid.
func threadsWithFSUID(t *testing.T, uid int) []string {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "status"))
		if err != nil {
			continue // thread gone
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) == 5 && f[0] == "Uid:" && f[4] == strconv.Itoa(uid) {
				bad = append(bad, task.Name())
			}
		}
	}
	return bad
}

func TestHostsEquiv(t *testing.T) {
	needRoot(t) // hosts.equiv must be root-owned
	f := newFixture(t)
	f.write(f.c.HostsEquiv, "client.example\n", 0o644, 0)
	// Same name on both sides, from a listed host.
	f.user.Name = "bob"
	d := f.check("bob", "10.1.1.1")
	expect(t, d, true, "hosts.equiv:1")
	expect(t, f.check("carol", "10.1.1.1"), false, "no matching entry")
	// A negative hosts.equiv line does not stop ~/.rhosts.
	f.write(f.c.HostsEquiv, "-client.example\n", 0o644, 0)
	f.write(".rhosts", "10.1.1.1 bob\n", 0o600, f.user.UID)
	expect(t, f.check("bob", "10.1.1.1"), true, ".rhosts:1")
	os.Remove(filepath.Join(f.user.Home, ".rhosts"))
	// Never for uid 0.
	f.write(f.c.HostsEquiv, "+ +\n", 0o644, 0)
	expect(t, f.check("x", "10.1.1.1"), true, "hosts.equiv:1")
	f.user.UID = 0
	expect(t, f.check("x", "10.1.1.1"), false, "hosts.equiv not used for uid 0")
	f.user.UID = 65534
	// Must be owned by root and not writable by others.
	f.write(f.c.HostsEquiv, "+ +\n", 0o644, 65534)
	expect(t, f.check("x", "10.1.1.1"), false, "bad owner")
	f.write(f.c.HostsEquiv, "+ +\n", 0o666, 0)
	expect(t, f.check("x", "10.1.1.1"), false, "writeable by other than owner")
	f.c.NoHostsEquiv = true
	f.write(f.c.HostsEquiv, "+ +\n", 0o644, 0)
	expect(t, f.check("x", "10.1.1.1"), false, "no matching entry")
}

func TestBadRequests(t *testing.T) {
	var c Checker
	if d := c.Check(context.Background(), Request{ClientUser: "a", Server: User{Name: "b"}}); d.Allowed || !strings.Contains(d.Reason, "no peer address") {
		t.Errorf("%v", d)
	}
	if d := c.Check(context.Background(), Request{Server: User{Name: "b"}, Peer: netip.MustParseAddr("10.0.0.1")}); d.Allowed || !strings.Contains(d.Reason, "empty user") {
		t.Errorf("%v", d)
	}
	c.NoHostsEquiv = true
	if d := c.Check(context.Background(), Request{ClientUser: "a", Server: User{Name: "b", Home: "relative"}, Peer: netip.MustParseAddr("10.0.0.1")}); d.Allowed || !strings.Contains(d.Reason, "home directory") {
		t.Errorf("%v", d)
	}
}

func TestDefaultResolver(t *testing.T) {
	f := newFixture(t)
	f.c.Lookup = nil // net.DefaultResolver: "localhost" comes from /etc/hosts
	f.write(".rhosts", "localhost bob\n", 0o600, f.user.UID)
	expect(t, f.check("bob", "127.0.0.1"), true, ".rhosts:1")
	expect(t, f.check("bob", "192.0.2.7"), false, "no matching entry")
}
