#!/usr/bin/env bash
# Two embedded charons (ikebridged) authenticate each other with mobcert's
# certificates over loopback: a mobile node (Ed25519, RFC 822 identity) and a
# home agent (ECDSA). Childless IKE_SAs (RFC 6023), so nothing reaches the
# kernel's SAD/SPD. Checks what the design relies on:
#   1. the IKE_SA is established, CRL checked, RFC 3779 chain accepted;
#   2. strongSwan's addrblock plugin (strict) rejects a home agent
#      certificate without address blocks under our CA, which has blocks
#      (the reason mobcert gives every certificate blocks);
#   3. after `mobcert revoke` + the new CRL loaded + cached CRLs flushed,
#      the home agent refuses the mobile node.
#   ike_auth_test.sh PATH/TO/ikebridged PATH/TO/mobcert PATH/TO/openssl
set -uo pipefail
daemon=${1:?usage: ike_auth_test.sh IKEBRIDGED MOBCERT OPENSSL}
mobcert=${2:?mobcert path}
openssl=${3:?openssl path}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 1
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "$0")/../../lib/check.sh"

ca=$work/ca
ha=$ca/nodes/ha.example.net
mn=$ca/nodes/mn@example.net
"$mobcert" init-ca --ca-dir "$ca" >/dev/null &&
"$mobcert" issue --ca-dir "$ca" --role ha --id ha.example.net --home-address 2001:db8:1::1 --prefix ::/0 >/dev/null &&
"$mobcert" issue --ca-dir "$ca" --role mn --id mn@example.net --home-address 2001:db8:1::11 --key-type ed25519 >/dev/null ||
  { echo "mobcert failed"; exit 1; }

ha_port=$((40000 + RANDOM % 20000))
mn_port=$((ha_port + 1))
cat >"$ha/swanctl.conf" <<CONF
connections {
  ha {
    local_addrs = 127.0.0.1
    local {
      auth = pubkey
      certs = ha.example.net.pem
      id = ha.example.net
    }
    remote {
      auth = pubkey
      id = mn@example.net
    }
  }
}
CONF
cat >"$mn/swanctl.conf" <<CONF
connections {
  mn {
    remote_addrs = 127.0.0.1
    remote_port = $ha_port
    childless = force
    local {
      auth = pubkey
      certs = mn@example.net.pem
      id = mn@example.net
    }
    remote {
      auth = pubkey
      id = ha.example.net
    }
  }
}
CONF

start() {  # start NAME PORT
  "$daemon" --vici-socket "$work/$1.vici" --ike-port "$2" --ike-port-nat-t 0 >"$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [[ -S $work/$1.vici ]] && break; sleep 0.1; done
  check "$1: vici socket appears" test -S "$work/$1.vici"
}
start ha "$ha_port"
start mn "$mn_port"
sw() {  # sw NAME swanctl-args...
  local name=$1; shift
  swanctl "$@" --uri "unix://$work/$name.vici" 2>&1
}
check "ha: configuration and credentials load" \
  grep -q "successfully loaded 1 connections" <<<"$(sw ha --load-all --noprompt --file "$ha/swanctl.conf")"
check "mn: configuration and credentials load" \
  grep -q "successfully loaded 1 connections" <<<"$(sw mn --load-all --noprompt --file "$mn/swanctl.conf")"

# 1. Mutual authentication with the certificates as mobcert wrote them.
out=$(timeout 30 swanctl --initiate --ike mn --uri "unix://$work/mn.vici" 2>&1)
check "1: IKE_SA established" grep -q "initiate completed successfully" <<<"$out"
check "1: mobile node checked the home agent's certificate against the CRL" \
  grep -q "certificate status is good" <<<"$out"
check "1: home agent sees the mobile node's IKE_SA" \
  grep -q "ESTABLISHED.*" <<<"$(sw ha --list-sas --ike ha)"
sw mn --terminate --ike mn >/dev/null

# 2. A home agent certificate without RFC 3779 blocks, signed by the same CA
#    with the openssl binary (mobcert refuses to make one).
mkdir -p "$work/noblocks"
"$openssl" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=nemokey/CN=ha.example.net" \
  -keyout "$work/noblocks/key.pem" -out "$work/noblocks/csr.pem" 2>/dev/null
printf 'subjectAltName = DNS:ha.example.net\nbasicConstraints = critical,CA:FALSE\n' >"$work/noblocks/ext.cnf"
"$openssl" x509 -req -in "$work/noblocks/csr.pem" -CA "$ca/x509ca/ca.pem" -CAkey "$ca/ca.key.pem" -CAcreateserial \
  -days 30 -extfile "$work/noblocks/ext.cnf" -out "$work/noblocks/cert.pem" 2>/dev/null
check "2: openssl made the block-less certificate" test -s "$work/noblocks/cert.pem"
mv "$ha/x509/ha.example.net.pem" "$work/ha-cert.pem"
mv "$ha/private/ha.example.net.pem" "$work/ha-key.pem"
cp "$work/noblocks/cert.pem" "$ha/x509/ha.example.net.pem"
install -m 0600 "$work/noblocks/key.pem" "$ha/private/ha.example.net.pem"
sw ha --load-all --noprompt --file "$ha/swanctl.conf" >/dev/null
out=$(timeout 30 swanctl --initiate --ike mn --uri "unix://$work/mn.vici" 2>&1)
check "2: IKE_SA refused" grep -q "initiate failed" <<<"$out"
check "2: refused by the addrblock validator (subject lacks ipAddrBlocks)" \
  grep -q "subject certificate lacks ipAddrBlocks extension" <<<"$out"
mv -f "$work/ha-cert.pem" "$ha/x509/ha.example.net.pem"
mv -f "$work/ha-key.pem" "$ha/private/ha.example.net.pem"
sw ha --load-all --noprompt --file "$ha/swanctl.conf" >/dev/null
out=$(timeout 30 swanctl --initiate --ike mn --uri "unix://$work/mn.vici" 2>&1)
check "2: with mobcert's certificate back it works again" grep -q "initiate completed successfully" <<<"$out"
sw mn --terminate --ike mn >/dev/null

# 3. Revocation reaches the home agent through its x509crl/ folder.
"$mobcert" revoke --ca-dir "$ca" mn@example.net --reason keyCompromise >/dev/null &&
"$mobcert" crl --ca-dir "$ca" --out "$ha" >/dev/null
check "3: CRL loads" grep -q "x509crl/ca.crl.pem" <<<"$(sw ha --load-creds --noprompt --file "$ha/swanctl.conf")"
# charon keeps CRLs it verified in its certificate cache, and that cache is
# asked first: without the flush the old CRL would still say "good".
sw ha --flush-certs --type x509crl >/dev/null
out=$(timeout 30 swanctl --initiate --ike mn --uri "unix://$work/mn.vici" 2>&1)
check "3: IKE_SA refused (AUTHENTICATION_FAILED)" grep -q "AUTHENTICATION_FAILED" <<<"$out"
check "3: home agent found the certificate revoked" \
  grep -q "certificate was revoked on .* reason: key compromise" "$work/ha.log"

((CHECK_FAIL == 0)) || { echo "--- ha log:"; tail -40 "$work/ha.log"; echo "--- mn log:"; tail -20 "$work/mn.log"; }
check_done
