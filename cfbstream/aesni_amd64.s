//go:build amd64 && !purego

#include "textflag.h"

// AES-NI CFB-64 for AES-128 and AES-256 (see aesni.go). The round keys
// come from expandAESKey: rk[16r:16r+16] is round key r, rounds is Nr (10
// or 14). Memory operands of legacy SSE instructions must be 16-byte
// aligned, which Go does not promise for rk, so round keys are loaded with
// MOVOU first. The functions clobber X15 (allowed in ABI0: the wrapper
// that calls them from Go re-zeroes it).

// func aesniEncryptBlock(rk *[aesScheduleLen]byte, rounds int, dst, src *[16]byte)
TEXT ·aesniEncryptBlock(SB), NOSPLIT|NOFRAME, $0-32
	MOVQ rk+0(FP), AX
	MOVQ rounds+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVQ src+24(FP), SI
	MOVOU (SI), X0
	MOVOU (AX), X1
	PXOR X1, X0
	ADDQ $16, AX
	DECQ CX
blockRound:
	MOVOU (AX), X1
	AESENC X1, X0
	ADDQ $16, AX
	DECQ CX
	JNZ blockRound
	MOVOU (AX), X1
	AESENCLAST X1, X0
	MOVOU X0, (DI)
	RET

// Encryption: each segment needs the previous ciphertext, so the loop is
// one chain of AES rounds. Per segment, on the chain: PXOR (register ⊕
// round key 0), Nr AES rounds, PUNPCKLQDQ (new register = old high half ‖
// ciphertext). Everything else runs beside it: the plaintext is folded
// into the last round key (AESENCLAST XORs its key into the result, and
// only the low 8 bytes of the result are used, so the key's high half may
// be anything), and the old register's high half is shifted down while
// the rounds run. The register never leaves X0 inside the loop.

// ENC_TAIL finishes one segment: X1 holds the state before the last round,
// X15 the last round key ⊕ plaintext.
#define ENC_TAIL \
	AESENCLAST X15, X1; \
	MOVQ X1, (DI); \
	PSRLDQ $8, X0; \
	PUNPCKLQDQ X1, X0; \
	ADDQ $8, SI; \
	ADDQ $8, DI

// ENC_HEAD starts one segment: X15 = last round key ⊕ plaintext (R10 holds
// the low half of the last round key), X1 = register ⊕ round key 0.
#define ENC_HEAD \
	MOVQ (SI), R9; \
	XORQ R10, R9; \
	MOVQ R9, X15; \
	MOVOU (AX), X1; \
	PXOR X0, X1

// func aesniEncCFB64(rk *[aesScheduleLen]byte, rounds int, reg *[16]byte, dst, src *byte, segs int)
// segs ≥ 1 whole segments; reg is read at the start and written at the end.
TEXT ·aesniEncCFB64(SB), NOSPLIT|NOFRAME, $0-48
	MOVQ rk+0(FP), AX
	MOVQ rounds+8(FP), R8
	MOVQ reg+16(FP), DX
	MOVQ dst+24(FP), DI
	MOVQ src+32(FP), SI
	MOVQ segs+40(FP), CX
	MOVOU (DX), X0
	// Round keys 1..Nr-1 stay in X2.. for the whole loop.
	MOVOU 16(AX), X2
	MOVOU 32(AX), X3
	MOVOU 48(AX), X4
	MOVOU 64(AX), X5
	MOVOU 80(AX), X6
	MOVOU 96(AX), X7
	MOVOU 112(AX), X8
	MOVOU 128(AX), X9
	MOVOU 144(AX), X10
	CMPQ R8, $14
	JEQ enc256
	MOVQ 160(AX), R10

enc128:
	ENC_HEAD
	AESENC X2, X1
	AESENC X3, X1
	AESENC X4, X1
	AESENC X5, X1
	AESENC X6, X1
	AESENC X7, X1
	AESENC X8, X1
	AESENC X9, X1
	AESENC X10, X1
	ENC_TAIL
	DECQ CX
	JNZ enc128
	JMP encDone

enc256:
	MOVOU 160(AX), X11
	MOVOU 176(AX), X12
	MOVOU 192(AX), X13
	MOVOU 208(AX), X14
	MOVQ 224(AX), R10

