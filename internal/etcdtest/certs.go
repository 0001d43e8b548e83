package etcdtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Certs are PEM files of a test CA and the certificates it signed.
type Certs struct {
	CA                    string
	ServerCert, ServerKey string // for 127.0.0.1
	ClientCert, ClientKey string
	OtherCert, OtherKey   string // a client certificate another CA signed
}

// WriteCerts makes a CA, a server and a client certificate, and a client
// certificate of another CA, under dir.
func WriteCerts(dir string) (Certs, error) {
	c := Certs{CA: filepath.Join(dir, "ca.pem")}
	ca, caKey, err := cert(dir, "ca", nil, nil, true)
	if err != nil {
		return c, err
	}
	if c.ServerCert, c.ServerKey, err = certFiles(dir, "server", ca, caKey); err != nil {
		return c, err
	}
	if c.ClientCert, c.ClientKey, err = certFiles(dir, "client", ca, caKey); err != nil {
		return c, err
	}
	other, otherKey, err := cert(dir, "other-ca", nil, nil, true)
	if err != nil {
		return c, err
	}
	c.OtherCert, c.OtherKey, err = certFiles(dir, "other", other, otherKey)
	return c, err
}

func certFiles(dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (string, string, error) {
	_, _, err := cert(dir, name, ca, caKey, false)
	return filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"), err
}

// cert writes NAME.pem and NAME-key.pem: a CA (self-signed) or a leaf
// certificate for 127.0.0.1 signed by ca.
func cert(dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		IsCA:                  isCA,
		BasicConstraintsValid: true,
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca, caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, name+"-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}
