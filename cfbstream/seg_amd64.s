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
TEXT ·encSeg16(SB), NOSPLIT|NOFRAME, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ks+16(FP), DX
	MOVQ reg+24(FP), CX
	MOVQ 8(CX), X0
	MOVQ (SI), AX
	XORQ (DX), AX
	MOVQ AX, (DI)
	MOVQ AX, X1
	PUNPCKLQDQ X1, X0
	MOVOU X0, (CX)
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
