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

// GELU (tanh form) eight lanes at a time, with the exponential of
// expfAVX2. The constants are those of gelu.go:
DATA geluK<>+0(SB)/4, $0xbd922279 // c2 = -2*sqrt(2/pi)*0.044715
DATA geluK<>+4(SB)/4, $0xbfcc422a // c1 = -2*sqrt(2/pi)
DATA geluK<>+8(SB)/4, $0x3fcc422a // k1 = 2*sqrt(2/pi)
DATA geluK<>+12(SB)/4, $0x3e095d4e // k2 = 3*0.044715
GLOBL geluK<>(SB), RODATA|NOPTR, $16

// EXPF_Y0 sets Y0 = exp(Y0) with expfAVX2's steps. It needs the constants
// that LOAD_EXPF_CONSTS puts in Y7-Y13 and Y15, and overwrites Y1-Y4 and Y6.
#define EXPF_Y0 \
	VCMPPS $1, Y7, Y0, Y6; \
	VMAXPS Y7, Y0, Y0; \
	VMINPS Y8, Y0, Y0; \
	VMULPS Y9, Y0, Y1; \
	VROUNDPS $0, Y1, Y1; \
	VMOVAPS Y0, Y2; \
	VFNMADD231PS Y10, Y1, Y2; \
	VFNMADD231PS Y11, Y1, Y2; \
	VMOVAPS Y12, Y3; \
	VBROADCASTSS expfConsts<>+24(SB), Y4; \
	VFMADD213PS Y4, Y2, Y3; \
	VBROADCASTSS expfConsts<>+28(SB), Y4; \
	VFMADD213PS Y4, Y2, Y3; \
	VBROADCASTSS expfConsts<>+32(SB), Y4; \
	VFMADD213PS Y4, Y2, Y3; \
	VBROADCASTSS expfConsts<>+36(SB), Y4; \
	VFMADD213PS Y4, Y2, Y3; \
	VBROADCASTSS expfConsts<>+40(SB), Y4; \
	VFMADD213PS Y4, Y2, Y3; \
	VADDPS Y13, Y2, Y0; \
	VMULPS Y2, Y2, Y4; \
	VFMADD231PS Y4, Y3, Y0; \
	VCVTPS2DQ Y1, Y1; \
	VPSRAD $1, Y1, Y3; \
	VPSUBD Y3, Y1, Y1; \
	VPADDD Y15, Y3, Y3; \
	VPSLLD $23, Y3, Y3; \
	VPADDD Y15, Y1, Y1; \
	VPSLLD $23, Y1, Y1; \
	VMULPS Y3, Y0, Y0; \
	VMULPS Y1, Y0, Y0; \
	VANDNPS Y0, Y6, Y0;

#define LOAD_EXPF_CONSTS \
	VBROADCASTSS expfConsts<>+0(SB), Y7; \
	VBROADCASTSS expfConsts<>+4(SB), Y8; \
	VBROADCASTSS expfConsts<>+8(SB), Y9; \
	VBROADCASTSS expfConsts<>+12(SB), Y10; \
	VBROADCASTSS expfConsts<>+16(SB), Y11; \
	VBROADCASTSS expfConsts<>+20(SB), Y12; \
	VBROADCASTSS expfConsts<>+44(SB), Y13; \
	VPBROADCASTD expfConsts<>+48(SB), Y15

// GELU_ARG sets Y0 = -2u = x*(c1 + c2*x^2) for x in Y5.
#define GELU_ARG \
	VMULPS       Y5, Y5, Y0; \
	VBROADCASTSS geluK<>+0(SB), Y1; \
	VBROADCASTSS geluK<>+4(SB), Y2; \
	VFMADD213PS  Y2, Y1, Y0; \
	VMULPS       Y5, Y0, Y0

// func geluForwardAVX2(out, inp *float32, n int)
//
// out[i] = x / (1 + exp(-2u)) for x = inp[i], i < n, n a multiple of 8.
TEXT ·geluForwardAVX2(SB), NOSPLIT, $0-24
	MOVQ out+0(FP), DI
	MOVQ inp+8(FP), SI
	MOVQ n+16(FP), CX
	LOAD_EXPF_CONSTS
	SHRQ $3, CX
	JZ   fwddone

fwdloop:
	VMOVUPS (SI), Y5
	GELU_ARG
	EXPF_Y0
	VADDPS  Y13, Y0, Y0
	VDIVPS  Y0, Y5, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     fwdloop

fwddone:
	VZEROUPPER
	RET

// func geluBackwardAVX2(dinp, inp, dout *float32, n int)
//
// dinp[i] += gelu'(x) * dout[i] for x = inp[i], i < n, n a multiple of 8,
// with s = 1/(1+exp(-2u)) and
//
//	gelu'(x) = s + k1 * x * s*(1-s) * (1 + k2*x^2)
//
// which equals 0.5*(1+tanh u) + 0.5*x*(1-tanh^2 u)*sqrt(2/pi)*(1+3*0.044715*x^2).
TEXT ·geluBackwardAVX2(SB), NOSPLIT, $0-32
	MOVQ dinp+0(FP), DI
	MOVQ inp+8(FP), SI
	MOVQ dout+16(FP), DX
	MOVQ n+24(FP), CX
	LOAD_EXPF_CONSTS
	SHRQ $3, CX
	JZ   bwddone

