package cfbstream

import (
	"crypto/fips140"
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

const fipsHelperEnv = "CFBSTREAM_FIPS_HELPER"

// TestFIPSOnly re-runs this test binary with GODEBUG=fips140=only and with
// fips140=on and checks, in the child (TestFIPSOnlyHelper), that AES
// streams use crypto/aes (Go's FIPS module), not krx's AES-NI code, and
// under "only" that DES and 3DES are refused with a clear error and no
// panic while AES still works.
func TestFIPSOnly(t *testing.T) {
	if os.Getenv(fipsHelperEnv) != "" {
		t.Skip("running as the helper")
	}
	if puregoBuild {
		t.Skip("GODEBUG=fips140=only cannot start a binary built with the purego tag")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"only", "on"} {
		cmd := exec.Command(exe, "-test.run", "^TestFIPSOnlyHelper$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), fipsHelperEnv+"="+mode, "GODEBUG=fips140="+mode)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("fips140=%s: helper failed: %v\n%s", mode, err, out)
		}
		if !strings.Contains(string(out), "FIPS-HELPER-OK "+mode) {
			t.Fatalf("fips140=%s: helper did not run its checks:\n%s", mode, out)
		}
		t.Logf("fips140=%s helper output:\n%s", mode, out)
	}
}

func TestFIPSOnlyHelper(t *testing.T) {
	if os.Getenv(fipsHelperEnv) == "" {
		t.Skip("only run by TestFIPSOnly in a child with GODEBUG=fips140=only")
	}
	mode := os.Getenv(fipsHelperEnv)
	if !fips140.Enabled() || fips140.Enforced() != (mode == "only") {
		t.Fatalf("GODEBUG=fips140=%s not in effect (enabled %v, enforced %v)", mode, fips140.Enabled(), fips140.Enforced())
	}
	// AES runs in Go's FIPS module (crypto/aes), never in krx's AES-NI
	// code, also after a ratchet step.
	for _, a := range []Algorithm{AES128, AES256} {
		enc, err := NewEncrypter(a, make([]byte, a.KeySize()), make([]byte, 16), WithRekeyInterval(8))
		if err != nil {
			t.Fatal(err)
		}
		checkAESPath(t, a.String()+" under fips140="+mode, &enc.core, false)
		buf := make([]byte, 24)
		enc.XORKeyStream(buf, buf)
		checkAESPath(t, a.String()+" after a ratchet step", &enc.core, false)
		t.Logf("%v uses %T (package %s)", a, enc.blk, reflect.TypeOf(enc.blk).Elem().PkgPath())
	}
	if mode == "on" {
		t.Log("FIPS-HELPER-OK " + mode)
		return
	}
	for _, a := range []Algorithm{DES, TripleDES} {
		_, err := NewEncrypter(a, make([]byte, a.KeySize()), make([]byte, 8))
		var fe *FIPSError
		if !errors.As(err, &fe) || fe.Algorithm != a || !errors.Is(err, ErrFIPSOnly) {
			t.Fatalf("%v: got %v, want a FIPSError", a, err)
		}
		t.Logf("%v refused: %v", a, err)
	}
	// des3-cbc-sha1-kd: refused before gokrb5's derivation runs.
	_, _, err := NewPair(gokrb5Etype(t, 16), make([]byte, 24), Client, Main)
	if !errors.Is(err, ErrFIPSOnly) {
		t.Fatalf("enctype 16: got %v", err)
	}
	t.Logf("enctype 16 refused: %v", err)
	// The AES enctypes still work, derivation included.
	for _, id := range []int32{17, 18, 19, 20} {
		enc, dec, err := NewPair(gokrb5Etype(t, id), make([]byte, enctypeInfo[id].keyLen), Server, Stderr)
		if err != nil {
			t.Fatalf("enctype %d under fips140=only: %v", id, err)
		}
		buf := []byte("still works")
		enc.XORKeyStream(buf, buf)
		_ = dec
	}
	// The AES ratchet (HKDF-SHA-256, an approved KDF) works too.
	enc, err := NewEncrypter(AES128, make([]byte, 16), make([]byte, 16), WithRekeyInterval(8))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	enc.XORKeyStream(buf, buf)
	if enc.Generation() != 7 {
		t.Fatalf("generation %d", enc.Generation())
	}
	t.Log("FIPS-HELPER-OK " + mode)
}
