#!/usr/bin/env bash
# strongSwan loads what mobcert writes, as it is: for a home agent (RSA 3072),
# a mobile node (Ed25519, RFC 822 identity) and a mobile router (ECDSA P-256,
# with prefixes), `swanctl --load-creds` over a private vici socket loads the
# node certificate, the CA certificate, the CRL and the private key with no
# error, and charon parses the RFC 3779 blocks (swanctl --list-certs shows
# them as "addresses:").
#   swanctl_load_creds_test.sh ikebridged PATH/TO/ikebridged PATH/TO/mobcert
#   swanctl_load_creds_test.sh charon /usr/lib/ipsec/charon PATH/TO/mobcert
set -uo pipefail
kind=${1:?usage: swanctl_load_creds_test.sh ikebridged|charon DAEMON MOBCERT}
daemon=${2:?daemon path}
mobcert=${3:?mobcert path}
work=$(mktemp -d)
pid=""
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; sleep 1; kill -KILL "$pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "$0")/../../lib/check.sh"

ca=$work/ca
"$mobcert" init-ca --ca-dir "$ca" --name "swanctl test CA" >/dev/null || { echo "init-ca failed"; exit 1; }
"$mobcert" issue --ca-dir "$ca" --role ha --id ha.example.net --home-address 2001:db8:1::1 --prefix ::/0 \
  --key-type rsa3072 >/dev/null &&
"$mobcert" issue --ca-dir "$ca" --role mn --id mn@example.net --home-address 2001:db8:1::11 --key-type ed25519 >/dev/null &&
"$mobcert" issue --ca-dir "$ca" --role mr --id mr.example.net --home-address 2001:db8:1::10 \
  --prefix 2001:db8:100::/48 --prefix 2001:db8:200::/56 >/dev/null || { echo "issue failed"; exit 1; }

case $kind in
  ikebridged)
    "$daemon" --vici-socket "$work/vici" --ike-port 0 --ike-port-nat-t 0 >"$work/log" 2>&1 &
    pid=$! ;;
  charon)
    # Debian's charon with a private strongswan.conf: its own vici socket, no
    # fixed IKE ports, the compiled-in plugin list.
    cat >"$work/strongswan.conf" <<CONF
charon {
  port = 0
  port_nat_t = 0
  install_routes = no
  filelog { stderr { default = 1 } }
  plugins { vici { socket = unix://$work/vici } }
}
CONF
    STRONGSWAN_CONF=$work/strongswan.conf "$daemon" >"$work/log" 2>&1 &
    pid=$! ;;
  *) echo "unknown daemon kind '$kind'"; exit 2 ;;
esac
for _ in $(seq 100); do [[ -S $work/vici ]] && break; sleep 0.1; done
check "$kind: vici socket appears" test -S "$work/vici"

for id in ha.example.net mn@example.net mr.example.net; do
  node=$ca/nodes/$id
  : >"$node/swanctl.conf"  # swanctl reads the folders next to the file given with --file
  out=$(swanctl --load-creds --noprompt --uri "unix://$work/vici" --file "$node/swanctl.conf" 2>&1)
  rc=$?
  check "$id: swanctl --load-creds exits 0 (got $rc)" test "$rc" = 0
  check "$id: node certificate loaded" grep -qF "loaded certificate from '$node/x509/$id.pem'" <<<"$out"
  check "$id: CA certificate loaded" grep -qF "loaded certificate from '$node/x509ca/ca.pem'" <<<"$out"
  check "$id: CRL loaded" grep -qF "loaded certificate from '$node/x509crl/ca.crl.pem'" <<<"$out"
  check "$id: private key loaded" grep -qF "loaded private key from '$node/private/$id.pem'" <<<"$out"
  # Folders mobcert does not write (ocsp, pkcs12, ...) are only noted as absent.
  errors=$(grep -iE 'fail|error|invalid|unsupported' <<<"$out" | grep -vE "^opening directory '.*' failed: No such file or directory$")
  check "$id: no load errors${errors:+: $errors}" test -z "$errors"
  certs=$(swanctl --list-certs --uri "unix://$work/vici" 2>&1)
  check "$id: charon holds the key for its certificate" \
    grep -qE 'has private key' <<<"$(sed -n "/CN=$id\"/,/^\$/p" <<<"$certs")"
  case $id in
    mr.example.net)
      check "$id: charon parsed the RFC 3779 blocks" \
        grep -qF 'addresses: 2001:db8:1::10/128, 2001:db8:100::/48, 2001:db8:200::/56' <<<"$certs" ;;
    mn@example.net)
      check "$id: charon parsed the RFC 3779 block" grep -qF 'addresses: 2001:db8:1::11/128' <<<"$certs" ;;
    ha.example.net)
      check "$id: charon parsed the RFC 3779 block" grep -qxF '  addresses: ::/0' <<<"$certs" ;;
  esac
  check "$id: CA delegates everything" grep -qF 'addresses: 0.0.0.0/0, ::/0' <<<"$certs"
done

kill -TERM "$pid"
rc=timeout
for _ in $(seq 100); do
  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; rc=$?; break; fi
  sleep 0.1
done
pid=""
check "$kind: stops on SIGTERM (got $rc)" test "$rc" = 0
((CHECK_FAIL == 0)) || { echo "--- daemon log:"; tail -50 "$work/log"; }
check_done
