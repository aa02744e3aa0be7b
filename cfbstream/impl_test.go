package cfbstream

import (
	"bytes"
	"crypto/aes"
	"crypto/fips140"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

// implEnv selects the AES implementation for a whole test binary:
// implGo turns the AES-NI path off (every AES stream uses crypto/aes, as
// under FIPS 140 mode or on other CPUs); implAsm requires it
// (TestImplSelection fails where it is unavailable); unset means the
// automatic choice. TestSuiteOnCryptoAES re-runs the suite with implGo, so
// one `go test` covers both paths.
const (
	implEnv = "CFBSTREAM_IMPL"
	implGo  = "go"
	implAsm = "asm"
)

func init() {
	if os.Getenv(implEnv) == implGo {
		aesniDisabled = true
	}
}

// aesniExpected reports whether AES streams made now should use AES-NI.
func aesniExpected() bool {
	return haveAESNI && os.Getenv(implEnv) != implGo && !fips140.Enabled()
}

// stdAESType is the type crypto/aes.NewCipher returns.
func stdAESType(t *testing.T) reflect.Type {
	t.Helper()
	b, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	return reflect.TypeOf(b)
}

// checkAESPath fails unless c uses AES-NI when want is set, and exactly
// crypto/aes's block type otherwise.
func checkAESPath(t *testing.T, what string, c *core, want bool) {
	t.Helper()
	if want {
		if c.ni == nil || c.blk != blockEncrypter(c.ni) {
			t.Fatalf("%s: uses %T, want the AES-NI path", what, c.blk)
		}
		return
	}
	if c.ni != nil || reflect.TypeOf(c.blk) != stdAESType(t) {
		t.Fatalf("%s: uses %T (ni %v), want crypto/aes (%v)", what, c.blk, c.ni != nil, stdAESType(t))
	}
}

// TestImplSelection: AES streams use the AES-NI path exactly when it is
// available and allowed, also after ratchet steps; DES, 3DES and streams
// over a caller's cipher.Block never do.
func TestImplSelection(t *testing.T) {
	want := aesniExpected()
	if os.Getenv(implEnv) == implAsm && !want {
		t.Fatalf("%s=%s but the AES-NI path is unavailable (CPU/build has it: %v; FIPS 140 mode: %v)",
			implEnv, implAsm, haveAESNI, fips140.Enabled())
	}
	for _, a := range []Algorithm{AES128, AES256} {
		enc, err := NewEncrypter(a, make([]byte, a.KeySize()), make([]byte, 16), WithRekeyInterval(8))
		if err != nil {
			t.Fatal(err)
		}
		dec, err := NewDecrypter(a, make([]byte, a.KeySize()), make([]byte, 16))
		if err != nil {
			t.Fatal(err)
		}
		checkAESPath(t, a.String()+" encrypter", &enc.core, want)
		checkAESPath(t, a.String()+" decrypter", &dec.core, want)
		buf := make([]byte, 40)
		enc.XORKeyStream(buf, buf)
		if enc.Generation() != 4 {
			t.Fatalf("generation %d", enc.Generation())
		}
		checkAESPath(t, a.String()+" after ratchet steps", &enc.core, want)
	}
	for _, a := range []Algorithm{DES, TripleDES} {
		enc, err := NewEncrypter(a, make([]byte, a.KeySize()), make([]byte, 8))
		if err != nil {
			t.Fatal(err)
		}
		if enc.ni != nil {
			t.Fatalf("%v uses the AES path", a)
		}
	}
	b, _ := aes.NewCipher(make([]byte, 32))
	be, _ := NewBlockEncrypter(b, make([]byte, 16))
	checkAESPath(t, "NewBlockEncrypter", &be.core, false)
	t.Logf("AES streams use the AES-NI path: %v (%s=%q)", want, implEnv, os.Getenv(implEnv))
}

// TestSuiteOnCryptoAES re-runs the whole test binary with the AES-NI path
// off, so every test (KATs, cross-checks, ratchet splits, Writer short
// writes, fuzz seeds) also covers the crypto/aes path used under FIPS 140
// mode and on CPUs without AES-NI.
func TestSuiteOnCryptoAES(t *testing.T) {
	if os.Getenv(implEnv) != "" || os.Getenv(fipsHelperEnv) != "" {
		t.Skip("running as a child with a fixed implementation")
	}
	if !aesniExpected() {
		t.Skip("the AES-NI path is not in use, so this run already covered crypto/aes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-test.run=.", "-test.count=1", "-test.v"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(d).Round(time.Second).String())
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), implEnv+"="+implGo)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("suite with %s=%s failed: %v\n%s", implEnv, implGo, err, out)
	}
	pass := strings.Count(string(out), "--- PASS")
	if !strings.Contains(string(out), "--- PASS: TestImplSelection") || pass < 10 {
		t.Fatalf("child ran %d tests, without TestImplSelection passing:\n%s", pass, out)
	}
	t.Logf("%d tests passed with %s=%s (crypto/aes path)", pass, implEnv, implGo)
}

