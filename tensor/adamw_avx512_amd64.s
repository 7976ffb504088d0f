//go:build amd64 && !purego

#include "textflag.h"

// func adamwAVX512(d, grad, m, v *float32, n int, k *adamwConsts)
//
// One AdamW step over n elements (n a multiple of 16), sixteen lanes at a
// time, with the same float32 operations in the same order as the Go loop
// in AdamWUpdate (no fused multiply-adds), so both give identical bits.
// k points to b1, c1, b2, c2, decay, eps, stepSize, invSqrtBias2.
TEXT ·adamwAVX512(SB), NOSPLIT, $0-48
	MOVQ d+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	VBROADCASTSS 0(AX), Z16  // b1
	VBROADCASTSS 4(AX), Z17  // c1
	VBROADCASTSS 8(AX), Z18  // b2
	VBROADCASTSS 12(AX), Z19 // c2
	VBROADCASTSS 16(AX), Z20 // decay
	VBROADCASTSS 20(AX), Z21 // eps
	VBROADCASTSS 24(AX), Z22 // stepSize
	VBROADCASTSS 28(AX), Z23 // invSqrtBias2
	SHRQ $4, CX
	JEQ  done

loop:
	VMOVUPS (SI), Z0
	VMOVUPS (R8), Z1
	VMOVUPS (R9), Z2
	VMOVUPS (DI), Z3

	// m = b1*m + c1*g
	VMULPS Z16, Z1, Z1
	VMULPS Z17, Z0, Z4
	VADDPS Z4, Z1, Z1

	// v = b2*v + (c2*g)*g
	VMULPS Z18, Z2, Z2
	VMULPS Z19, Z0, Z5
	VMULPS Z0, Z5, Z5
	VADDPS Z5, Z2, Z2

	VMOVUPS Z1, (R8)
	VMOVUPS Z2, (R9)

	// denom = sqrt(v)*invSqrtBias2 + eps
	VSQRTPS Z2, Z6
	VMULPS  Z23, Z6, Z6
	VADDPS  Z21, Z6, Z6

	// d = d*decay - stepSize*m/denom
	VMULPS Z22, Z1, Z7
	VDIVPS Z6, Z7, Z7
	VMULPS Z20, Z3, Z3
	VSUBPS Z7, Z3, Z3
	VMOVUPS Z3, (DI)

	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $64, R9
	ADDQ $64, DI
	DECQ CX
	JNE  loop

done:
	VZEROUPPER
	RET
