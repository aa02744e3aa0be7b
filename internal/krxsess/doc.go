// Package krxsess runs krx's encrypted sessions over real TCP
// (docs/protocol.md): the kcmd-style envelope with KRXCFB01, then one
// continuous CFB-64 stream per direction and channel (cfbstream), with
// SO_OOBINLINE so an urgent byte never leaves the stream (oob).
//
// # Client (rlogin -x, rsh -x, rcp -x)
//
//	st, _ := krbClient.ServiceTicket(host, realm)
//	s, err := krxsess.Dial(ctx, addr, krxsess.ClientConfig{Service: krxproto.Login,
//		ServerUser: "alice", ClientUser: "alice", Payload: "xterm/38400", Ticket: st})
//	// login: s.CopyOutput(OutputOptions{Terminal: os.Stdout, OnCommand: …}) in one
//	// goroutine, keystrokes through s.Input(), window sizes with s.SendWindow.
//	// shell: s.Read / s.Write / s.CloseWrite; with Stderr, s.AcceptStderr;
//	// bulk stdin through s.ReadFrom (pipelined read/encrypt/send).
//
// Handshake (Dial without the dialling) sets SO_OOBINLINE before the first
// read, sends the stderr-port field, runs sendauth with KRXCFB01 and a keyed
// authenticator checksum over the binding data (krxproto.Binding), checks
// that the AP-REP echoes our subkey or none, derives the client's pair
// from the subkey, sends the strings and the forwarded TGT encrypted and
// reads the encrypted status. A server that refuses the version (02),
// answers in clear or closes gives a *LegacyServerError that names the
// --legacy flag (not implemented yet); a refusal a *krxproto.StatusError.
//
// # Server (rlogind)
//
//	a, err := krxsess.Authenticate(conn, krxsess.ServerConfig{Acceptor: ac, Service: krxproto.Login, Prog: "rlogind"})
//	if !a.IsKRX() { /* a KCMDV0.x version the caller accepted: legacy framing */ }
//	s, err := a.Start()          // strings, credentials, binding verified
//	// authorise s.Principal for s.Params.ServerUser, then s.Accept() or s.Refuse(msg)
//	// login: s.Output() for pty output, s.SendControl(c), s.Input(onWindow) for keystrokes.
//	// shell: s.Read / s.Write; s.DialStderr(ctx) when s.StderrPort != 0.
//
// Start requires the AP-REQ subkey and a keyed checksum that matches the
// binding rebuilt from what arrived encrypted (its own getsockname port);
// otherwise it logs why, sends an encrypted refusal and returns a
// *BindingError.
//
// # Keys by construction
//
// A ClientSession holds only the client→server Encrypter and the
// server→client Decrypter of the main channel, a ServerSession the
// opposite (cfbstream.NewPair); neither exposes them. Every session has a
// fresh subkey, so two sessions never share a keystream; the stderr
// channel uses its own pair (usages 1108–1111), derived when it is set up.
//
// # Login data phase
//
// Server→client: pty output with FF escaped, control commands FF 'C' x
// (krxproto). SendControl sends the last byte of a flush command with
// MSG_OOB (the encrypted byte, after every earlier byte, under the same
// lock as Output's writes); other commands travel in-band only. The daemon
// itself drops pty output it has not yet written before it sends a flush.
// CopyOutput is the client's reader: oob.Reader → decrypt in order →
// OutputDecoder → oob.Chain to the terminal; an urgent hint holds the
// chain until the reader is at the mark and the command there has been
// decoded; a flush drops the chain up to the command's data offset. The
// in-band command is the truth: creep-in (a mark overtaken by a newer one)
// and URG-stripping middleboxes cost only the early hold.
//
// Client→server: keystrokes with FF escaped and FF 'W' window sizes
// (Input, SendWindow); the server's Input reader returns the keystrokes and
// calls back with window sizes. No urgent data flows client→server.
//
// # Integrity
//
// CFB has no integrity: a flipped ciphertext bit flips the same plaintext
// bit and garbles the following one (3DES) or two (AES) 8-byte segments;
// the stream then recovers. Tampering with the envelope is detected
// (Kerberos integrity on the AP-REQ/AP-REP, the checksum binding over the
// encrypted strings, the status tag); tampering in the data phase is not.
// An authenticated mode is future work with its own application version.
package krxsess
