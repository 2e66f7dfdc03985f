// Command httpsprobe tells whether the system certificate pool of the image
// it runs in would let a Go program make HTTPS calls to the public internet,
// without any network access.
//
// It builds the chain from Let's Encrypt's R3 intermediate certificate
// (embedded) to its issuer, ISRG Root X1, which must come from
// x509.SystemCertPool, the pool that net/http uses by default. It exits 0
// when the chain verifies and 1 when it does not, for example when the image
// holds no CA bundle.
package main

import (
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// intermediatePEM is Let's Encrypt R3, issued by ISRG Root X1 and valid from
// 2020-09-04 to 2025-09-15.
//
//go:embed lets-encrypt-r3.pem
var intermediatePEM []byte

// verifyTime lies inside the intermediate's validity, so the result does not
// depend on the clock.
var verifyTime = time.Date(2024, time.July, 1, 0, 0, 0, 0, time.UTC)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "untrusted: %v\n", err)
		os.Exit(1)
	}
}

// run verifies the embedded intermediate against the system roots and
// prints the chain it found.
func run(stdout io.Writer) error {
	block, _ := pem.Decode(intermediatePEM)
	if block == nil {
		return errors.New("no PEM block in the embedded certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("parse certificate: %w", err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		return fmt.Errorf("load system roots: %w", err)
	}
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: verifyTime,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("verify %q: %w", cert.Subject.CommonName, err)
	}
	for _, c := range chains[0] {
		if _, err := fmt.Fprintf(stdout, "trusted: %s\n", c.Subject); err != nil {
			return err
		}
	}
	return nil
}
