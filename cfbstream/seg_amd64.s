//go:build amd64 && !purego

#include "textflag.h"

// The per-segment work of CFB-64 over a 128-bit block, after the block
// cipher has put E(register) into ks. The new register is written with
// one 16-byte store: the next Block.Encrypt reads it with a 16-byte load,
// and a load that spans two separate 8-byte stores cannot be served by
// store-to-load forwarding and stalls until they reach the cache (about a
// dozen cycles on every segment, on the sequential critical path).

// func encSeg16(dst, src *[8]byte, ks, reg *[16]byte)
//	c := src ^ ks[0:8]; dst = c; reg = reg[8:16] || c
// Critical path (each segment needs the previous one): load ks, PXOR,
// PUNPCKLQDQ, 16-byte store. Kept in vector registers, it measured a
// little faster than an XOR in a general register plus a move to X1.
TEXT ·encSeg16(SB), NOSPLIT|NOFRAME, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ks+16(FP), DX
	MOVQ reg+24(FP), CX
	MOVQ 8(CX), X2     // X2 = reg[8:16] (the older ciphertext half)
	MOVQ (SI), X1      // X1 = plaintext
	MOVOU (DX), X0     // X0 = E(register)
	PXOR X1, X0        // X0[0:8] = ciphertext c
	MOVQ X0, (DI)
	PUNPCKLQDQ X0, X2  // X2 = reg[8:16] || c
	MOVOU X2, (CX)
	RET

// func decSeg16(dst, src *[8]byte, ks, reg *[16]byte)
//	c := src; dst = c ^ ks[0:8]; reg = reg[8:16] || c
TEXT ·decSeg16(SB), NOSPLIT|NOFRAME, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ks+16(FP), DX
	MOVQ reg+24(FP), CX
	MOVQ 8(CX), X0
	MOVQ (SI), X1
	MOVQ (DX), AX
	MOVQ X1, BX
	XORQ BX, AX
	MOVQ AX, (DI)
	PUNPCKLQDQ X1, X0
	MOVOU X0, (CX)
	RET
