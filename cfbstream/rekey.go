package cfbstream

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
)

// rekeyLabel is the HKDF info prefix of the key ratchet (krx's own
// constant, documented in doc.go).
const rekeyLabel = "krx cfbstream rekey"

// Option configures a stream made by NewEncrypter, NewDecrypter or NewPair.
type Option func(*options) error

type options struct {
	interval    uint64
	intervalSet bool
}

// WithRekeyInterval sets the key-ratchet interval: the key is replaced at
// byte offsets n, 2n, 3n, … of the direction. n must be a positive multiple
// of 8 (the ratchet happens at a segment boundary). Without this option
// 64-bit block ciphers ratchet every 2^30 bytes and AES never does; the
// option turns the ratchet on for AES too. Both ends must use the same n.
func WithRekeyInterval(n uint64) Option {
	return func(o *options) error {
		if n == 0 || n%SegmentSize != 0 {
			return fmt.Errorf("%w: got %d", ErrRekeyInterval, n)
		}
		o.interval, o.intervalSet = n, true
		return nil
	}
}

func applyOptions(alg Algorithm, opts []Option) (options, error) {
	o := options{interval: alg.DefaultRekeyInterval()}
	for _, f := range opts {
		if f == nil {
			continue
		}
		if err := f(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// newCore makes the state for alg with key and iv.
func newCore(alg Algorithm, key, iv []byte, opts []Option) (core, error) {
	var c core
	o, err := applyOptions(alg, opts)
	if err != nil {
		return c, err
	}
	b, ni, err := newStreamBlock(alg, key)
	if err != nil {
		return c, err
	}
	if err := c.init(b, iv); err != nil {
		return c, err
	}
	c.alg, c.ni = alg, ni
	c.key = append([]byte(nil), key...)
	if o.interval != 0 {
		// HKDF needs a key of at least 112 bits under fips140=only; only
		// single DES has less, and NewBlock refuses DES in that mode.
		c.step, c.next = o.interval, o.interval
	}
	return c, nil
}

// newStreamBlock returns the block cipher a stream uses for alg and key:
// the AES-NI key schedule (also returned as ni) when useAESNI says so,
// otherwise alg.NewBlock (crypto/aes, crypto/des).
func newStreamBlock(alg Algorithm, key []byte) (b blockEncrypter, ni *aesniKey, err error) {
	if !useAESNI(alg) {
		blk, err := alg.NewBlock(key)
		return blk, nil, err
	}
	if len(key) != alg.KeySize() {
		return nil, nil, &KeySizeError{What: alg.String() + " key", Got: len(key), Want: alg.KeySize()}
	}
	ni = newAESNIKey(key)
	return ni, ni, nil
}

// nextKey computes generation gen's key from the previous one:
//
//	K[gen] = HKDF-Expand(SHA-256, PRK = K[gen-1],
//	                     info = "krx cfbstream rekey" || 0x00 || uint64be(gen),
//	                     L = len(K[gen-1]))
//
// followed, for DES and 3DES, by setting odd parity in every byte.
func nextKey(alg Algorithm, prev []byte, gen uint64) ([]byte, error) {
	info := make([]byte, 0, len(rekeyLabel)+9)
	info = append(info, rekeyLabel...)
	info = append(info, 0)
	info = binary.BigEndian.AppendUint64(info, gen)
	k, err := hkdf.Expand(sha256.New, prev, string(info), len(prev))
	if err != nil {
		return nil, err
	}
	if alg.BlockSize() == 8 {
		setDESParity(k)
	}
	return k, nil
}

// rekey takes one ratchet step. It runs at a segment boundary, before the
// keystream of the segment at offset c.next is computed; the register is
// kept, only the key changes. On the AES-NI path the new schedule
// overwrites the old one in place.
func (c *core) rekey() {
	k, err := nextKey(c.alg, c.key, c.gen+1)
	if err == nil {
		if c.ni != nil {
			c.ni.setKey(k)
		} else {
			c.blk, err = c.alg.NewBlock(k)
		}
	}
	if err != nil {
		// Unreachable: HKDF-SHA-256 fails only for keys under 112 bits in
		// FIPS 140-only mode, and NewBlock refused DES/3DES there when the
		// stream was made; the key length never changes.
		panic("cfbstream: internal error: key ratchet: " + err.Error())
	}
	clear(c.key)
	c.key = k
	c.gen++
	if c.next > math.MaxUint64-c.step {
		c.next = math.MaxUint64
	} else {
		c.next += c.step
	}
}

// NewEncrypter returns an Encrypter for alg with the given key and IV
// (iv is one block: 8 bytes for DES/3DES, 16 for AES). The key ratchets as
// described in the package documentation.
func NewEncrypter(alg Algorithm, key, iv []byte, opts ...Option) (*Encrypter, error) {
	c, err := newCore(alg, key, iv, opts)
	if err != nil {
		return nil, err
	}
	return &Encrypter{c}, nil
}

// NewDecrypter returns a Decrypter for alg with the given key and IV; see
// NewEncrypter.
func NewDecrypter(alg Algorithm, key, iv []byte, opts ...Option) (*Decrypter, error) {
	c, err := newCore(alg, key, iv, opts)
	if err != nil {
		return nil, err
	}
	return &Decrypter{c}, nil
}

// NewBlockEncrypter returns an Encrypter over any cipher.Block with an 8- or
// 16-byte block. It never ratchets the key (cfbstream cannot make a new
// Block of an unknown kind); use NewEncrypter for that.
func NewBlockEncrypter(b cipher.Block, iv []byte) (*Encrypter, error) {
	e := new(Encrypter)
	if err := e.init(b, iv); err != nil {
		return nil, err
	}
	return e, nil
}

// NewBlockDecrypter returns a Decrypter over any cipher.Block with an 8- or
// 16-byte block; see NewBlockEncrypter.
func NewBlockDecrypter(b cipher.Block, iv []byte) (*Decrypter, error) {
	d := new(Decrypter)
	if err := d.init(b, iv); err != nil {
		return nil, err
	}
	return d, nil
}
