// hello is the example r10e builds: it prints a greeting from its extern_data
// file and counts the certificates of the CA bundle r10e puts in the image.
package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"runtime/debug"
)

func main() {
	greeting, err := os.ReadFile("/app/data/greeting.txt")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
	fmt.Print(string(greeting))

	bundle, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
	count := 0
	for rest := bundle; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if _, err := x509.ParseCertificate(block.Bytes); err == nil {
			count++
		}
	}
	fmt.Printf("CA bundle: %d certificates\n", count)

	if info, ok := debug.ReadBuildInfo(); ok {
		fmt.Printf("Built with %s\n", info.GoVersion)
	}
}
