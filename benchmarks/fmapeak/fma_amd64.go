//go:build amd64

package main

import "golang.org/x/sys/cpu"

var supported = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasAVX512F

func fmaLoop256(n int)
func fmaLoop512(n int)
