package flakylink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Addresses inside every link's namespaces (private, never outside them).
const (
	SenderIP   = "10.213.7.1"
	ReceiverIP = "10.213.7.2"
	prefixLen  = "24"
	netPrefix  = "10.213.7.0/24"
)

// nftTable is the name of the rules' table in the receiver's namespace.
const nftTable = "flakylink"

// ErrNamespace wraps failures to run code inside a namespace.
var ErrNamespace = errors.New("flakylink: namespace")

// Options say what the link does to TCP segments arriving at the receiver.
type Options struct {
	// LossPercent drops this share (0–100) of all TCP segments at random.
	LossPercent int
	// URGLossPercent drops this share of the TCP segments with URG set.
	URGLossPercent int
	// StripURG clears the URG flag and the urgent pointer of every TCP
	// segment, like a firewall that does (PAN-OS's default).
	StripURG bool
	// RateMbit, if > 0, limits the sender's side of the veth to this rate
	// with a token bucket (burst 16 KiB, 50 ms queue).
	RateMbit int
	// RTOMin, if > 0, sets the minimum retransmission timeout of the
	// link's route in both namespaces (ip route … rto_min; Linux's default
	// is 200 ms, meant for WAN round trips). A veth's round trip is
	// microseconds, so a few milliseconds keep a heavily lossy link's
	// retransmission backoff from stretching a test into minutes.
	RTOMin time.Duration
	// RTOMax, if > 0, caps the retransmission timeout in both namespaces
	// (sysctl net.ipv4.tcp_rto_max_ms, per namespace, Linux ≥ 6.15; the
	// kernel takes 1 s to 120 s, its default). The loss rules drop
	// retransmissions too, and each loss of the same segment doubles the
	// backoff: at 25 % loss a chain of 9 (p ≈ 4·10⁻⁶ a segment, but a
	// flood retransmits ~10⁴) is a 10 s silence. A 1 s cap keeps the link
	// as lossy and its silences short. Linux gives up on a connection
	// when a loss episode outlasts tcp_retries2 (15) timeouts modelled
	// with the cap (tcp_model_timeout): 14.4 s at 1 s, which a 25 % lossy
	// flood reached (the session closed). So RTOMax also sets
	// tcp_retries2 to its maximum, 255 (about 4 min at a 1 s cap). Without
	// the sysctl (an older kernel) both are left out: see
	// Link.RTOMaxApplied.
	RTOMax time.Duration
}

// The per-namespace sysctls RTOMax sets (Linux 6.15,
// Documentation/networking/ip-sysctl.rst: tcp_rto_max_ms, tcp_retries2).
const (
	rtoMaxSysctl  = "/proc/sys/net/ipv4/tcp_rto_max_ms"
	retriesSysctl = "/proc/sys/net/ipv4/tcp_retries2"
	maxRetries2   = 255 // a u8 in struct netns_ipv4
)

// Namespace is one end of a link.
type Namespace struct {
	Name string // the ip-netns name
	Addr string // its address on the veth (SenderIP or ReceiverIP)
	Dev  string // its veth device
	fd   int    // open /var/run/netns/<Name>, for setns
}

// Link is two namespaces joined by a veth pair.
type Link struct {
	Sender   *Namespace // the server side: its segments cross the rules
	Receiver *Namespace // the rules are in here
	Options  Options
	// RTOMaxApplied says whether Options.RTOMax is in force (the kernel
	// has the sysctl).
	RTOMaxApplied bool
}

// Counters are the packets each rule matched so far.
type Counters struct {
	Lost     int64 // dropped by LossPercent
	URGLost  int64 // dropped by URGLossPercent
	Stripped int64 // segments whose URG was cleared
}

var seq atomic.Uint64