// TestAESNIMatchesGeneric compares the AES-NI segment loops directly with
// the crypto/aes path for every segment count up to 40 (the decrypter's
// 8-block batches and its tail), random registers, in place and not, and
// checks that nothing beyond the segments is written.
func TestAESNIMatchesGeneric(t *testing.T) {
	if !haveAESNI {
		t.Skip("no AES-NI in this build/CPU")
	}
	r := rand.New(rand.NewPCG(31, 32))
	const guard = 16
	for _, klen := range []int{16, 32} {
		for segs := 1; segs <= 40; segs++ {
			key, reg0 := randBytesInternal(r, klen), [16]byte(randBytesInternal(r, 16))
			std, _ := aes.NewCipher(key)
			ni := newAESNIKey(key)
			in := randBytesInternal(r, 8*segs)
			for _, decrypt := range []bool{false, true} {
				ref := core{blk: std, bs: 16, tail: 8, cursor: cursor{reg: reg0}}
				want := make([]byte, len(in))
				if decrypt {
					ref.decBlocks(want, in)
				} else {
					ref.encBlocks(want, in)
				}
				for _, inPlace := range []bool{false, true} {
					reg := reg0
					buf := append(bytes.Clone(in), bytes.Repeat([]byte{0xa5}, guard)...)
					dst, src := buf, buf
					if !inPlace {
						dst = append(make([]byte, len(in)), bytes.Repeat([]byte{0xa5}, guard)...)
					}
					if decrypt {
						ni.decSegments(&reg, dst[:len(in)], src[:len(in)])
					} else {
						ni.encSegments(&reg, dst[:len(in)], src[:len(in)])
					}
					if !bytes.Equal(dst[:len(in)], want) || reg != ref.reg {
						t.Fatalf("AES-%d decrypt=%v in-place=%v segs=%d: output or register differs from crypto/aes path",
							8*klen, decrypt, inPlace, segs)
					}
					if !bytes.Equal(dst[len(in):], bytes.Repeat([]byte{0xa5}, guard)) {
						t.Fatalf("AES-%d decrypt=%v segs=%d: wrote past the segments", 8*klen, decrypt, segs)
					}
				}
			}
		}
	}
}

// TestRatchetReplacesRoundKeys: on the AES-NI path a ratchet step
// overwrites the round keys in place with the new key's schedule and zeroes
// the old key.
func TestRatchetReplacesRoundKeys(t *testing.T) {
	if !aesniExpected() {
		t.Skip("the AES-NI path is not in use")
	}
	r := rand.New(rand.NewPCG(33, 34))
	for _, a := range []Algorithm{AES128, AES256} {
		enc, err := NewEncrypter(a, randBytesInternal(r, a.KeySize()), make([]byte, 16), WithRekeyInterval(16))
		if err != nil {
			t.Fatal(err)
		}
		ni, oldKey, oldRK := enc.ni, enc.key, enc.ni.rk
		buf := make([]byte, 17)
		enc.XORKeyStream(buf, buf)
		if enc.Generation() != 1 || enc.ni != ni {
			t.Fatalf("%v: generation %d, schedule moved: %v", a, enc.Generation(), enc.ni != ni)
		}
		if !bytes.Equal(oldKey, make([]byte, len(oldKey))) {
			t.Fatalf("%v: old key not zeroed", a)
		}
		var want [aesScheduleLen]byte
		expandAESKey(&want, enc.key)
		if ni.rk != want || ni.rk == oldRK {
			t.Fatalf("%v: round keys are not the new key's schedule", a)
		}
	}
}
