package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Texts the demo sends, looked for on the wire afterwards.
const (
	helloText  = "hello from krx"
	stderrText = "krx-demo: this line travels on the encrypted stderr channel"
	fileMarker = "krx demo payload marker"
	fileName   = "krx-demo-payload.bin"
)

// clientTimeout bounds one non-interactive client run.
const clientTimeout = 30 * time.Second

// client runs one of the built clients with the realm's environment; it
// is stopped with SIGTERM when ctx ends (^C).
func (e *env) client(ctx context.Context, stdio bool, name string, args ...string) (stdout, stderr string, err error) {
	if !stdio {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, clientTimeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, filepath.Join(e.bin, name), args...)
	cmd.Env = append(os.Environ(), e.krbEnv...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	if stdio {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	} else {
		cmd.Stdout, cmd.Stderr = &out, &errb
	}
	fmt.Printf("   $ %s %s\n", name, shellQuote(args))
	err = cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%s stopped: %w", name, ctx.Err())
		} else {
			err = fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(errb.String()))
		}
	}
	return out.String(), errb.String(), err
}

// rsh runs a command through the krx shell service and shows its output.
func (e *env) rsh(ctx context.Context) error {
	step("rsh -x: a command over the encrypted krx shell service, through the relay")
	command := "echo " + helloText + "; id -un; uname -sr; echo '" + stderrText + "' >&2"
	out, errout, err := e.client(ctx, false, "rsh", "-x", "-p", strconv.Itoa(e.shell), relayIP, command)
	if err != nil {
		return err
	}
	printBlock("its standard output", out)
	printBlock("its standard error (second channel)", errout)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 || lines[0] != helloText || lines[1] != e.user {
		return fmt.Errorf("rsh: unexpected output %q (want %q, %q and the kernel)", out, helloText, e.user)
	}
	if strings.TrimSpace(errout) != stderrText {
		return fmt.Errorf("rsh: unexpected error output %q", errout)
	}
	e.plain = append(e.plain, command, helloText+"\n"+e.user, lines[2], stderrText)
	return nil
}

// rcp copies a generated file to the remote side's directory and back
// and compares SHA-256 digests.
func (e *env) rcp(ctx context.Context) error {
	step(fmt.Sprintf("rcp -x: a %d-byte file to %s and back", e.fileSize, relayIP))
	src := filepath.Join(e.dir, fileName)
	sum, err := writePayload(src, e.fileSize)
	if err != nil {
		return err
	}
	fmt.Printf("   %s: lines of %q text, SHA-256 %s\n", src, fileMarker, hex.EncodeToString(sum))
	remote := filepath.Join(e.remote, fileName)
	// The remote shell runs krx's rcp as the sink and source: netkit's
	// rcp -t writes its acknowledgements to descriptor 0, which in an
	// encrypted session is a pipe, so it cannot serve rcp -x.
	flags := []string{"-x", "-P", strconv.Itoa(e.shell), "--remote-rcp", filepath.Join(e.bin, "rcp")}
	if _, _, err := e.client(ctx, false, "rcp", append(flags, src, relayIP+":"+remote)...); err != nil {
		return err
	}
	back := filepath.Join(e.dir, "back-"+fileName)
	if _, _, err := e.client(ctx, false, "rcp", append(flags, relayIP+":"+remote, back)...); err != nil {
		return err
	}
	for _, p := range []string{remote, back} {
		got, err := fileSum(p)
		if err != nil {
			return err
		}
		fmt.Printf("   %s: SHA-256 %s\n", p, hex.EncodeToString(got))
		if !bytes.Equal(got, sum) {
			return fmt.Errorf("rcp: %s differs from %s", p, src)
		}
	}
	fmt.Println("   SHA-256 match: the file came back byte for byte")
	e.plain = append(e.plain, fileMarker, fileName, remote)
	return nil
}

// rlogin runs an interactive krx login on the user's terminal.
func (e *env) rlogin(ctx context.Context) error {
	step("rlogin -x: an interactive encrypted login through the relay")
	fmt.Println("   You are logged in to a shell started by rlogind. Type commands;")
	fmt.Println("   type exit (or ~. at the start of a line) to end the session and see the summary.")
	_, _, err := e.client(ctx, true, "rlogin", "-x", "-p", strconv.Itoa(e.login), relayIP)
	if err != nil {
		var xe *exec.ExitError
		if ctx.Err() == nil && errors.As(err, &xe) {
			fmt.Printf("   rlogin ended: %v\n", xe)
			return nil
		}
		return err
	}
	fmt.Println("   rlogin ended")
	return nil
}

// summary prints what crossed the wire and fails if any plaintext did.
func (e *env) summary() error {
	step("what crossed the wire (the relays' capture)")
	up, down, conns := e.capture.Totals()
	fmt.Printf("   relayed %d TCP connections: %d bytes client→server, %d bytes server→client\n", conns, up, down)
	// Clear by design: the kcmd sendauth header and the Kerberos ticket's
	// realm. Seeing them proves the capture sees what is in clear.
	clear := []string{"KRB5_SENDAUTH_V1.0", e.realm}
	for _, c := range clear {
		n := e.capture.Count([]byte(c))
		fmt.Printf("   in clear by design (Kerberos handshake): %q seen %d times\n", c, n)
		if n == 0 {
			return fmt.Errorf("the capture saw no %q: it does not see the wire", c)
		}
	}
	var found []string
	for _, p := range e.plain {
		n := e.capture.Count([]byte(p))
		fmt.Printf("   searched for %q: %d\n", abbrev(p), n)
		if n > 0 {
			found = append(found, p)
		}
	}
	if up == 0 || down == 0 {
		return errors.New("the relays carried no bytes")
	}
	if name, wire := e.capture.Largest(); len(wire) >= 64 {
		// The file is all printable text; random bytes are printable
		// (0x20-0x7e, \n) with probability 96/256.
		mid := wire[len(wire)/2 : len(wire)/2+32]
		fmt.Printf("   the rcp upload (%s) on the wire, 32 bytes from its middle: %s\n", name, hex.EncodeToString(mid))
		fmt.Printf("   printable-text bytes: 100%% of the file, %.1f%% of the upload on the wire (random bytes: %.1f%%)\n",
			100*printable(wire), 100*96.0/256)
	}
	if len(found) > 0 {
		return fmt.Errorf("plaintext found on the wire: %q", found)
	}
	fmt.Printf("   plaintext found on the wire: none (%d strings searched in %d bytes)\n", len(e.plain), up+down)
	return nil
}

// printable is the fraction of b that is printable ASCII or a newline.
func printable(b []byte) float64 {
	n := 0
	for _, c := range b {
		if c >= 0x20 && c <= 0x7e || c == '\n' {
			n++
		}
	}
	return float64(n) / float64(len(b))
}

// writePayload writes size bytes of numbered marker lines to path and
// returns their SHA-256.
func writePayload(path string, size int) ([]byte, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	w := io.MultiWriter(f, h)
	var b []byte
	for n := 0; len(b) < size; n++ {
		b = fmt.Appendf(b, "%s, line %07d: the quick brown fox jumps over the lazy dog\n", fileMarker, n)
	}
	if _, err := w.Write(b[:size]); err != nil {
		f.Close()
		return nil, err
	}
	return h.Sum(nil), f.Close()
}

func fileSum(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// printBlock prints a client's output indented, under a title.
func printBlock(title, s string) {
	fmt.Printf("   %s:\n", title)
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		fmt.Println("     > " + l)
	}
}

// shellQuote joins args for display, quoting the ones a shell would split.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\";&|<>$*?") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

func abbrev(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
