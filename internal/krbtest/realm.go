package krbtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoMIT reports that the MIT KDC tools are not installed.
var ErrNoMIT = errors.New("krbtest: MIT Kerberos KDC tools not installed (apt-get install krb5-kdc krb5-admin-server krb5-user)")

// Password is the password of every user principal the realm creates.
const Password = "krx-test-pw"

// Service is the service principal every realm has, as krx clients name it.
const Service = "host/localhost"

// Options changes the realm Start builds. The zero value is the default
// realm: AES keys only, principals alice and bob.
type Options struct {
	// Realm is the realm name (default KRX.TEST).
	Realm string
	// Users are the user principals to create with Password (default alice, bob).
	Users []string
	// Enctypes, if set, is the client's permitted/default enctype list in
	// krb5.conf, most preferred first, in MIT names
	// (e.g. "aes128-cts-hmac-sha256-128"; write des3 as "des3-cbc-sha1-kd",
	// which MIT and gokrb5 both read as etype 16); the service and user keys are
	// created for every supported enctype of the KDC.
	Enctypes []string
	// Des3 lets the KDC issue des3-cbc-sha1 session keys (allow_des3, a des3
	// key on the service and session_enctypes on it), per TESTBED.md.
	Des3 bool
	// ClockSkew is krb5.conf's clockskew in seconds (0: MIT's default 300).
	ClockSkew int
}

// Realm is a running throwaway realm.
type Realm struct {
	Name       string // realm name
	Dir        string // every file of the realm
	Port       int    // KDC TCP port on 127.0.0.1
	Krb5Conf   string // path of krb5.conf (KRB5_CONFIG)
	KDCConf    string // path of kdc.conf (KRB5_KDC_PROFILE)
	HostKeytab string // keytab with host/localhost's keys
	cmd        *exec.Cmd
	done       chan error
	kdcLog     string
}