// New creates a link for t, or skips t when it cannot (not root, a tool
// missing, namespaces not permitted). Everything is removed by t.Cleanup.
func New(t testing.TB, o Options) *Link {
	t.Helper()
	if err := Available(o); err != nil {
		t.Skip(err)
	}
	if o.LossPercent < 0 || o.LossPercent > 100 || o.URGLossPercent < 0 || o.URGLossPercent > 100 {
		t.Fatalf("flakylink: loss %d%%/%d%% outside 0–100", o.LossPercent, o.URGLossPercent)
	}
	if o.RTOMax != 0 && (o.RTOMax < time.Second || o.RTOMax > 120*time.Second) {
		t.Fatalf("flakylink: RTOMax %v outside the kernel's 1 s–120 s", o.RTOMax)
	}
	// Unique among concurrent processes (the pid) and within one (seq);
	// veth names must fit IFNAMSIZ (15 characters).
	id := strconv.FormatInt(int64(os.Getpid()), 36) + "x" + strconv.FormatUint(seq.Add(1), 36)
	l := &Link{
		Sender:   &Namespace{Name: "krxfl-" + id + "-s", Addr: SenderIP, Dev: "kf" + id + "s", fd: -1},
		Receiver: &Namespace{Name: "krxfl-" + id + "-r", Addr: ReceiverIP, Dev: "kf" + id + "r", fd: -1},
		Options:  o,
	}
	if len(l.Sender.Dev) > 15 {
		t.Fatalf("flakylink: device name %q longer than IFNAMSIZ-1", l.Sender.Dev)
	}
	for _, ns := range []*Namespace{l.Sender, l.Receiver} {
		// A namespace of this name can only be left over from a killed
		// process that had our pid.
		run(nil, "ip", "netns", "del", ns.Name)
	}
	if out, err := run(nil, "ip", "netns", "add", l.Sender.Name); err != nil {
		if bytes.Contains(out, []byte("not permitted")) || bytes.Contains(out, []byte("denied")) {
			t.Skipf("flakylink: network namespaces not permitted here: %v: %s", err, out)
		}
		t.Fatalf("flakylink: ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { l.Sender.remove(t) })
	if out, err := run(nil, "ip", "netns", "add", l.Receiver.Name); err != nil {
		t.Fatalf("flakylink: ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { l.Receiver.remove(t) })
	if err := l.setup(); err != nil {
		t.Fatal(err)
	}
	return l
}

// Available reports why a link with o cannot be built here, or nil.
func Available(o Options) error {
	if os.Geteuid() != 0 {
		return errors.New("flakylink: needs root (network namespaces, nftables)")
	}
	tools := []string{"ip", "nft"}
	if o.RateMbit > 0 {
		tools = append(tools, "tc")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("flakylink: %s not installed (%v)", tool, err)
		}
	}
	return nil
}

func (l *Link) setup() error {
	s, r := l.Sender, l.Receiver
	steps := [][]string{
		{"ip", "link", "add", s.Dev, "netns", s.Name, "type", "veth", "peer", "name", r.Dev, "netns", r.Name},
		{"ip", "-n", s.Name, "addr", "add", s.Addr + "/" + prefixLen, "dev", s.Dev},
		{"ip", "-n", r.Name, "addr", "add", r.Addr + "/" + prefixLen, "dev", r.Dev},
		// One TCP segment per packet, so loss hits segments, not 64 KiB
		// GSO super-packets.
		{"ip", "-n", s.Name, "link", "set", s.Dev, "gso_max_segs", "1"},
		{"ip", "-n", r.Name, "link", "set", r.Dev, "gso_max_segs", "1"},
		{"ip", "-n", s.Name, "link", "set", "lo", "up"},
		{"ip", "-n", r.Name, "link", "set", "lo", "up"},
		{"ip", "-n", s.Name, "link", "set", s.Dev, "up"},
		{"ip", "-n", r.Name, "link", "set", r.Dev, "up"},
	}
	if ms := l.Options.RTOMin.Milliseconds(); ms > 0 {
		for _, ns := range []*Namespace{s, r} {
			steps = append(steps, []string{"ip", "-n", ns.Name, "route", "replace", netPrefix, "dev", ns.Dev,
				"proto", "kernel", "scope", "link", "src", ns.Addr, "rto_min", strconv.FormatInt(ms, 10) + "ms"})
		}
	}
	if ms := l.Options.RTOMax.Milliseconds(); ms > 0 {
		if _, err := os.Stat(rtoMaxSysctl); err == nil {
			l.RTOMaxApplied = true
			for _, ns := range []*Namespace{s, r} {
				steps = append(steps, []string{"ip", "netns", "exec", ns.Name, "sh", "-c",
					"echo " + strconv.FormatInt(ms, 10) + " > " + rtoMaxSysctl +
						" && echo " + strconv.Itoa(maxRetries2) + " > " + retriesSysctl})
			}
		}
	}
	if l.Options.RateMbit > 0 {
		steps = append(steps, []string{"ip", "netns", "exec", s.Name, "tc", "qdisc", "add", "dev", s.Dev, "root",
			"tbf", "rate", strconv.Itoa(l.Options.RateMbit) + "mbit", "burst", "16kb", "latency", "50ms"})
	}
	for _, st := range steps {
		if out, err := run(nil, st[0], st[1:]...); err != nil {
			return fmt.Errorf("flakylink: %s: %v: %s", strings.Join(st, " "), err, out)
		}
	}
	if out, err := run([]byte(l.ruleset()), "ip", "netns", "exec", r.Name, "nft", "-f", "-"); err != nil {
		return fmt.Errorf("flakylink: nft -f -: %v: %s\n%s", err, out, l.ruleset())
	}
	for _, ns := range []*Namespace{s, r} {
		fd, err := unix.Open("/var/run/netns/"+ns.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("%w %s: %v", ErrNamespace, ns.Name, err)
		}
		ns.fd = fd
	}
	return nil
}

// ruleset is the receiver's nftables table. Every rule has a named
// counter; a rule whose option is off is still there, matching nothing,
// so Counters always finds all three.
func (l *Link) ruleset() string {
	o := l.Options
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n", nftTable)
	b.WriteString("\tcounter lost {}\n\tcounter urglost {}\n\tcounter stripped {}\n")
	b.WriteString("\tchain pre {\n\t\ttype filter hook prerouting priority -300; policy accept;\n")
	if o.URGLossPercent > 0 {
		fmt.Fprintf(&b, "\t\tmeta l4proto tcp tcp flags & urg == urg numgen random mod 100 < %d counter name urglost drop\n", o.URGLossPercent)
	}
	if o.LossPercent > 0 {
		fmt.Fprintf(&b, "\t\tmeta l4proto tcp numgen random mod 100 < %d counter name lost drop\n", o.LossPercent)
	}
	if o.StripURG {
		// @th,106,1 is the URG bit of the flags byte (TCP header byte 13,
		// RFC 9293 §3.1); nft 1.0.6 cannot write "tcp flags set tcp flags & …".
		b.WriteString("\t\tmeta l4proto tcp tcp flags & urg == urg counter name stripped tcp urgptr set 0 @th,106,1 set 0\n")
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

var counterRE = regexp.MustCompile(`counter (\w+) \{\s*packets (\d+) bytes \d+`)

// Counters reads the rules' packet counters.
func (l *Link) Counters() (Counters, error) {
	var c Counters
	out, err := run(nil, "ip", "netns", "exec", l.Receiver.Name, "nft", "list", "table", "inet", nftTable)
	if err != nil {
		return c, fmt.Errorf("flakylink: nft list table: %v: %s", err, out)
	}
	found := 0
	for _, m := range counterRE.FindAllSubmatch(out, -1) {
		n, _ := strconv.ParseInt(string(m[2]), 10, 64)
		switch string(m[1]) {
		case "lost":
			c.Lost = n
		case "urglost":
			c.URGLost = n
		case "stripped":
			c.Stripped = n
		default:
			continue
		}
		found++
	}
	if found != 3 {
		return c, fmt.Errorf("flakylink: %d of 3 counters in: %s", found, out)
	}
	return c, nil
}

// Do runs fn on an OS thread that has joined ns's network namespace; the
// thread is discarded afterwards. Sockets fn creates stay in ns.
func (ns *Namespace) Do(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: returning from a locked goroutine ends its thread.
		if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("%w %s: setns: %v", ErrNamespace, ns.Name, err)
			return
		}
		done <- fn()
	}()
	return <-done
}

// Listen listens on TCP addr inside ns.
func (ns *Namespace) Listen(addr string) (*net.TCPListener, error) {
	return ns.ListenConfig(&net.ListenConfig{}, addr)
}

// ListenConfig listens on TCP addr inside ns with lc (e.g. a Control that
// sets SO_OOBINLINE for the accepted sockets).
func (ns *Namespace) ListenConfig(lc *net.ListenConfig, addr string) (*net.TCPListener, error) {
	var ln net.Listener
	err := ns.Do(func() (err error) {
		ln, err = lc.Listen(context.Background(), "tcp", addr)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

// DialTimeout bounds Dial's connect (a lossy link may need SYN
// retransmissions, 1 s, 2 s, …).
const DialTimeout = 30 * time.Second

// Dial connects to TCP addr from inside ns, within DialTimeout.
func (ns *Namespace) Dial(addr string) (*net.TCPConn, error) {
	return ns.DialWith(&net.Dialer{Timeout: DialTimeout}, addr)
}

// DialWith connects to TCP addr from inside ns with d. The socket is made
// (and the SYN sent) in the locked thread; the rest of the connect waits
// there too, which is harmless.
func (ns *Namespace) DialWith(d *net.Dialer, addr string) (*net.TCPConn, error) {
	var c net.Conn
	err := ns.Do(func() (err error) {
		c, err = d.Dial("tcp", addr)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

func (ns *Namespace) remove(t testing.TB) {
	if ns.fd >= 0 {
		unix.Close(ns.fd)
		ns.fd = -1
	}
	if out, err := run(nil, "ip", "netns", "del", ns.Name); err != nil {
		t.Errorf("flakylink: ip netns del %s: %v: %s", ns.Name, err, out)
	}
}

func run(stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	return cmd.CombinedOutput()
}
