package cfbstream

import (
	"crypto/fips140"
	"encoding/binary"
	"fmt"
)

// KDF is the part of a Kerberos encryption type that key derivation needs.
// gokrb5's etype.EType (github.com/jcmturner/gokrb5/v8/crypto/etype)
// satisfies it structurally, so krbauth can pass crypto.GetEtype(id) and
// cfbstream itself does not import gokrb5.
type KDF interface {
	// GetETypeID returns the enctype number (RFC 3961 registry).
	GetETypeID() int32
	// DeriveKey is RFC 3961 DK(protocolKey, constant) followed by the
	// enctype's random-to-key (RFC 8009 KDF-HMAC-SHA2 for 19 and 20).
	DeriveKey(protocolKey, constant []byte) ([]byte, error)
}

// Kerberos enctype numbers that cfbstream maps (RFC 3961 §8, RFC 3962,
// RFC 8009; IANA "Kerberos Encryption Type Numbers").
const (
	EnctypeDES3CBCSHA1KD          int32 = 16 // des3-cbc-sha1-kd, RFC 3961 §6.3
	EnctypeAES128CTSHMACSHA196    int32 = 17 // aes128-cts-hmac-sha1-96, RFC 3962
	EnctypeAES256CTSHMACSHA196    int32 = 18 // aes256-cts-hmac-sha1-96, RFC 3962
	EnctypeAES128CTSHMACSHA256128 int32 = 19 // aes128-cts-hmac-sha256-128, RFC 8009
	EnctypeAES256CTSHMACSHA384192 int32 = 20 // aes256-cts-hmac-sha384-192, RFC 8009
)

// enctypeInfo is cfbstream's own table; it does not trust the KDF's
// GetKeyByteSize (gokrb5 v8.4.4 reports 24 for enctype 20, which has
// 32-byte keys).
var enctypeInfo = map[int32]struct {
	name   string
	keyLen int // protocol key length, bytes
	alg    Algorithm
}{
	EnctypeDES3CBCSHA1KD:          {"des3-cbc-sha1-kd", 24, TripleDES},
	EnctypeAES128CTSHMACSHA196:    {"aes128-cts-hmac-sha1-96", 16, AES128},
	EnctypeAES256CTSHMACSHA196:    {"aes256-cts-hmac-sha1-96", 32, AES256},
	EnctypeAES128CTSHMACSHA256128: {"aes128-cts-hmac-sha256-128", 16, AES128},
	EnctypeAES256CTSHMACSHA384192: {"aes256-cts-hmac-sha384-192", 32, AES256},
}

// Names of enctypes that are refused, for error messages (IANA registry).
var otherEnctypeNames = map[int32]string{
	1: "des-cbc-crc", 2: "des-cbc-md4", 3: "des-cbc-md5", 5: "des3-cbc-md5",
	7: "des3-cbc-sha1", 23: "rc4-hmac", 24: "rc4-hmac-exp",
	25: "camellia128-cts-cmac", 26: "camellia256-cts-cmac",
}

func enctypeName(id int32) string {
	if e, ok := enctypeInfo[id]; ok {
		return e.name
	}
	if n, ok := otherEnctypeNames[id]; ok {
		return n
	}
	return "unknown"
}

// EnctypeAlgorithm returns the CFB-64 cipher for a Kerberos enctype, or an
// *EnctypeError.
func EnctypeAlgorithm(enctype int32) (Algorithm, error) {
	e, ok := enctypeInfo[enctype]
	if !ok {
		return 0, &EnctypeError{Enctype: enctype}
	}
	return e.alg, nil
}

// Role says which end of the connection a program is.
type Role uint8

// The two roles.
const (
	Client Role = iota + 1 // rlogin, rsh, rcp: sends client→server
	Server                 // rlogind: sends server→client
)

