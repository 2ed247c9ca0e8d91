#!/bin/sh
# docker compose's one-shot `certs` step: a CA of this machine's own and one server certificate it
# signs for the compose hosts (kafka, redis) and localhost, into the `certs` volume. Nothing secret
# is committed; the files are made once and kept with the volume (`docker compose down -v` drops
# them). Production takes its certificates from its own CA (deploy/README.md, Security).
#
#   make-certs.sh <dir>     needs KAFKA_KEYSTORE_PASSWORD (the PKCS#12 keystore the broker reads)
set -eu
dir=${1:?usage: make-certs.sh <dir>}
: "${KAFKA_KEYSTORE_PASSWORD:?KAFKA_KEYSTORE_PASSWORD is required}"
if [ -s "$dir/ca.crt" ] && [ -s "$dir/server.p12" ]; then
  echo "certs: $dir already holds a CA and server certificate"
  exit 0
fi
command -v openssl >/dev/null 2>&1 || apk add --no-cache openssl >/dev/null
mkdir -p "$dir"
cd "$dir"
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 825 \
  -subj "/CN=lead-scorer compose CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=lead-scorer" 2>/dev/null
printf '%s\n' 'subjectAltName=DNS:kafka,DNS:redis,DNS:localhost,IP:127.0.0.1' 'basicConstraints=CA:FALSE' \
  'keyUsage=digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 825 \
  -extfile server.ext 2>/dev/null
openssl pkcs12 -export -in server.crt -inkey server.key -name server -out server.p12 \
  -passout env:KAFKA_KEYSTORE_PASSWORD
rm -f server.csr server.ext ca.srl ca.key
# The broker and Redis run as their images' own non-root users: they read the files, nobody else
# on a dev machine needs to (the volume is Docker's).
chmod 644 ca.crt server.crt server.key server.p12
echo "certs: CA and server certificate written to $dir"
