// Command demo is what `make demo` runs until the encrypted rlogin/rsh
// sessions land: it starts a throwaway MIT realm on loopback
// (internal/krbtest), gets alice a TGT with MIT kinit, authenticates her to
// host/localhost over a real loopback TCP connection with krbauth's
// sendauth/recvauth (AP-REQ with a fresh subkey, checksum binding, verified
// AP-REP, replay cache), derives the CFB-64 keys of both directions from the
// subkey with cfbstream, and exchanges encrypted lines — printing what
// crossed the wire and how much of it matches the plaintext. It stops the
// KDC and removes every file it made.
package main
