// Command demo is what `make demo` runs (scripts/demo.sh, after make
// build): krx's encrypted rsh, rcp and rlogin sessions end to end, on
// loopback, for a person to watch.
//
// It starts a throwaway MIT realm (internal/krbtest) with a principal named
// after the user running it, gets that user a TGT with MIT kinit, and starts
// the built rlogind (-bin) serving only the krx login and shell services on
// 127.0.0.1, with the realm's keytab. In front of each service it puts a
// counting TCP relay on 127.0.0.2 at the same port (the krx checksum binds
// the server port the client dialled); the relay reaches rlogind from
// 127.0.0.3 and, having read the client's stderr-port field (in clear,
// docs/protocol.md §3), listens there for the server's stderr connection,
// so every byte of every channel crosses the relay and is recorded.
//
// Then it runs `rsh -x` of a command (stdout and the stderr channel), an
// `rcp -x` round trip of a generated file of marker text (SHA-256
// compared; the remote shell runs the built rcp, --remote-rcp, because
// netkit's `rcp -t` writes its acknowledgements to descriptor 0, a pipe in
// an encrypted session), and, when stdin is a terminal (or -interactive
// yes), an interactive `rlogin -x`. At
// the end it stops rlogind (SIGTERM), the relays and the KDC, removes its
// files, and prints the capture: bytes relayed each way, the Kerberos
// handshake's clear-by-design strings (proof the capture sees the wire),
// how often each plaintext string of the session appears on the wire —
// which must be never — and the share of printable bytes in the rcp upload
// (the file is all text; ciphertext is printable like random bytes, about
// 37.5 %). Any failed step, or plaintext on the wire, exits 1
// with the reason; ^C, SIGTERM and SIGHUP stop everything it started.
//
// rlogind starts sessions as the authenticated user, which needs root; the
// demo says so and exits 1 when not run as root.
package main
