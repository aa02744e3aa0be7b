package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/krx-suite/krx/internal/krbtest"
)

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin", "directory holding the built rlogin, rsh, rcp and rlogind")
	flag.IntVar(&o.size, "size", 4<<20, "size in bytes of the file the rcp round trip copies")
	flag.StringVar(&o.interactive, "interactive", "auto", `run an interactive "rlogin -x": auto (if stdin is a terminal), yes or no`)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "demo: no arguments expected; see -h")
		os.Exit(2)
	}
	// ^C, SIGTERM or a hangup cancel the demo; run then stops everything it
	// started before returning.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		if sig, ok := <-sigc; ok {
			cancel(fmt.Errorf("%w by %v", errInterrupted, sig))
		}
	}()
	err := run(ctx, o)
	signal.Stop(sigc)
	close(sigc)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			fmt.Fprintf(os.Stderr, "demo: %v (%v); everything it started is stopped\n", cause, err)
		} else {
			fmt.Fprintln(os.Stderr, "demo: FAILED:", err)
		}
		os.Exit(1)
	}
	step("demo finished: every process it started is stopped and its files are removed")
}

// errInterrupted is the cause of a demo stopped by a signal.
var errInterrupted = errors.New("interrupted")

// options are the demo's flags.
type options struct {
	bin         string
	size        int
	interactive string
}

// env is what every step needs.
type env struct {
	bin      string
	krbEnv   []string // KRB5_CONFIG, KRB5CCNAME, ... for the clients
	login    int      // eklogin port of rlogind and its relay
	shell    int      // kshell port of rlogind and its relay
	dir      string   // the demo's local files
	remote   string   // the "remote" side's directory
	user     string
	plain    []string // plaintext the session carried, searched for on the wire
	capture  *Capture
	realm    string
	fileSize int
}

func run(ctx context.Context, o options) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("the demo must run as root: rlogind starts each session as the authenticated user, " +
			"which needs root (try: sudo make demo)")
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	for _, p := range []string{"rlogin", "rsh", "rcp", "rlogind"} {
		if fi, err := os.Stat(filepath.Join(bin, p)); err != nil || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("%s not found in %s: run make build first", p, bin)
		}
	}
	u, err := user.Current()
	if err != nil {
		return fmt.Errorf("who am I: %w", err)
	}
	e := &env{bin: bin, user: u.Username, capture: &Capture{}, fileSize: o.size}

	step("starting a throwaway MIT Kerberos realm on " + serverIP)
	realm, err := krbtest.Start("", krbtest.Options{Users: []string{u.Username}})
	if err != nil {
		return err
	}
	realmDir := realm.Dir
	defer func() {
		realm.Close()
		step("stopped the KDC and removed " + realmDir)
	}()
	e.realm = realm.Name
	fmt.Printf("   realm %s, KDC on %s, KDC pid %d, files in %s\n", realm.Name, realm.KDCAddr(), kdcPid(realm.Dir), realm.Dir)
	// The clients ask for host/<the name they dial>: the relay's address.
	svc := "host/" + relayIP
	if err := realm.Kadmin("addprinc -randkey " + svc); err != nil {
		return err
	}
	if err := realm.Kadmin("ktadd -k " + realm.HostKeytab + " " + svc); err != nil {
		return err
	}
	fmt.Printf("   principals %s@%s (password-protected) and %s, %s in the keytab %s\n",
		u.Username, realm.Name, krbtest.Service, svc, filepath.Base(realm.HostKeytab))
	cc, err := realm.Kinit(u.Username)
	if err != nil {
		return err
	}
	e.krbEnv = realm.Env(cc)
	step(fmt.Sprintf("MIT kinit gave %s@%s a ticket-granting ticket (KRB5CCNAME=FILE:%s)", u.Username, realm.Name, cc))

	if e.dir, err = os.MkdirTemp("", "krx-demo-"); err != nil {
		return err
	}
	defer os.RemoveAll(e.dir)
	if e.remote, err = os.MkdirTemp("", "krx-demo-remote-"); err != nil {
		return err
	}
	defer os.RemoveAll(e.remote)

	lrelay, err := ListenRelay("eklogin", 0, e.capture)
	if err != nil {
		return err
	}
	defer lrelay.Close()
	srelay, err := ListenRelay("kshell", 0, e.capture)
	if err != nil {
		return err
	}
	defer srelay.Close()
	e.login, e.shell = lrelay.Port(), srelay.Port()
	logPath := filepath.Join(e.dir, "rlogind.log")
	d, err := startRlogind(bin, e.krbEnv, realm.HostKeytab, filepath.Join(e.dir, "rcache"), logPath, e.login, e.shell)
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			step("stopping rlogind (SIGTERM) and the relays")
			d.stop()
			printLog(logPath)
		}
	}()
	step(fmt.Sprintf("started %s/rlogind (pid %d) serving only the krx services", bin, d.pid()))
	fmt.Printf("   rlogind pid %d: krx login (eklogin) on %s:%d, krx shell (kshell) on %s:%d, plain services off\n",
		d.pid(), serverIP, e.login, serverIP, e.shell)
	lrelay.Serve()
	srelay.Serve()
	fmt.Printf("   wire capture: a counting relay on %s:%d and %s:%d (same ports: the krx checksum binds the\n"+
		"   server port) forwards to rlogind from %s, so the server's stderr connection comes back through it too\n",
		relayIP, e.login, relayIP, e.shell, upstreamIP)

	if err := e.rsh(ctx); err != nil {
		return err
	}
	if err := e.rcp(ctx); err != nil {
		return err
	}
	if interactive(o.interactive) {
		if err := e.rlogin(ctx); err != nil {
			return err
		}
	} else {
		step("stdin is not a terminal: skipping the interactive rlogin -x")
	}

	step("stopping rlogind (SIGTERM) and the relays")
	stopped = true
	if err := d.stop(); err != nil {
		fmt.Printf("   rlogind: %v\n", err)
	}
	rerr := errors.Join(lrelay.Close(), srelay.Close())
	printLog(logPath)
	if rerr != nil {
		return rerr
	}
	return e.summary()
}

// printLog shows rlogind's log, one line per connection.
func printLog(path string) {
	log, err := os.ReadFile(path)
	if err != nil {
		return
	}
	fmt.Println("   rlogind's log:")
	for _, l := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		fmt.Println("     | " + l)
	}
}

// interactive reports whether to run the interactive rlogin.
func interactive(mode string) bool {
	switch mode {
	case "yes":
		return true
	case "no":
		return false
	}
	return isTerminal(0)
}

// kdcPid reads the pid krb5kdc wrote (-P) in the realm directory; 0 if
// it is not there.
func kdcPid(dir string) int {
	for range 50 {
		b, err := os.ReadFile(filepath.Join(dir, "kdc.pid"))
		if err == nil {
			if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0
}

// step prints one step of the demo for the person watching.
func step(s string) { fmt.Println("== " + s) }