enc256Loop:
	ENC_HEAD
	AESENC X2, X1
	AESENC X3, X1
	AESENC X4, X1
	AESENC X5, X1
	AESENC X6, X1
	AESENC X7, X1
	AESENC X8, X1
	AESENC X9, X1
	AESENC X10, X1
	AESENC X11, X1
	AESENC X12, X1
	AESENC X13, X1
	AESENC X14, X1
	ENC_TAIL
	DECQ CX
	JNZ enc256Loop

encDone:
	MOVOU X0, (DX)
	RET

// Decryption: the input of segment j is the register for j = 0, the
// register's high half ‖ C_0 for j = 1, and C_(j-2) ‖ C_(j-1) — 16
// consecutive ciphertext bytes — from then on; no input depends on an
// output, so eight blocks go through the AES units together. Every load
// from src in a batch comes before the batch's first store to dst, so
// dst may equal src.

// DEC_KEY8 applies round-key instruction OP with key X8 to X0..X7.
#define DEC_KEY8(OP) \
	OP X8, X0; \
	OP X8, X1; \
	OP X8, X2; \
	OP X8, X3; \
	OP X8, X4; \
	OP X8, X5; \
	OP X8, X6; \
	OP X8, X7

// DEC_PAIR writes plaintext segments k, k+1 (bytes off..off+15) from the
// keystream blocks in A and B: dst = src ⊕ (A.lo ‖ B.lo).
#define DEC_PAIR(A, B, off) \
	PUNPCKLQDQ B, A; \
	MOVOU off(SI), X10; \
	PXOR X10, A; \
	MOVOU A, off(DI)

// func aesniDecCFB64(rk *[aesScheduleLen]byte, rounds int, reg *[16]byte, dst, src *byte, segs int)
TEXT ·aesniDecCFB64(SB), NOSPLIT|NOFRAME, $0-48
	MOVQ rk+0(FP), AX
	MOVQ rounds+8(FP), R8
	MOVQ reg+16(FP), R11
	MOVQ dst+24(FP), DI
	MOVQ src+32(FP), SI
	MOVQ segs+40(FP), CX
	MOVOU (R11), X9
	CMPQ CX, $8
	JB decTail

decBatch:
	MOVO X9, X0
	MOVO X9, X1
	PSRLDQ $8, X1
	MOVQ (SI), X10
	PUNPCKLQDQ X10, X1
	MOVOU 0(SI), X2
	MOVOU 8(SI), X3
	MOVOU 16(SI), X4
	MOVOU 24(SI), X5
	MOVOU 32(SI), X6
	MOVOU 40(SI), X7
	MOVOU 48(SI), X9
	MOVOU (AX), X8
	DEC_KEY8(PXOR)
	LEAQ 16(AX), BX
	MOVQ R8, R9
	DECQ R9

decRound:
	MOVOU (BX), X8
	DEC_KEY8(AESENC)
	ADDQ $16, BX
	DECQ R9
	JNZ decRound
	MOVOU (BX), X8
	DEC_KEY8(AESENCLAST)
	DEC_PAIR(X0, X1, 0)
	DEC_PAIR(X2, X3, 16)
	DEC_PAIR(X4, X5, 32)
	DEC_PAIR(X6, X7, 48)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE decBatch

decTail:
	TESTQ CX, CX
	JZ decDone
	// One segment; the next one's block does not wait for this one's.
	MOVO X9, X0
	MOVQ (SI), X10
	PSRLDQ $8, X9
	PUNPCKLQDQ X10, X9
	MOVOU (AX), X8
	PXOR X8, X0
	LEAQ 16(AX), BX
	MOVQ R8, R9
	DECQ R9

decTailRound:
	MOVOU (BX), X8
	AESENC X8, X0
	ADDQ $16, BX
	DECQ R9
	JNZ decTailRound
	MOVOU (BX), X8
	AESENCLAST X8, X0
	PXOR X10, X0
	MOVQ X0, (DI)
	ADDQ $8, SI
	ADDQ $8, DI
	DECQ CX
	JMP decTail

decDone:
	MOVOU X9, (R11)
	RET
