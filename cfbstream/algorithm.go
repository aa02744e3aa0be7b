package cfbstream

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/fips140"
	"fmt"
)

// Algorithm is a block cipher that the CFB-64 stream can run on.
type Algorithm uint8

// The supported block ciphers.
const (
	DES       Algorithm = iota + 1 // single DES (FIPS 46-3), 8-byte key, 64-bit block; only for known-answer tests and explicit use
	TripleDES                      // 3DES EDE, 24-byte key, 64-bit block (des3-cbc-sha1-kd)
	AES128                         // AES with a 16-byte key, 128-bit block
	AES256                         // AES with a 32-byte key, 128-bit block
)

// String returns the cipher's name, e.g. "aes256".
func (a Algorithm) String() string {
	switch a {
	case DES:
		return "des"
	case TripleDES:
		return "3des"
	case AES128:
		return "aes128"
	case AES256:
		return "aes256"
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// KeySize returns the key length in bytes (DES and 3DES keys include the
// parity bits), or 0 for an unknown algorithm.
func (a Algorithm) KeySize() int {
	switch a {
	case DES:
		return 8
	case TripleDES:
		return 24
	case AES128:
		return 16
	case AES256:
		return 32
	}
	return 0
}

// BlockSize returns the block (and IV) size in bytes, or 0 for an unknown
// algorithm.
func (a Algorithm) BlockSize() int {
	switch a {
	case DES, TripleDES:
		return 8
	case AES128, AES256:
		return 16
	}
	return 0
}

// DefaultRekeyInterval returns the default key-ratchet interval in bytes
// per direction: 2^30 for the 64-bit block ciphers (the 3DES birthday
// bound), 0 (never) for AES.
func (a Algorithm) DefaultRekeyInterval() uint64 {
	if a.BlockSize() == 8 {
		return DefaultRekeyInterval64
	}
	return 0
}

// DefaultRekeyInterval64 is the default ratchet interval for 64-bit block
// ciphers: 2^30 bytes = 2^27 blocks per key, well below the 2^32-block
// birthday bound of a 64-bit block (Sweet32) — NIST SP 800-67r2 limits a
// 3DES key to 2^20 blocks for some uses; 2^27 keeps the collision
// probability per key below 2^-10.
const DefaultRekeyInterval64 = 1 << 30

// NewBlock returns the block cipher for key. Under GODEBUG=fips140=only DES
// and 3DES return a *FIPSError (never a panic).
func (a Algorithm) NewBlock(key []byte) (cipher.Block, error) {
	if a.KeySize() == 0 {
		return nil, fmt.Errorf("%w: unknown algorithm %d", ErrArgument, uint8(a))
	}
	if len(key) != a.KeySize() {
		return nil, &KeySizeError{What: a.String() + " key", Got: len(key), Want: a.KeySize()}
	}
	if a.BlockSize() == 8 && fips140.Enforced() {
		return nil, &FIPSError{Algorithm: a}
	}
	var (
		b   cipher.Block
		err error
	)
	// Defensive: the standard library returns errors today, but a panic
	// in a future version must not take a daemon down.
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("cfbstream: %v: %v", a, r)
			}
		}()
		switch a {
		case DES:
			b, err = des.NewCipher(key)
		case TripleDES:
			b, err = des.NewTripleDESCipher(key)
		default:
			b, err = aes.NewCipher(key)
		}
	}()
	if err != nil {
		if fips140.Enforced() {
			return nil, &FIPSError{Algorithm: a}
		}
		return nil, fmt.Errorf("cfbstream: %v: %w", a, err)
	}
	return b, nil
}

// setDESParity sets the low bit of every byte so that each byte has odd
// parity, as DES keys require (FIPS 46-3 §"Key"); crypto/des ignores these
// bits, other implementations check them.
func setDESParity(k []byte) {
	for i, b := range k {
		b &^= 1
		p := b ^ b>>4
		p ^= p >> 2
		p ^= p >> 1
		k[i] = b | (^p & 1)
	}
}
