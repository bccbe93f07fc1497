#!/usr/bin/env bash
# Certificates for the companion's webhook without cert-manager (with cert-manager, apply certificates.yaml instead).
#
#   bash deploy/kube-ovn/webhook-certs.sh OUTDIR [NAMESPACE] [DAYS]
#
# Makes a private CA and a server certificate for frr-supervisor-kube-ovn.NAMESPACE.svc (the Service the API server
# calls; NAMESPACE kube-system unless you moved companion.yaml), with openssl
# only, and writes into OUTDIR:
#   ca.crt, tls.crt, tls.key    the PEM files (keep ca.key out of the cluster: it is deleted here)
#   secret.yaml                 the Secret frr-supervisor-kube-ovn-webhook-tls the companion Deployment mounts
#   webhook.yaml                deploy/kube-ovn/webhook.yaml with the caBundle filled in and no cert-manager annotation
# Then: kubectl apply -f OUTDIR/secret.yaml -f OUTDIR/webhook.yaml. Run it again (and apply again) before DAYS
# (default 365) run out; the webhook reads a renewed certificate without a restart.
set -euo pipefail
out=${1:?usage: webhook-certs.sh OUTDIR [NAMESPACE] [DAYS]}
ns=${2:-kube-system}
days=${3:-365}
svc=frr-supervisor-kube-ovn
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" -subj "/CN=frr-supervisor-kube-ovn-ca" \
  -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$svc.$ns.svc" -keyout "$out/tls.key" -out "$out/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:%s.%s,DNS:%s.%s.svc,DNS:%s.%s.svc.cluster.local\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' \
  "$svc" "$svc" "$ns" "$svc" "$ns" "$svc" "$ns" >"$out/ext.cnf"
openssl x509 -req -sha256 -days "$days" -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -extfile "$out/ext.cnf" -out "$out/tls.crt" 2>/dev/null
rm -f "$out/ca.key" "$out/ca.srl" "$out/tls.csr" "$out/ext.cnf"
b64() { base64 -w0 <"$1"; }
cat >"$out/secret.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: frr-supervisor-kube-ovn-webhook-tls
  namespace: $ns
  labels:
    app.kubernetes.io/name: frr-supervisor-kube-ovn
type: kubernetes.io/tls
data:
  ca.crt: $(b64 "$out/ca.crt")
  tls.crt: $(b64 "$out/tls.crt")
  tls.key: $(b64 "$out/tls.key")
YAML
# webhook.yaml without the cert-manager annotation, with the CA and the namespace filled in.
ca=$(b64 "$out/ca.crt")
sed -e '/^  annotations:$/d' -e '/cert-manager.io\/inject-ca-from/d' \
  -e "s|^  clientConfig:$|  clientConfig:\n    caBundle: $ca|" \
  -e "s|^      namespace: kube-system$|      namespace: $ns|" \
  "$here/webhook.yaml" >"$out/webhook.yaml"
echo "wrote $out/secret.yaml and $out/webhook.yaml (CA valid $days days): kubectl apply -f $out/secret.yaml -f $out/webhook.yaml" >&2
