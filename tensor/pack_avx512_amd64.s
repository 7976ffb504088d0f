//go:build amd64 && !purego

#include "textflag.h"

// Lane numbers 0..15, for the gather offsets.
DATA lanes<>+0(SB)/4, $0
DATA lanes<>+4(SB)/4, $1
DATA lanes<>+8(SB)/4, $2
DATA lanes<>+12(SB)/4, $3
DATA lanes<>+16(SB)/4, $4
DATA lanes<>+20(SB)/4, $5
DATA lanes<>+24(SB)/4, $6
DATA lanes<>+28(SB)/4, $7
DATA lanes<>+32(SB)/4, $8
DATA lanes<>+36(SB)/4, $9
DATA lanes<>+40(SB)/4, $10
DATA lanes<>+44(SB)/4, $11
DATA lanes<>+48(SB)/4, $12
DATA lanes<>+52(SB)/4, $13
DATA lanes<>+56(SB)/4, $14
DATA lanes<>+60(SB)/4, $15
GLOBL lanes<>(SB), RODATA|NOPTR, $64

// func packCopyAVX512(dst, src *float32, ld, kc, width int, load1, load2, store1, store2 uint16)
//
// For p < kc it copies the first lanes of src[p*ld:] selected by load1
// (lanes 0-15) and load2 (lanes 16-31) into dst[p*width:], zeroing the
// other lanes, and stores the lanes selected by store1 and store2.
TEXT ·packCopyAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), AX
	SHLQ $2, AX
	MOVQ kc+24(FP), CX
	MOVQ width+32(FP), DX
	SHLQ $2, DX
	KMOVW load1+40(FP), K1
	KMOVW load2+42(FP), K2
	KMOVW store1+44(FP), K3
	KMOVW store2+46(FP), K4
	TESTQ CX, CX
	JEQ   done

loop:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	VMOVUPS   Z0, K3, (DI)
	VMOVUPS   Z1, K4, 64(DI)
	ADDQ      AX, SI
	ADDQ      DX, DI
	DECQ      CX
	JNE       loop

done:
	VZEROUPPER
	RET

// func packGatherAVX512(dst, src *float32, ld, kc, width int, load1, load2, store1, store2 uint16)
//
// For p < kc it sets dst[p*width+i] = src[i*ld+p] for the lanes i selected
// by load1 (0-15) and load2 (16-31) and 0 for the others, and stores the
// lanes selected by store1 and store2. i*ld must fit in an int32.
TEXT ·packGatherAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), AX
	MOVQ kc+24(FP), CX
	MOVQ width+32(FP), DX
	SHLQ $2, DX
	KMOVW load1+40(FP), K1
	KMOVW load2+42(FP), K2
	KMOVW store1+44(FP), K3
	KMOVW store2+46(FP), K4

	// Z30 = i*ld for lanes i = 0..15, Z31 = (16+i)*ld.
	VPBROADCASTD AX, Z29
	VMOVDQU32    lanes<>(SB), Z28
	VPMULLD      Z28, Z29, Z30
	VPSLLD       $4, Z29, Z27
	VPADDD       Z27, Z30, Z31

	// Prefetch two cache lines ahead in each row: one row per step, so
	// that every 16 steps (one cache line of each row) all rows are
	// covered. R10 walks down the rows, R11 counts the steps to the next
	// wrap, R12 is the distance from row i to row i+16.
	MOVQ AX, R9
	SHLQ $2, R9
	MOVQ R9, R12
	SHLQ $4, R12
	LEAQ 128(SI), R10
	MOVQ $16, R11

	TESTQ CX, CX
	JEQ   done
	KORTESTW K2, K2
	VPXORD   Z1, Z1, Z1
	JEQ      loop16

loop32:
	PREFETCHT0 (R10)
	PREFETCHT0 (R10)(R12*1)
	ADDQ       R9, R10
	KMOVW      K1, K5
	VPXORD     Z0, Z0, Z0
	VGATHERDPS (SI)(Z30*4), K5, Z0
	KMOVW      K2, K6
	VPXORD     Z1, Z1, Z1
	VGATHERDPS (SI)(Z31*4), K6, Z1
	VMOVUPS    Z0, K3, (DI)
	VMOVUPS    Z1, K4, 64(DI)
	ADDQ       $4, SI
	ADDQ       DX, DI
	DECQ       R11
	JNE        next32
	LEAQ       128(SI), R10
	MOVQ       $16, R11

next32:
	DECQ CX
	JNE  loop32
	JMP  done

loop16:
	PREFETCHT0 (R10)
	ADDQ       R9, R10
	KMOVW      K1, K5
	VPXORD     Z0, Z0, Z0
	VGATHERDPS (SI)(Z30*4), K5, Z0
	VMOVUPS    Z0, K3, (DI)
	VMOVUPS    Z1, K4, 64(DI)
	ADDQ       $4, SI
	ADDQ       DX, DI
	DECQ       R11
	JNE        next16
	LEAQ       128(SI), R10
	MOVQ       $16, R11

next16:
	DECQ CX
	JNE  loop16

done:
	VZEROUPPER
	RET

// func packCopy12x4AVX512(dst, src *float32, ld, kc, panel int)
//
// Packs four 12-wide panels at once: for p < kc it reads the 48 floats at
// src[p*ld:] (three whole cache lines) and stores floats 12q..12q+11 at
// dst[q*panel+p*12:] for q < 4. Reading each row once, instead of once per
// panel, matters when the rows are a multiple of 4 KiB apart and evict
// each other from L1 between panels.
TEXT ·packCopy12x4AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), AX
	SHLQ $2, AX
	MOVQ kc+24(FP), CX
	MOVQ panel+32(FP), DX
	SHLQ $2, DX
	LEAQ (DI)(DX*1), R8
	LEAQ (R8)(DX*1), R9
	LEAQ (R9)(DX*1), R10
	MOVW $0x0fff, BX
	KMOVW BX, K1
	TESTQ CX, CX
	JEQ   done12x4

loop12x4:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VALIGND $12, Z0, Z1, Z3
	VALIGND $8, Z1, Z2, Z4
	VALIGND $4, Z2, Z2, Z5
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z3, K1, (R8)
	VMOVUPS Z4, K1, (R9)
	VMOVUPS Z5, K1, (R10)
	ADDQ    AX, SI
	ADDQ    $48, DI
	ADDQ    $48, R8
	ADDQ    $48, R9
	ADDQ    $48, R10
	DECQ    CX
	JNE     loop12x4

done12x4:
	VZEROUPPER
	RET
