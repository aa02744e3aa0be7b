//go:build amd64 && !purego

package cfbstream

import "golang.org/x/sys/cpu"

// haveAESNI reports whether the CPU has AES-NI. The assembly needs nothing
// else beyond SSE2, which every amd64 CPU has.
var haveAESNI = cpu.X86.HasAES

// aesniEncryptBlock encrypts one block with the key schedule rk of Nr =
// rounds rounds.
//
//go:noescape
func aesniEncryptBlock(rk *[aesScheduleLen]byte, rounds int, dst, src *[16]byte)

// aesniEncCFB64 CFB-64-encrypts segs ≥ 1 whole 8-byte segments from src to
// dst, starting from the register reg and leaving the new register there.
// dst may equal src.
//
//go:noescape
func aesniEncCFB64(rk *[aesScheduleLen]byte, rounds int, reg *[16]byte, dst, src *byte, segs int)

// aesniDecCFB64 is aesniEncCFB64's decrypting twin (eight blocks at a time).
//
//go:noescape
func aesniDecCFB64(rk *[aesScheduleLen]byte, rounds int, reg *[16]byte, dst, src *byte, segs int)
