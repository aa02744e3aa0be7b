package krbauth

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzK5login checks the .k5login line matcher against a naive split and
// the principal-name parser against its own unparser; neither may panic.
func FuzzK5login(f *testing.F) {
	f.Add([]byte("alice@KRX.TEST\n"), "alice@KRX.TEST")
	f.Add([]byte("bob@R\n\n alice@R\r\nalice@R"), "alice@R")
	f.Add([]byte("\x00\xff\n\n"), `a\/b/c\@d@R\@S`)
	f.Add([]byte(strings.Repeat("x", 9000)+"\nq"), `t\tn\0\\@R`)
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, data []byte, princ string) {
		n := K5loginMatch(data, princ)
		lines := bytes.Split(data, []byte("\n"))
		want := 0
		for i, l := range lines {
			if princ != "" && string(l) == princ {
				want = i + 1
				break
			}
		}
		if n != want {
			t.Fatalf("K5loginMatch(%q, %q) = %d, naive %d", data, princ, n, want)
		}
		comps, realm, err := k5ParsePrincipal(princ)
		if err != nil {
			return
		}
		text := UnparsePrincipalName(comps, realm)
		comps2, realm2, err := k5ParsePrincipal(text)
		if err != nil || realm2 != realm || len(comps2) != len(comps) {
			t.Fatalf("round trip of %q via %q: %q %q %v", princ, text, comps2, realm2, err)
		}
		for i := range comps {
			if comps[i] != comps2[i] {
				t.Fatalf("round trip of %q via %q: component %d %q != %q", princ, text, i, comps2[i], comps[i])
			}
		}
		if UnparsePrincipalName(comps2, realm2) != text {
			t.Fatalf("unparse not stable for %q", princ)
		}
	})
}
