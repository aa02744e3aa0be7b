// Package cfbstream is krx's 64-bit CFB stream cipher (NIST SP 800-38A
// CFB-s with s = 64). Details of the construction, key derivation, usage
// numbers, the key ratchet and FIPS behaviour are documented here as the
// package grows. It never imports net.
package cfbstream
