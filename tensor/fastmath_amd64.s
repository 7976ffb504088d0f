//go:build amd64 && !purego

#include "textflag.h"

// Constants of expfAVX2, in the order of fastmath.go: clamp bounds, log2(e),
// ln2 split in two, the six polynomial coefficients p5..p0, 1.0, and the
// float32 exponent bias as an integer.
DATA expfConsts<>+0(SB)/4, $0xc2aeac4f // min = -87.33654
DATA expfConsts<>+4(SB)/4, $0x42b17217 // max = 88.72283
DATA expfConsts<>+8(SB)/4, $0x3fb8aa3b // log2e = 1.4426950408889634
DATA expfConsts<>+12(SB)/4, $0x3f318000 // ln2hi = 0.693359375
DATA expfConsts<>+16(SB)/4, $0xb95e8083 // ln2lo = -0.00021219444
DATA expfConsts<>+20(SB)/4, $0x39506967 // p5 = 0.000198756915
DATA expfConsts<>+24(SB)/4, $0x3ab743ce // p4 = 0.0013981999507
DATA expfConsts<>+28(SB)/4, $0x3c088908 // p3 = 0.0083334519073
DATA expfConsts<>+32(SB)/4, $0x3d2aa9c1 // p2 = 0.041665795894
DATA expfConsts<>+36(SB)/4, $0x3e2aaaaa // p1 = 0.16666665459
DATA expfConsts<>+40(SB)/4, $0x3f000000 // p0 = 0.50000001201
DATA expfConsts<>+44(SB)/4, $0x3f800000 // one = 1.0
DATA expfConsts<>+48(SB)/4, $0x0000007f // exponent bias 127
GLOBL expfConsts<>(SB), RODATA|NOPTR, $52

// func expfAVX2(dst, src *float32, n int, shift float32) float32
//
// dst[i] = exp(src[i] - shift) for i < n, n a multiple of 8; returns the
// float32 sum of dst[0:n]. The steps are those of expf, eight lanes at a
// time with FMA.
TEXT ·expfAVX2(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS shift+24(FP), Y14
	VBROADCASTSS expfConsts<>+0(SB), Y7
	VBROADCASTSS expfConsts<>+4(SB), Y8
	VBROADCASTSS expfConsts<>+8(SB), Y9
	VBROADCASTSS expfConsts<>+12(SB), Y10
	VBROADCASTSS expfConsts<>+16(SB), Y11
	VBROADCASTSS expfConsts<>+20(SB), Y12
	VBROADCASTSS expfConsts<>+44(SB), Y13
	VPBROADCASTD expfConsts<>+48(SB), Y15
	VXORPS Y5, Y5, Y5
	TESTQ CX, CX
	JZ done

loop:
	// x = src - shift; lanes below the lower bound become 0 at the end.
	VMOVUPS (SI), Y0
	VSUBPS Y14, Y0, Y0
	VCMPPS $1, Y7, Y0, Y6
	VMAXPS Y7, Y0, Y0
	VMINPS Y8, Y0, Y0

	// n = round(x*log2e), r = x - n*ln2hi - n*ln2lo
	VMULPS Y9, Y0, Y1
	VROUNDPS $0, Y1, Y1
	VMOVAPS Y0, Y2
	VFNMADD231PS Y10, Y1, Y2
	VFNMADD231PS Y11, Y1, Y2

	// p = ((((p5 r + p4) r + p3) r + p2) r + p1) r + p0
	VMOVAPS Y12, Y3
	VBROADCASTSS expfConsts<>+24(SB), Y4
	VFMADD213PS Y4, Y2, Y3
	VBROADCASTSS expfConsts<>+28(SB), Y4
	VFMADD213PS Y4, Y2, Y3
	VBROADCASTSS expfConsts<>+32(SB), Y4
	VFMADD213PS Y4, Y2, Y3
	VBROADCASTSS expfConsts<>+36(SB), Y4
	VFMADD213PS Y4, Y2, Y3
	VBROADCASTSS expfConsts<>+40(SB), Y4
	VFMADD213PS Y4, Y2, Y3

	// y = p r^2 + r + 1
	VADDPS Y13, Y2, Y0
	VMULPS Y2, Y2, Y4
	VFMADD231PS Y4, Y3, Y0

	// y *= 2^(n>>1) * 2^(n-(n>>1)), built in the exponent field.
	VCVTPS2DQ Y1, Y1
	VPSRAD $1, Y1, Y3
	VPSUBD Y3, Y1, Y1
	VPADDD Y15, Y3, Y3
	VPSLLD $23, Y3, Y3
	VPADDD Y15, Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y3, Y0, Y0
	VMULPS Y1, Y0, Y0
	VANDNPS Y0, Y6, Y0

	VMOVUPS Y0, (DI)
	VADDPS Y0, Y5, Y5
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ loop

done:
	VEXTRACTF128 $1, Y5, X4
	VADDPS X4, X5, X5
	VHADDPS X5, X5, X5
	VHADDPS X5, X5, X5
	VMOVSS X5, ret+32(FP)
	VZEROUPPER
	RET
