// Command demo shows krx's CFB-64 stream at work: it derives both
// directions' keys from a random aes256-cts-hmac-sha1-96 session key (as
// krbauth will from the AP-REQ subkey), encrypts a line as the client
// would, prints the ciphertext that would go on the wire, and decrypts it
// on the "server" side. `make demo` runs it until the encrypted-session
// work lands.
package main
