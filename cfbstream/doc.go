// Package cfbstream is krx's encrypted byte stream: CFB with a 64-bit
// feedback segment (NIST SP 800-38A CFB-s, s = 64) over DES, 3DES,
// AES-128 or AES-256, one stream per direction, with Kerberos key
// derivation and a deterministic key ratchet. It never imports net.
//
// # The mode
//
// With block cipher E_K of block size b (64 or 128 bits), IV I_1 = IV and
// plaintext segments P_1, P_2, … of 64 bits:
//
//	O_j     = E_K(I_j)
//	C_j     = P_j ⊕ MSB_64(O_j)
//	I_{j+1} = LSB_{b-64}(I_j) ‖ C_j
//
// For DES and 3DES (b = 64) that is full-block CFB as in FIPS 81
// (I_{j+1} = C_j); for AES the 128-bit register keeps its right half and
// takes the new 64 ciphertext bits. Decryption computes the same O_j from
// the ciphertext and XORs. The stream is byte-granular: every byte passed to
// XORKeyStream is en- or decrypted at once; a partial segment carries over
// to the next call, and the block cipher runs once per 8 bytes. There is no
// length and no padding: ciphertext length = plaintext length, so a single
// byte (an urgent control byte sent with MSG_OOB) can be encrypted and sent
// on its own without the stream losing step. A damaged ciphertext byte
// garbles its own byte and the following 8 (3DES) or 16 (AES) bytes only.
// CFB is not authenticated: integrity is not this package's job.
//
// # API
//
// NewPair derives a session's streams from a Kerberos key: it takes the
// caller's Role and a Channel and returns the Encrypter for the direction
// that role sends and the Decrypter for the direction it receives, so a key
// can never be used in the wrong direction. NewEncrypter and NewDecrypter
// take an explicit Algorithm, key and IV; NewBlockEncrypter and
// NewBlockDecrypter run over any cipher.Block with an 8- or 16-byte block
// (without ratchet). Encrypter and Decrypter implement cipher.Stream.
// Writer wraps an io.Writer (encrypt, then write) and Reader an io.Reader
// (read, then decrypt in place). After Writer.Write returns n, the
// Encrypter has advanced by exactly n bytes and the Writer holds no unsent
// ciphertext — a short write or error rewinds the stream state to the bytes
// the underlying writer accepted — so the caller may retry the rest, and
// may use the Encrypter directly between Writes (for an urgent byte).
// Steady-state calls allocate nothing.
//
// CopyEncrypted is the bulk path (rsh -x stdin, kshelld stdout): a
// pipeline in which reading the source, encrypting (one goroutine, in
// order) and writing the ciphertext overlap, over a bounded pool of
// buffers. On success the invariant holds (Encrypter offset = bytes the
// writer accepted). On an error it does not: ciphertext encrypted but not
// yet written exists only inside the pipeline and is dropped, so the
// stream is out of step and the session must end — which every error on
// a krx channel does anyway.
//
// # Key derivation
//
// Keys come from a Kerberos protocol key (krx: the client's AP-REQ subkey)
// through the enctype's own RFC 3961 key derivation, via the KDF interface
// (which gokrb5's etype.EType satisfies; krbauth passes
// crypto.GetEtype(enctype)). For direction d and channel c with usage
// numbers Uk (key) and Uiv (IV) from the table below:
//
//	key = DK(K, uint32be(Uk)  ‖ 0xAA)                  (KDF.DeriveKey)
//	IV  = first block-size bytes of DK(K, uint32be(Uiv) ‖ 0xAA)
//
// DK(K, u ‖ 0xAA) is exactly the encryption key Ke that RFC 3961 §5.3
// (RFC 8009 §5 for enctypes 19 and 20) defines for usage u, so any Kerberos
// library computes the same bytes. DeriveKey is used for the IV as well
// because gokrb5 v8.4.4's DeriveRandom is wrong for RFC 8009 enctypes (it
// returns 4 or 6 bytes); the IV need not be secret, only unpredictable and
// unique per key, and each key is unique per session and direction. For 3DES
// the derived IV has DES parity applied, leaving 56 unpredictable bits;
// that is enough for an IV under a fresh key. With the 0xAA constant,
// aes256-cts-hmac-sha384-192 derives a 256-bit key (0x55/0x99 would give
// 192 bits).
//
// Enctypes and ciphers:
//
//	enctype                          protocol key   stream cipher
//	16 des3-cbc-sha1-kd              24 bytes       3DES (key with DES parity)
//	17 aes128-cts-hmac-sha1-96       16 bytes       AES-128
//	18 aes256-cts-hmac-sha1-96       32 bytes       AES-256
//	19 aes128-cts-hmac-sha256-128    16 bytes       AES-128
//	20 aes256-cts-hmac-sha384-192    32 bytes       AES-256
//
// Any other enctype (des-cbc-*, rc4-hmac, camellia, unknown numbers) gives an
// *EnctypeError ("cfbstream: unsupported enctype …"). Protocol key lengths
// come from this table, not from the KDF (gokrb5 v8.4.4 reports 24 bytes
// for enctype 20).
//
// Key usage numbers. RFC 4120 §7.5.1 reserves 1024–2047 for applications;
// MIT's kcmd (krlogin/krsh) uses 1026–1034. krx uses:
//
//	usage  purpose   direction        channel
//	1104   key       client→server    main
//	1105   IV        client→server    main
//	1106   key       server→client    main
//	1107   IV        server→client    main
//	1108   key       client→server    rsh stderr
//	1109   IV        client→server    rsh stderr
//	1110   key       server→client    rsh stderr
//	1111   IV        server→client    rsh stderr
//
// # Key ratchet
//
// A 64-bit block cipher should not encrypt more than about 2^32 blocks under
// one key (birthday bound; Sweet32). Both ends therefore replace the key of
// a direction at the same byte offsets, with no message on the wire: at
// offsets N, 2N, 3N, … of that direction (N = 2^30 bytes by default for DES
// and 3DES; WithRekeyInterval sets it, a positive multiple of 8). The
// segment that starts at offset N·g is the first one encrypted under key
// generation g:
//
//	K_g = HKDF-Expand(SHA-256, PRK = K_{g-1},
//	                  info = "krx cfbstream rekey" ‖ 0x00 ‖ uint64be(g),
//	                  L = len(K_{g-1}))
//
// followed, for DES and 3DES, by setting odd parity in each byte. K_0 is
// the derived (or given) key. Only the key changes; the feedback register
// carries over. The step is taken lazily, when the first byte at or after
// the rekey offset is processed (Generation reports the steps taken). The
// ratchet uses HKDF rather than the Kerberos KDF so that it needs no enctype
// at run time and cannot fail mid-stream, and rather than the block cipher
// itself because the decrypter runs E_K on attacker-chosen ciphertext: a
// key derived as E_K(constant) could be exposed by a chosen-ciphertext
// attacker who learns the corresponding plaintext. The old key is zeroed.
//
// AES needs no ratchet: with a 128-bit block the birthday bound is 2^64
// blocks (2^67 bytes of CFB-64 input per key), far beyond any session. The
// ratchet costs the same for AES, so WithRekeyInterval turns it on for AES
// too; by default AES streams never rekey.
//
// # FIPS 140-3
//
// Found empirically with Go 1.26 (TestFIPSOnly runs the test binary with
// GODEBUG=fips140=only and with fips140=on): crypto/des refuses DES and
// 3DES with an error (no panic), so gokrb5's des3-cbc-sha1-kd derivation
// fails too; AES block encryption, gokrb5's AES key derivation for
// enctypes 17–20 (AES-CBC-CTS, HMAC-SHA-256/384) and HKDF-SHA-256 with
// keys of 112 bits or more all work. krx therefore refuses DES and 3DES up
// front with a *FIPSError ("cfbstream: 3des is not allowed in FIPS
// 140-only mode …", wrapping ErrFIPSOnly), checked with
// crypto/fips140.Enforced before the standard library or gokrb5 is asked,
// and recovers any panic from the standard library or the KDF into an
// error. AES enctypes keep working.
//
// Whenever Go's FIPS 140 module is on (GODEBUG=fips140=on or =only;
// crypto/fips140.Enabled), AES streams use crypto/aes — AES inside the
// module — and never krx's own AES-NI code below, which is not part of
// any validated module; the test checks, under both settings, that the
// stream's block cipher is crypto/aes's type, also after ratchet steps.
// The CFB-64 composition itself is krx code outside the module in every
// mode; only the AES block operations are inside it.
//
// # Implementation
//
// On amd64 with AES-NI (cpu.X86.HasAES; the code needs nothing else beyond
// SSE2), without the purego build tag and with the FIPS module off, AES
// streams made by NewEncrypter, NewDecrypter and NewPair run CFB-64 in
// assembly (aesni_amd64.s) over krx's own AES key expansion (aeskey.go,
// written from FIPS 197 §5.2 and tested against FIPS 197 Appendix A and
// crypto/aes). Encryption keeps the 128-bit register and the round keys in
// vector registers for a whole call: per segment, the sequential path is
// one XOR with round key 0, the 10 or 14 AES rounds and one shuffle (new
// register = old high half ‖ ciphertext); the plaintext is XORed into the
// last round key beforehand, off that path, so a segment costs about one
// AES latency and nothing goes through memory. Decryption needs no chain:
// the block input of segment j ≥ 2 is C_(j-2) ‖ C_(j-1), 16 consecutive
// ciphertext bytes already known, so it runs eight blocks at a time through
// the AES units. The assembly handles whole segments only, from a segment
// boundary to the next rekey point or the end of the input; the partial
// segment (byte granularity, carried across calls) and the ratchet stay in
// Go around it. A ratchet step expands the new key over the old round keys
// in place (the schedule lives in the stream, nowhere else) and zeroes the
// old key.
//
// Everywhere else — other architectures, CPUs without AES-NI, the purego
// tag (pure Go throughout), the FIPS module, DES and 3DES, and streams over
// a caller's cipher.Block (NewBlockEncrypter) — the stream calls
// Block.Encrypt once per segment; on amd64 a small assembly helper
// (seg_amd64.s) then merges the ciphertext into the register with one
// 16-byte store, because the next Encrypt's 16-byte load could not be
// store-forwarded from two 8-byte stores. The tests run twice in one
// `go test`: TestSuiteOnCryptoAES re-runs the test binary with
// CFBSTREAM_IMPL=go, which turns the AES-NI path off (CFBSTREAM_IMPL=asm
// instead makes TestImplSelection fail where the AES-NI path is not in
// use).
//
// # Speed
//
// Every segment needs the previous ciphertext, so encryption can be no
// faster than one AES encryption per 8 bytes in sequence.
// BenchmarkAES256Ceiling and BenchmarkAES128Ceiling report CFB-64
// encryption through the shipping path as a fraction of that ceiling
// ("of-ceiling": raw chained crypto/aes Block.Encrypt time per block
// divided by CFB-64 time per segment, measured interleaved in one run; the
// target is ≥ 0.90) and decryption throughput ("dec-MB/s"). On the AMD
// EPYC development machine (medians of 5 runs; `go test -run '^$' -bench
// Ceiling -count 5 ./cfbstream`):
//
//	                     raw chained  CFB-64 encrypt           of-ceiling  decrypt
//	AES-256, AES-NI      20.4 ns      17.95 ns/seg, 446 MB/s   1.136       3.5 GB/s
//	AES-256, crypto/aes  20.4 ns      23.79 ns/seg, 336 MB/s   0.857       0.53 GB/s
//	AES-128, AES-NI      15.5 ns      13.03 ns/seg, 614 MB/s   1.188       4.9 GB/s
//	AES-128, crypto/aes  15.5 ns      18.87 ns/seg, 424 MB/s   0.820       0.63 GB/s
//
// (crypto/aes rows: CFBSTREAM_IMPL=go, the path used before the AES-NI
// code and still used under FIPS 140 mode.) On the AES-NI path a segment
// costs the AES rounds and little else: AES-256 takes 4.9 ns more per
// segment than AES-128 for its 4 extra rounds, 1.23 ns (one AESENC
// latency) per round, and the rest is about 0.7 ns per segment. That beats
// the ceiling because a raw Block.Encrypt chain pays for a call and a
// store-to-load round trip per block; the crypto/aes path pays two round
// trips per segment (keystream out, new register in), which caps it near
// 0.86. Encryption is 1.6× crypto/cipher's deprecated 128-bit CFB per
// block; decryption is 6.6× (AES-256) and 7.8× (AES-128) faster than
// before.
package cfbstream