bwdloop:
	VMOVUPS (SI), Y5
	GELU_ARG
	EXPF_Y0
	VADDPS Y13, Y0, Y0
	VDIVPS Y0, Y13, Y0

	VSUBPS       Y0, Y13, Y1
	VMULPS       Y0, Y1, Y1
	VMULPS       Y5, Y5, Y2
	VBROADCASTSS geluK<>+12(SB), Y3
	VFMADD213PS  Y13, Y3, Y2
	VMULPS       Y2, Y1, Y1
	VMULPS       Y5, Y1, Y1
	VBROADCASTSS geluK<>+8(SB), Y3
	VMULPS       Y3, Y1, Y1
	VADDPS       Y1, Y0, Y0

	VMOVUPS     (DX), Y2
	VMOVUPS     (DI), Y4
	VFMADD231PS Y2, Y0, Y4
	VMOVUPS     Y4, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DX
	ADDQ        $32, DI
	DECQ        CX
	JNZ         bwdloop

bwddone:
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
//
// The largest of x[0:n], n a positive multiple of 8. NaNs are not
// propagated.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVAPS Y0, Y1
	ADDQ    $32, SI
	SUBQ    $8, CX
	JZ      maxreduce

maxloop:
	VMAXPS (SI), Y0, Y0
	ADDQ   $32, SI
	SUBQ   $8, CX
	JZ     maxreduce
	VMAXPS (SI), Y1, Y1
	ADDQ   $32, SI
	SUBQ   $8, CX
	JNZ    maxloop

maxreduce:
	VMAXPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSS       X0, ret+16(FP)
	VZEROUPPER
	RET

// func scaleAVX2(x *float32, n int, s float32)
//
// x[i] *= s for i < n, n a multiple of 8.
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y1
	SHRQ         $3, CX
	JZ           scaledone

scaleloop:
	VMULPS  (SI), Y1, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	DECQ    CX
	JNZ     scaleloop

scaledone:
	VZEROUPPER
	RET

// func addToAVX2(dst, src *float32, n int)
//
// dst[i] += src[i] for i < n, n a multiple of 8.
TEXT ·addToAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   adddone

addloop:
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     addloop

adddone:
	VZEROUPPER
	RET

// func layerNormParamGradAVX2(dweight, dbias, x, dout *float32, n int, mean, rstd float32)
//
// For i < n, n a multiple of 8: dweight[i] += (dout[i]*(x[i]-mean))*rstd
// and dbias[i] += dout[i], in the order of LayerNormBackward's Go loop.
TEXT ·layerNormParamGradAVX2(SB), NOSPLIT, $0-48
	MOVQ         dweight+0(FP), DI
	MOVQ         dbias+8(FP), R8
	MOVQ         x+16(FP), SI
	MOVQ         dout+24(FP), DX
	MOVQ         n+32(FP), CX
	VBROADCASTSS mean+40(FP), Y6
	VBROADCASTSS rstd+44(FP), Y7
	SHRQ         $3, CX
	JZ           lndone

lnloop:
	VMOVUPS (SI), Y0
	VSUBPS  Y6, Y0, Y0
	VMOVUPS (DX), Y1
	VMULPS  Y0, Y1, Y0
	VMULPS  Y7, Y0, Y0
	VADDPS  (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	VADDPS  (R8), Y1, Y1
	VMOVUPS Y1, (R8)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	ADDQ    $32, R8
	DECQ    CX
	JNZ     lnloop

lndone:
	VZEROUPPER
	RET

// func swigluForwardAVX2(out, gate, up *float32, n int)
//
// out[i] = silu(gate[i]) * up[i] = gate[i] / (1 + exp(-gate[i])) * up[i]
// for i < n, n a multiple of 8.
TEXT ·swigluForwardAVX2(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
	LOAD_EXPF_CONSTS
	VXORPS Y14, Y14, Y14
	SHRQ   $3, CX
	JZ     swfdone

swfloop:
	VMOVUPS (SI), Y5
	VSUBPS  Y5, Y14, Y0
	EXPF_Y0
	VADDPS  Y13, Y0, Y0
	VDIVPS  Y0, Y5, Y0
	VMULPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     swfloop

swfdone:
	VZEROUPPER
	RET

// func swigluBackwardAVX2(dgate, dup, gate, up, dout *float32, n int)
//
// With g = gate[i], s = 1/(1+exp(-g)) and d = dout[i], for i < n, n a
// multiple of 8:
//
//	dgate[i] += d * up[i] * (s + g*s*(1-s))
//	dup[i]   += d * g * s
TEXT ·swigluBackwardAVX2(SB), NOSPLIT, $0-48
	MOVQ dgate+0(FP), DI
	MOVQ dup+8(FP), R10
	MOVQ gate+16(FP), SI
	MOVQ up+24(FP), DX
	MOVQ dout+32(FP), R9
	MOVQ n+40(FP), CX
	LOAD_EXPF_CONSTS
	VXORPS Y14, Y14, Y14
	SHRQ   $3, CX
	JZ     swbdone

swbloop:
	VMOVUPS (SI), Y5
	VSUBPS  Y5, Y14, Y0
	EXPF_Y0
	VADDPS  Y13, Y0, Y0
	VDIVPS  Y0, Y13, Y0

	VMULPS  Y0, Y5, Y1
	VMOVUPS (R9), Y2
	VMULPS  Y2, Y1, Y3
	VADDPS  (R10), Y3, Y3
	VMOVUPS Y3, (R10)

	VSUBPS  Y0, Y13, Y3
	VMULPS  Y3, Y1, Y3
	VADDPS  Y0, Y3, Y3
	VMULPS  (DX), Y3, Y3
	VMULPS  Y2, Y3, Y3
	VADDPS  (DI), Y3, Y3
	VMOVUPS Y3, (DI)

	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R9
	ADDQ $32, DI
	ADDQ $32, R10
	DECQ CX
	JNZ  swbloop

swbdone:
	VZEROUPPER
	RET
