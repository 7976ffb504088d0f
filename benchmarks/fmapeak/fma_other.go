//go:build !amd64

package main

const supported = false

func fmaLoop256(n int) {}
func fmaLoop512(n int) {}