// Start creates and starts a realm in a new directory under dir (or the
// system temp dir if dir is ""). Call Close to stop it and remove the files.
func Start(dir string, o Options) (r *Realm, err error) {
	for _, tool := range []string{"krb5kdc", "kdb5_util", "kadmin.local", "kinit"} {
		if _, lerr := lookPath(tool); lerr != nil {
			return nil, ErrNoMIT
		}
	}
	if o.Realm == "" {
		o.Realm = "KRX.TEST"
	}
	if o.Users == nil {
		o.Users = []string{"alice", "bob"}
	}
	d, err := os.MkdirTemp(dir, "krbtest-")
	if err != nil {
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	r = &Realm{Name: o.Realm, Dir: d}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if r.Port, err = freePort(); err != nil {
		return nil, err
	}
	r.Krb5Conf = filepath.Join(d, "krb5.conf")
	r.KDCConf = filepath.Join(d, "kdc.conf")
	r.HostKeytab = filepath.Join(d, "host.keytab")
	r.kdcLog = filepath.Join(d, "kdc.log")
	if err = os.WriteFile(r.Krb5Conf, []byte(r.krb5conf(o)), 0o644); err != nil {
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	if err = os.WriteFile(r.KDCConf, []byte(r.kdcconf(o)), 0o644); err != nil {
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	if err = os.WriteFile(filepath.Join(d, "kadm5.acl"), []byte("*/admin@"+o.Realm+" *\n"), 0o644); err != nil {
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	if _, err = r.run("kdb5_util", "-r", o.Realm, "create", "-s", "-P", "krx-master-"+strconv.Itoa(os.Getpid())); err != nil {
		return nil, err
	}
	for _, u := range o.Users {
		if err = r.Kadmin("addprinc -pw " + Password + " " + u); err != nil {
			return nil, err
		}
	}
	if err = r.Kadmin("addprinc -randkey " + Service); err != nil {
		return nil, err
	}
	if o.Des3 {
		if err = r.Kadmin(`setstr ` + Service + ` session_enctypes des3-cbc-sha1`); err != nil {
			return nil, err
		}
	}
	if err = r.Kadmin("ktadd -k " + r.HostKeytab + " " + Service); err != nil {
		return nil, err
	}
	if err = r.startKDC(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Realm) krb5conf(o Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[libdefaults]\n\tdefault_realm = %s\n", r.Name)
	b.WriteString("\tdns_lookup_kdc = false\n\tdns_lookup_realm = false\n\trdns = false\n")
	b.WriteString("\tdns_canonicalize_hostname = false\n\tudp_preference_limit = 1\n\tforwardable = true\n")
	if o.ClockSkew > 0 {
		fmt.Fprintf(&b, "\tclockskew = %d\n", o.ClockSkew)
	}
	if o.Des3 {
		b.WriteString("\tallow_des3 = true\n")
	}
	if len(o.Enctypes) > 0 {
		l := strings.Join(o.Enctypes, " ")
		fmt.Fprintf(&b, "\tdefault_tkt_enctypes = %s\n\tdefault_tgs_enctypes = %s\n\tpermitted_enctypes = %s\n", l, l, l)
	}
	fmt.Fprintf(&b, "[realms]\n\t%s = {\n\t\tkdc = 127.0.0.1:%d\n\t}\n", r.Name, r.Port)
	fmt.Fprintf(&b, "[domain_realm]\n\tlocalhost = %s\n\t127.0.0.1 = %s\n", r.Name, r.Name)
	return b.String()
}

func (r *Realm) kdcconf(o Options) string {
	supported := "aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal " +
		"aes128-cts-hmac-sha256-128:normal aes256-cts-hmac-sha384-192:normal"
	if o.Des3 {
		supported += " des3-cbc-sha1:normal"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[kdcdefaults]\n\tkdc_listen = 127.0.0.1:%d\n\tkdc_tcp_listen = 127.0.0.1:%d\n", r.Port, r.Port)
	fmt.Fprintf(&b, "[realms]\n\t%s = {\n", r.Name)
	fmt.Fprintf(&b, "\t\tdatabase_name = %s\n", filepath.Join(r.Dir, "principal"))
	fmt.Fprintf(&b, "\t\tkey_stash_file = %s\n", filepath.Join(r.Dir, "stash"))
	fmt.Fprintf(&b, "\t\tacl_file = %s\n", filepath.Join(r.Dir, "kadm5.acl"))
	fmt.Fprintf(&b, "\t\tadmin_keytab = %s\n", filepath.Join(r.Dir, "kadm5.keytab"))
	fmt.Fprintf(&b, "\t\tsupported_enctypes = %s\n", supported)
	b.WriteString("\t\tmax_life = 10h\n\t\tmax_renewable_life = 7d\n\t}\n")
	fmt.Fprintf(&b, "[logging]\n\tkdc = FILE:%s\n", r.kdcLog)
	return b.String()
}

// Env is the environment MIT tools and krx programs need to use this realm,
// to be appended to os.Environ() of a child process. ccache names the
// credential cache (a path, "" for alice's default one in the realm dir).
func (r *Realm) Env(ccache string) []string {
	if ccache == "" {
		ccache = r.CCache("alice")
	}
	return []string{
		"KRB5_CONFIG=" + r.Krb5Conf,
		"KRB5_KDC_PROFILE=" + r.KDCConf,
		"KRB5CCNAME=FILE:" + ccache,
		"KRB5_KTNAME=FILE:" + r.HostKeytab,
		"KRB5RCACHEDIR=" + r.Dir,
	}
}

// CCache is the path of user's credential cache in this realm (written by Kinit).
func (r *Realm) CCache(user string) string {
	return filepath.Join(r.Dir, "ccache."+strings.ReplaceAll(user, "/", "_"))
}

// Kinit gets a TGT for user (with Password) into CCache(user), using MIT
// kinit; extra flags (e.g. "-f", "-e", "aes128-cts-hmac-sha1-96") are passed on.
func (r *Realm) Kinit(user string, flags ...string) (string, error) {
	cc := r.CCache(user)
	args := append(append([]string{}, flags...), user)
	cmd := exec.Command("kinit", args...)
	cmd.Env = append(os.Environ(), r.Env(cc)...)
	cmd.Stdin = strings.NewReader(Password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("krbtest: kinit %s: %v: %s", user, err, bytes.TrimSpace(out))
	}
	return cc, nil
}

// Kadmin runs one kadmin.local query against the realm's database.
func (r *Realm) Kadmin(query string) error {
	_, err := r.run("kadmin.local", "-r", r.Name, "-q", query)
	return err
}

// Keytab exports princ's keys into a new keytab file and returns its path.
// With keep, the existing keys are exported (-norandkey) so passwords stay valid.
func (r *Realm) Keytab(princ string, keep bool) (string, error) {
	p := filepath.Join(r.Dir, strings.ReplaceAll(princ, "/", "_")+".keytab")
	q := "ktadd -k " + p + " "
	if keep {
		q += "-norandkey "
	}
	if err := r.Kadmin(q + princ); err != nil {
		return "", err
	}
	return p, nil
}

// KDCAddr is the KDC's address, e.g. "127.0.0.1:41234".
func (r *Realm) KDCAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port)) }

// run executes an MIT tool with the realm's environment and returns its output.
func (r *Realm) run(name string, args ...string) ([]byte, error) {
	path, err := lookPath(name)
	if err != nil {
		return nil, ErrNoMIT
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), r.Env("")...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("krbtest: %s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	// kadmin.local reports many failures on stderr with exit status 0.
	if name == "kadmin.local" && (bytes.Contains(out, []byte("while ")) || bytes.Contains(out, []byte("error"))) {
		return out, fmt.Errorf("krbtest: kadmin.local %q: %s", args[len(args)-1], bytes.TrimSpace(out))
	}
	return out, nil
}

func (r *Realm) startKDC() error {
	path, err := lookPath("krb5kdc")
	if err != nil {
		return ErrNoMIT
	}
	r.cmd = exec.Command(path, "-n", "-r", r.Name, "-P", filepath.Join(r.Dir, "kdc.pid"))
	r.cmd.Env = append(os.Environ(), r.Env("")...)
	logf, err := os.Create(filepath.Join(r.Dir, "kdc.stderr"))
	if err != nil {
		return fmt.Errorf("krbtest: %w", err)
	}
	defer logf.Close()
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	// Own process group, so Close can stop it even if it forks; and
	// SIGTERM when we die without Close (a test timeout, ^C in make demo).
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	r.done = make(chan error, 1)
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that started the child exits, and
		// Go ends a thread whose locked goroutine returns: start and wait on
		// one locked thread that stays until the KDC is gone.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := r.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		r.done <- r.cmd.Wait()
	}()
	if err := <-started; err != nil {
		r.cmd = nil
		return fmt.Errorf("krbtest: starting krb5kdc: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case werr := <-r.done:
			r.done <- werr
			out, _ := os.ReadFile(filepath.Join(r.Dir, "kdc.stderr"))
			return fmt.Errorf("krbtest: krb5kdc exited: %v: %s", werr, bytes.TrimSpace(out))
		default:
		}
		c, err := net.DialTimeout("tcp", r.KDCAddr(), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("krbtest: krb5kdc did not listen on %s within 10s", r.KDCAddr())
}

// Close stops the KDC (by its pid) and removes every file of the realm.
// It is safe to call more than once.
func (r *Realm) Close() error {
	if r == nil {
		return nil
	}
	if r.cmd != nil && r.cmd.Process != nil {
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
			<-r.done
		}
		r.cmd = nil
	}
	if r.Dir != "" {
		err := os.RemoveAll(r.Dir)
		r.Dir = ""
		return err
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("krbtest: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lookPath finds an MIT tool on PATH or in the sbin directories Debian uses,
// which a non-login root shell may not have on PATH.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}
