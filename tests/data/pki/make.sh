#!/usr/bin/env bash
# Regenerates the test PKI: a CA (its key is discarded) and one server certificate per key type,
# each for localhost and 127.0.0.1, valid for a century so the tests never expire.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/ca.key" \
    -out ca.pem -days 36500 -subj "/CN=tls-resumption test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
printf "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n" > "$tmp/ext.cnf"
leaf() {
    local name=$1; shift
    openssl genpkey "$@" -out "$tmp/$name.key" 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in "$tmp/$name.key" -out "$name.key"
    openssl req -new -key "$name.key" -out "$tmp/$name.csr" -subj /CN=localhost
    openssl x509 -req -in "$tmp/$name.csr" -CA ca.pem -CAkey "$tmp/ca.key" -CAcreateserial \
        -CAserial "$tmp/ca.srl" -out "$name.pem" -days 36500 -extfile "$tmp/ext.cnf" 2>/dev/null
}
leaf server -algorithm EC -pkeyopt ec_paramgen_curve:P-256
leaf server-p384 -algorithm EC -pkeyopt ec_paramgen_curve:P-384
leaf server-ed25519 -algorithm ED25519
leaf server-rsa -algorithm RSA -pkeyopt rsa_keygen_bits:2048
# RSA signed by RSA (self-signed): for peers that check signature_algorithms_cert against the
# chain, such as the conformance suite's RSA configuration (tests/conformance).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/server-rsa-self.key" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$tmp/server-rsa-self.key" -out server-rsa-self.key
openssl req -x509 -new -key server-rsa-self.key -out server-rsa-self.pem -days 36500 -sha256 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -addext "basicConstraints=critical,CA:FALSE" -addext "extendedKeyUsage=serverAuth"