// String returns "client" or "server".
func (r Role) String() string {
	switch r {
	case Client:
		return "client"
	case Server:
		return "server"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Channel is one TCP connection of a session.
type Channel uint8

// The channels.
const (
	Main   Channel = iota + 1 // the rlogin/rsh connection itself
	Stderr                    // rsh's secondary (stderr) connection
)

// String returns "main" or "stderr".
func (ch Channel) String() string {
	switch ch {
	case Main:
		return "main"
	case Stderr:
		return "stderr"
	}
	return fmt.Sprintf("Channel(%d)", uint8(ch))
}

// direction is the way bytes flow; each direction of each channel has its
// own key and IV.
type direction uint8

// The directions.
const (
	clientToServer direction = iota + 1
	serverToClient
)

// String names the direction, e.g. "client→server".
func (d direction) String() string {
	switch d {
	case clientToServer:
		return "client→server"
	case serverToClient:
		return "server→client"
	}
	return fmt.Sprintf("direction(%d)", uint8(d))
}

// Key usage numbers of krx's CFB-64 stream (the table is in doc.go). They
// lie in RFC 4120 §7.5.1's application range 1024–2047, clear of MIT
// kcmd's 1026–1034.
const (
	UsageKeyC2SMain   uint32 = 1104 // key, client→server, main
	UsageIVC2SMain    uint32 = 1105 // IV, client→server, main
	UsageKeyS2CMain   uint32 = 1106 // key, server→client, main
	UsageIVS2CMain    uint32 = 1107 // IV, server→client, main
	UsageKeyC2SStderr uint32 = 1108 // key, client→server, rsh stderr
	UsageIVC2SStderr  uint32 = 1109 // IV, client→server, rsh stderr
	UsageKeyS2CStderr uint32 = 1110 // key, server→client, rsh stderr
	UsageIVS2CStderr  uint32 = 1111 // IV, server→client, rsh stderr
)

// usages returns the key and IV usage numbers for a direction and channel.
func usages(d direction, ch Channel) (key, iv uint32, err error) {
	switch {
	case d == clientToServer && ch == Main:
		return UsageKeyC2SMain, UsageIVC2SMain, nil
	case d == serverToClient && ch == Main:
		return UsageKeyS2CMain, UsageIVS2CMain, nil
	case d == clientToServer && ch == Stderr:
		return UsageKeyC2SStderr, UsageIVC2SStderr, nil
	case d == serverToClient && ch == Stderr:
		return UsageKeyS2CStderr, UsageIVS2CStderr, nil
	}
	return 0, 0, fmt.Errorf("%w: direction %v, channel %v", ErrArgument, d, ch)
}

// usageConstant is RFC 3961 §5.3's derivation constant for an encryption
// key: the usage number big-endian followed by 0xAA. (With 0xAA, RFC 8009's
// aes256-cts-hmac-sha384-192 derives a 256-bit key; with 0x55 or 0x99 it
// would be 192 bits.)
func usageConstant(u uint32) []byte {
	return append(binary.BigEndian.AppendUint32(nil, u), 0xAA)
}

// derived is the key and IV of one direction of one channel.
type derived struct {
	alg     Algorithm
	key, iv []byte
}

// derive computes the key and IV of direction d on channel ch.
func derive(kdf KDF, protocolKey []byte, d direction, ch Channel) (derived, error) {
	var out derived
	if kdf == nil {
		return out, fmt.Errorf("%w: nil KDF", ErrArgument)
	}
	id := kdf.GetETypeID()
	info, ok := enctypeInfo[id]
	if !ok {
		return out, &EnctypeError{Enctype: id}
	}
	if len(protocolKey) != info.keyLen {
		return out, &KeySizeError{What: info.name + " protocol key", Got: len(protocolKey), Want: info.keyLen}
	}
	if info.alg.BlockSize() == 8 && fips140.Enforced() {
		// Checked first: gokrb5's des3 derivation would fail inside
		// crypto/des with a less clear message.
		return out, &FIPSError{Algorithm: info.alg}
	}
	ku, ivu, err := usages(d, ch)
	if err != nil {
		return out, err
	}
	key, err := callKDF(kdf, protocolKey, ku)
	if err != nil {
		return out, err
	}
	if len(key) != info.alg.KeySize() {
		return out, &KDFError{Enctype: id, Usage: ku, Detail: fmt.Sprintf("key is %d bytes, want %d", len(key), info.alg.KeySize())}
	}
	ivFull, err := callKDF(kdf, protocolKey, ivu)
	if err != nil {
		return out, err
	}
	bs := info.alg.BlockSize()
	if len(ivFull) < bs {
		return out, &KDFError{Enctype: id, Usage: ivu, Detail: fmt.Sprintf("IV output is %d bytes, want at least %d", len(ivFull), bs)}
	}
	out.alg, out.key, out.iv = info.alg, key, append([]byte(nil), ivFull[:bs]...)
	clear(ivFull)
	return out, nil
}

// callKDF runs kdf.DeriveKey and turns a panic in it into an error.
func callKDF(kdf KDF, protocolKey []byte, usage uint32) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &KDFError{Enctype: kdf.GetETypeID(), Usage: usage, Err: fmt.Errorf("panic: %v", r)}
		}
	}()
	out, err = kdf.DeriveKey(protocolKey, usageConstant(usage))
	if err != nil {
		return nil, &KDFError{Enctype: kdf.GetETypeID(), Usage: usage, Err: err}
	}
	return out, nil
}

// NewPair derives, from a Kerberos protocol key (krx: the AP-REQ subkey) of
// the enctype that kdf implements, the two streams that role uses on
// channel ch: the Encrypter for the direction role sends and the
// Decrypter for the direction it receives. A client gets the client→server
// Encrypter and the server→client Decrypter; a server the opposite. There
// is no way to obtain an Encrypter for the direction one receives, so a key
// cannot be used in the wrong direction.
func NewPair(kdf KDF, protocolKey []byte, role Role, ch Channel, opts ...Option) (*Encrypter, *Decrypter, error) {
	var send, recv direction
	switch role {
	case Client:
		send, recv = clientToServer, serverToClient
	case Server:
		send, recv = serverToClient, clientToServer
	default:
		return nil, nil, fmt.Errorf("%w: role %v", ErrArgument, role)
	}
	s, err := derive(kdf, protocolKey, send, ch)
	if err != nil {
		return nil, nil, err
	}
	defer clear(s.key)
	r, err := derive(kdf, protocolKey, recv, ch)
	if err != nil {
		return nil, nil, err
	}
	defer clear(r.key)
	enc, err := NewEncrypter(s.alg, s.key, s.iv, opts...)
	if err != nil {
		return nil, nil, err
	}
	dec, err := NewDecrypter(r.alg, r.key, r.iv, opts...)
	if err != nil {
		return nil, nil, err
	}
	return enc, dec, nil
}
