package rcp

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/krx-suite/krx/internal/rcmd/rshdtest"
)

const netnsEnv = "KRX_RCP_IN_NETNS"

// TestNetkitClientKrxServer: the real netkit rcp client can only use port
// 514, so the test re-runs itself in a fresh network and mount namespace,
// serves in.rshd on 127.0.0.1:514 and checks, with byte-identical trees:
//  1. krx "rcp host1:tree host2:dst" with netkit's rcp on the remote side
//     (netkit runs it through its own rsh);
//  2. with krx's rcp bind-mounted over netkit's (only in this namespace),
//     so in.rshd runs krx "rcp -t/-f": the netkit client (a copy of the
//     binary) to and from it, and netkit's remote→remote, which makes the
//     remote krx rcp dial the shell port itself.
func TestNetkitClientKrxServer(t *testing.T) {
	rshdtest.NeedRoot(t, netkitRcp, "unshare", "ip", "mount")
	bin := krxBinary(t)
	if os.Getenv(netnsEnv) != "1" {
		cmd := exec.Command("unshare", "--net", "--mount", "--propagation", "private", "sh", "-c",
			`ip link set lo up && exec "$0" -test.run='^TestNetkitClientKrxServer$' -test.v -test.count=1`, os.Args[0])
		cmd.Env = append(os.Environ(), netnsEnv+"=1", "KRX_RCP_BIN="+bin)
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestNetkitClientKrxServer")) {
			t.Fatalf("in a fresh netns: %v\n%s", err, out)
		}
		return
	}
	rshdtest.AuthorizeRoot(t)
	rshdtest.Start(t, 514)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "tree")
	makeTree(t, src, true)
	want := snapshot(t, src)
	check := func(what, dir string) {
		t.Helper()
		if d := diffSnap(want, snapshot(t, dir)); d != "" {
			t.Fatalf("%s: trees differ:\n%s", what, d)
		}
	}
	mk := func(name string) string {
		d := filepath.Join(tmp, name)
		if err := os.Mkdir(d, 0755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	runCmd := func(name string, args ...string) {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil || len(out) != 0 {
			t.Fatalf("%s %q: %v: %s", name, args, err, out)
		}
	}

	// 1. krx client, netkit remote on both hops.
	d1 := mk("r2r-netkit")
	runCmd(bin, "-rp", "127.0.0.1:"+src, "127.0.0.1:"+d1)
	check("krx remote→remote via netkit", filepath.Join(d1, "tree"))

	// 2. krx's rcp becomes the remote rcp.
	real, err := filepath.EvalSymlinks(netkitRcp)
	if err != nil {
		t.Fatal(err)
	}
	netkit := filepath.Join(tmp, "netkit-rcp")
	runCmd("cp", real, netkit)
	runCmd("mount", "--bind", os.Getenv("KRX_RCP_BIN"), real)
	defer exec.Command("umount", real).Run()

	d2 := mk("to-krx")
	runCmd(netkit, "-rp", src, "127.0.0.1:"+d2)
	check("netkit client → krx rcp -t", filepath.Join(d2, "tree"))

	d3 := mk("from-krx")
	runCmd(netkit, "-rp", "127.0.0.1:"+src, d3)
	check("netkit client ← krx rcp -f", filepath.Join(d3, "tree"))

	d4 := mk("r2r-krx")
	runCmd(netkit, "-rp", "127.0.0.1:"+src, "127.0.0.1:"+d4)
	check("netkit remote→remote via krx", filepath.Join(d4, "tree"))
}
