package krbauth

import (
	"crypto/rand"
	"fmt"
	"math/bits"
	"strings"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Key is a Kerberos key: its enctype number (RFC 3961/8009 registry) and
// the key bytes. The zero Key (Type 0) means "no key".
type Key struct {
	Type  int32
	Value []byte
}

// IsZero reports whether k is the "no key" value.
func (k Key) IsZero() bool { return k.Type == 0 && len(k.Value) == 0 }

// EType returns gokrb5's implementation of k's enctype; cfbstream uses it
// (structurally) for key derivation.
func (k Key) EType() (etype.EType, error) {
	et, err := crypto.GetEtype(k.Type)
	if err != nil {
		return nil, fmt.Errorf("krbauth: enctype %d: %w", k.Type, err)
	}
	return et, nil
}

// String names the enctype and length, never the key bytes.
func (k Key) String() string {
	if k.IsZero() {
		return "no key"
	}
	return fmt.Sprintf("%s key (%d bytes)", EnctypeName(k.Type), len(k.Value))
}

func (k Key) gokrb5() types.EncryptionKey {
	return types.EncryptionKey{KeyType: k.Type, KeyValue: k.Value}
}

func keyFrom(ek types.EncryptionKey) Key {
	if ek.KeyType == 0 && len(ek.KeyValue) == 0 {
		return Key{}
	}
	return Key{Type: ek.KeyType, Value: append([]byte(nil), ek.KeyValue...)}
}

// EnctypeName is MIT's name for an enctype number (des3 as
// "des3-cbc-sha1-kd", the name both MIT and gokrb5 map to 16).
func EnctypeName(t int32) string {
	switch t {
	case etypeID.AES256_CTS_HMAC_SHA1_96:
		return "aes256-cts-hmac-sha1-96"
	case etypeID.AES128_CTS_HMAC_SHA1_96:
		return "aes128-cts-hmac-sha1-96"
	case etypeID.AES128_CTS_HMAC_SHA256_128:
		return "aes128-cts-hmac-sha256-128"
	case etypeID.AES256_CTS_HMAC_SHA384_192:
		return "aes256-cts-hmac-sha384-192"
	case etypeID.DES3_CBC_SHA1_KD:
		return "des3-cbc-sha1-kd"
	case etypeID.RC4_HMAC:
		return "arcfour-hmac"
	}
	return fmt.Sprintf("enctype-%d", t)
}

// keyLength is the protocol key length of an enctype. gokrb5 v8.4.4's
// GetKeyByteSize is wrong for aes256-sha384 (24 instead of 32, RFC 8009 §5).
func keyLength(et etype.EType) int {
	if et.GetETypeID() == etypeID.AES256_CTS_HMAC_SHA384_192 {
		return 32
	}
	return et.GetKeyByteSize()
}

// NewRandomKey makes a fresh random key of enctype t that is valid for that
// enctype (RFC 3961 random-to-key applied: des3 keys have odd parity).
func NewRandomKey(t int32) (Key, error) {
	et, err := crypto.GetEtype(t)
	if err != nil {
		return Key{}, fmt.Errorf("krbauth: cannot make a subkey of enctype %d: %w", t, err)
	}
	switch t {
	case etypeID.DES3_CBC_SHA1_KD:
		seed := make([]byte, 21)
		if _, err := rand.Read(seed); err != nil {
			return Key{}, err
		}
		return Key{Type: t, Value: des3RandomToKey(seed)}, nil
	case etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96,
		etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192, etypeID.RC4_HMAC:
		// random-to-key is the identity for AES (RFC 3962 §6, RFC 8009 §5)
		// and RC4 (RFC 4757).
		v := make([]byte, keyLength(et))
		if _, err := rand.Read(v); err != nil {
			return Key{}, err
		}
		return Key{Type: t, Value: v}, nil
	}
	return Key{}, fmt.Errorf("krbauth: no random-to-key for enctype %s", EnctypeName(t))
}

// des3RandomToKey implements RFC 3961 §6.3.1 random-to-key: 21 random bytes
// become three DES keys; in each group of 7 bytes the low bits move to the
// eighth byte (bits 1..7) and every byte gets odd parity in bit 0 (the same
// layout as MIT's k5_rand2key_des3).
func des3RandomToKey(seed []byte) []byte {
	out := make([]byte, 24)
	for i := 0; i < 3; i++ {
		in := seed[i*7 : i*7+7]
		o := out[i*8 : i*8+8]
		copy(o, in)
		var last byte
		for j := 0; j < 7; j++ {
			last |= (in[j] & 1) << (j + 1)
		}
		o[7] = last
		for j := range o {
			o[j] = setOddParity(o[j])
		}
	}
	return out
}

// setOddParity sets bit 0 so the byte has an odd number of one bits.
func setOddParity(b byte) byte {
	b &^= 1
	if bits.OnesCount8(b)%2 == 0 {
		b |= 1
	}
	return b
}

// splitPrincipal parses "a/b@REALM" (no escapes) into a gokrb5 name and realm.
func splitPrincipal(s string) (types.PrincipalName, string) {
	name, realm := s, ""
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		name, realm = s[:i], s[i+1:]
	}
	nt := int32(nametype.KRB_NT_PRINCIPAL)
	if strings.Contains(name, "/") {
		nt = nametype.KRB_NT_SRV_HST
	}
	return types.PrincipalName{NameType: nt, NameString: strings.Split(name, "/")}, realm
}

// principalString formats name@realm.
func principalString(pn types.PrincipalName, realm string) string {
	s := strings.Join(pn.NameString, "/")
	if realm != "" {
		s += "@" + realm
	}
	return s
}
