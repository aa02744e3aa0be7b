package krbauth

import "testing"

// TestKRBCredEveryEnctype: a KRB-CRED encrypted with a subkey of each
// enctype krx accepts is read back. des3-cbc-sha1-kd pads its plaintext
// with zeros to 8 bytes, which the EncKrbCredPart parser must ignore
// (it refused every des3 KRB-CRED before).
func TestKRBCredEveryEnctype(t *testing.T) {
	r := fwdStartRealm(t)
	fc := fwdForwarded(t, r, "alice", false)
	for _, et := range []int32{16, 17, 18, 19, 20} {
		t.Run(EnctypeName(et), func(t *testing.T) {
			key, err := NewRandomKey(et)
			if err != nil {
				t.Fatal(err)
			}
			der, err := BuildKRBCred(fc, key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := AcceptKRBCred(der, []Key{key}, "alice@"+r.Name, 0)
			if err != nil {
				t.Fatalf("AcceptKRBCred with a %s key: %v", EnctypeName(et), err)
			}
			if got.ClientPrincipal() != "alice@"+r.Name {
				t.Fatalf("client %s", got.ClientPrincipal())
			}
		})
	}
}

// TestTrimPaddingKeepsGarbage: only zero bytes after a complete element
// are dropped, never other trailing bytes.
func TestTrimPaddingKeepsGarbage(t *testing.T) {
	elem := []byte{0x7d, 0x03, 0x30, 0x01, 0x05} // [APPLICATION 29] { SEQUENCE … }
	for _, tc := range []struct {
		in   []byte
		want int
	}{
		{append(append([]byte{}, elem...), 0, 0, 0), len(elem)},
		{append(append([]byte{}, elem...), 0, 1, 0), len(elem) + 3},
		{append(append([]byte{}, elem...), make([]byte, 8)...), len(elem) + 8},
		{elem, len(elem)},
	} {
		if got := len(fwdTrimPadding(tc.in)); got != tc.want {
			t.Errorf("fwdTrimPadding(% x) kept %d bytes, want %d", tc.in, got, tc.want)
		}
	}
}
