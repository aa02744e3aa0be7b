package cfbstream

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps one of them,
// so callers can test with errors.Is; the struct errors below carry details
// for errors.As.
var (
	// ErrUnsupportedEnctype: the Kerberos enctype has no CFB-64 mapping
	// (rc4-hmac, single DES, camellia, unknown numbers).
	ErrUnsupportedEnctype = errors.New("cfbstream: unsupported enctype")
	// ErrKeySize: a key of the wrong length for its algorithm or enctype.
	ErrKeySize = errors.New("cfbstream: wrong key length")
	// ErrIVSize: an IV whose length is not the cipher's block size.
	ErrIVSize = errors.New("cfbstream: wrong IV length")
	// ErrBlockSize: a cipher.Block whose block size is neither 8 nor 16.
	ErrBlockSize = errors.New("cfbstream: block size must be 8 or 16 bytes")
	// ErrFIPSOnly: the cipher is refused because the program runs with
	// GODEBUG=fips140=only (DES and 3DES are not approved).
	ErrFIPSOnly = errors.New("cfbstream: cipher not allowed in FIPS 140-only mode")
	// ErrRekeyInterval: a rekey interval that is zero or not a multiple of
	// the 8-byte segment.
	ErrRekeyInterval = errors.New("cfbstream: rekey interval must be a positive multiple of 8")
	// ErrKDF: the Kerberos key-derivation function failed or returned a
	// result of the wrong size.
	ErrKDF = errors.New("cfbstream: key derivation failed")
	// ErrArgument: an invalid role, channel or algorithm value.
	ErrArgument = errors.New("cfbstream: invalid argument")
)

// EnctypeError reports a Kerberos enctype that cfbstream cannot map to a
// CFB-64 cipher. It wraps ErrUnsupportedEnctype.
type EnctypeError struct {
	Enctype int32 // the enctype number (RFC 3961 / IANA registry)
}

// Error names the enctype and the ones that are supported.
func (e *EnctypeError) Error() string {
	return fmt.Sprintf("cfbstream: unsupported enctype %d (%s); krx's CFB-64 stream needs aes256/aes128 (17-20) or des3-cbc-sha1-kd (16)",
		e.Enctype, enctypeName(e.Enctype))
}

// Unwrap returns ErrUnsupportedEnctype.
func (e *EnctypeError) Unwrap() error { return ErrUnsupportedEnctype }

// KeySizeError reports a key of the wrong length. It wraps ErrKeySize.
type KeySizeError struct {
	What string // what the key is for, e.g. "aes256-cts-hmac-sha1-96 protocol key"
	Got  int    // length given, bytes
	Want int    // length required, bytes
}

// Error says which key had which length and what was required.
func (e *KeySizeError) Error() string {
	return fmt.Sprintf("cfbstream: %s must be %d bytes, got %d", e.What, e.Want, e.Got)
}

// Unwrap returns ErrKeySize.
func (e *KeySizeError) Unwrap() error { return ErrKeySize }

// FIPSError reports a cipher refused under GODEBUG=fips140=only. It wraps
// ErrFIPSOnly.
type FIPSError struct {
	Algorithm Algorithm // the refused cipher
}

// Error names the refused cipher and the way out.
func (e *FIPSError) Error() string {
	return fmt.Sprintf("cfbstream: %v is not allowed in FIPS 140-only mode (GODEBUG=fips140=only); use an AES enctype (17-20)", e.Algorithm)
}

// Unwrap returns ErrFIPSOnly.
func (e *FIPSError) Unwrap() error { return ErrFIPSOnly }

// KDFError reports a failed Kerberos key derivation. It wraps ErrKDF and,
// through Err, the underlying error (if any).
type KDFError struct {
	Enctype int32
	Usage   uint32 // the key usage number being derived
	Err     error  // underlying error, or nil if the result had the wrong size
	Detail  string // what went wrong, when Err is nil
}

// Error names the enctype, usage and cause.
func (e *KDFError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("cfbstream: key derivation for enctype %d usage %d: %v", e.Enctype, e.Usage, e.Err)
	}
	return fmt.Sprintf("cfbstream: key derivation for enctype %d usage %d: %s", e.Enctype, e.Usage, e.Detail)
}

// Unwrap returns ErrKDF and the underlying error.
func (e *KDFError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrKDF, e.Err}
	}
	return []error{ErrKDF}
}
