# nk-timeout: 1500
# Dynamic keying that must fail, and an ikebridged that must recover, on
# Debian's kernel (payload protection off: with IKE it does not work yet,
# see tests/kernel-vm/ikebridged/pending/) (RFC 4877 sec. 4.1, 7.3; RFC 3779 blocks from mobcert):
#   - a revoked certificate (the CA's CRL loaded on the home agent),
#   - an expired certificate,
#   - a valid certificate asking for another node's home address (its own
#     identity, the other node's address as traffic selector),
#   - a certificate for the right identity whose RFC 3779 block names
#     another home address,
# each: no CHILD_SA, no SA or binding for the home address on the home
# agent, the refusal logged. Then a good registration, and ikebridged
# killed (-9) and restarted on each side during the binding: the binding
# stays or comes back without manual action, traffic resumes, and after
# SIGTERM nothing is left (the restarted ikebridged removed the SAs its
# killed predecessor left behind).
source "$NK_SRC/tests/lib/check.sh"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
source "$NK_SRC/tests/kernel-vm/ikebridged/configs.sh"
cleanup() { kill -9 $PID_ha $PID_mr $PID_ikeha $PID_ikemr 2>/dev/null; topo_down; }
trap cleanup EXIT
mkdir -p /run/nemokey
mobcert=$NK_BUILD/certs/mobcert/mobcert
check "topology up" topo_up
kernel_state nk-ha > "$NK_OUT/ha-before.txt"
kernel_state nk-mr > "$NK_OUT/mr-before.txt"
cfg=$NK_OUT/config
check "certificates and configurations written" ikev2_configs "$cfg" false true
ca=$cfg/ca
m=$ca/nodes/mr.testbed.example
cp -r "$m" "$NK_OUT/mr-good"

# A second node on the home agent, whose home address the first one asks for.
cat > "$cfg/ha/nodes.d/mr2.toml" <<EOC
identity = "mr2.testbed.example"
role = "mobile-router"
home-address = "2001:db8:1::200"
[mobile-network]
prefixes = ["2001:db8:1:200::/64"]
[keying]
method = "ikev2"
[protection]
payload-tunnel = false
home-test = false
EOC
"$mobcert" issue --ca-dir "$ca" --role mr --id mr2.testbed.example --home-address 2001:db8:1::200 \
  --prefix 2001:db8:1:200::/64 >/dev/null

ha_up() {
  ikebridged_start nk-ha ikeha "$cfg/ha/ha.toml" --crl "$ca/x509crl/ca.crl.pem" &&
    mobilityd_start nk-ha ha "$cfg/ha/ha.toml" --ikebridged-socket /run/nemokey/ikeha.sock
}
mr_up() {  # mr_up CONFIG
  ikebridged_start nk-mr ikemr "$1" && mobilityd_start nk-mr mr "$1" --ikebridged-socket /run/nemokey/ikemr.sock
}
MR_RUN=0
mr_down() {
  kill -TERM $PID_mr $PID_ikemr; wait $PID_mr $PID_ikemr
  rm -rf "$NK_OUT/state-mr"
  MR_RUN=$((MR_RUN + 1))
  mv "$NK_OUT/ikemr.log" "$NK_OUT/ikemr-$MR_RUN.log"; mv "$NK_OUT/mr.log" "$NK_OUT/mr-$MR_RUN.log"
}
ha_down() {
  kill -TERM $PID_ha; wait $PID_ha; kill -TERM $PID_ikeha; wait $PID_ikeha
  rm -rf "$NK_OUT/state-ha"
}
# refused CASE: waits (at most 60 s) until the mobile router's charon
# reports the refusal (AUTHENTICATION_FAILED or TS_UNACCEPTABLE from the
# home agent), then checks that nothing of it exists on the home agent.
refused() {
  local case=$1 i
  for i in $(seq 1 600); do
    grep -q 'received AUTHENTICATION_FAILED\|received TS_UNACCEPTABLE\|failed to establish CHILD_SA' \
      "$NK_OUT/ikemr.log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q 'received AUTHENTICATION_FAILED\|received TS_UNACCEPTABLE\|failed to establish CHILD_SA' "$NK_OUT/ikemr.log" ||
    { echo "$case: no refusal seen"; return 1; }
  if ip -n nk-ha xfrm state | grep -q "$TOPO_MR_HOA\|2001:db8:1::200"; then
    echo "$case: an SA for the home address exists on the home agent"; return 1
  fi
  if mobctl_at ha binding 2>/dev/null | grep -q "$TOPO_MR_HOA"; then
    echo "$case: the home agent holds a binding"; return 1
  fi
  if mobctl_at mr binding 2>/dev/null | grep -q 'bound'; then
    echo "$case: the mobile router believes it is bound"; return 1
  fi
  return 0
}
use_certificate() {  # use_certificate NODE-DIR: the mobile router's credentials
  sed -i -e "s|^certificate = .*|certificate = \"$(ls "$1"/x509/*.pem)\"|" \
         -e "s|^private-key = .*|private-key = \"$(ls "$1"/private/*.pem)\"|" "$cfg/mr/mr.toml"
}

check "home agent starts" ha_up

# 1. Revoked: revoke the mobile router, restart the home agent's
# ikebridged with the new CRL.
"$mobcert" revoke --ca-dir "$ca" mr.testbed.example --reason keyCompromise >/dev/null
ha_down; check "home agent restarts with the new CRL" ha_up
check "revoked: mobile router starts" mr_up "$cfg/mr/mr.toml"
check "revoked: refused, nothing installed" refused revoked
check "revoked: the home agent's charon said why" grep -q 'certificate was revoked' "$NK_OUT/ikeha.log"
mr_down

# 2. Expired: a certificate valid from 2020 to 2021 for the same identity.
"$mobcert" issue --ca-dir "$ca" --role mr --id mr.testbed.example --home-address "$TOPO_MR_HOA" --prefix "$TOPO_MNP" \
  --not-before 2020-01-01 --not-after 2021-01-01 --out "$NK_OUT/mr-expired" >/dev/null
use_certificate "$NK_OUT/mr-expired"
check "expired: mobile router starts" mr_up "$cfg/mr/mr.toml"
check "expired: refused, nothing installed" refused expired
check "expired: the home agent's charon said why" grep -q 'certificate invalid' "$NK_OUT/ikeha.log"
mr_down

# 3. Another node's home address: mr2's valid certificate and identity,
# mr's home address.
sed -e 's/^identity = "mr.testbed.example"/identity = "mr2.testbed.example"/' "$cfg/mr/mr.toml" > "$cfg/mr/mr-as-mr2.toml"
sed -i -e "s|^certificate = .*|certificate = \"$ca/nodes/mr2.testbed.example/x509/mr2.testbed.example.pem\"|" \
       -e "s|^private-key = .*|private-key = \"$ca/nodes/mr2.testbed.example/private/mr2.testbed.example.pem\"|" \
  "$cfg/mr/mr-as-mr2.toml"
check "another node's address: mobile router starts" mr_up "$cfg/mr/mr-as-mr2.toml"
check "another node's address: refused, nothing installed" refused other-address
check "another node's address: no CHILD_SA (TS_UNACCEPTABLE)" grep -q 'TS_UNACCEPT\|no acceptable traffic selectors' "$NK_OUT/ikeha.log"
mr_down

# 4. The right identity, a certificate whose block names mr2's address.
"$mobcert" issue --ca-dir "$ca" --role mr --id mr.testbed.example --home-address 2001:db8:1::200 \
  --prefix "$TOPO_MNP" --out "$NK_OUT/mr-wrong-block" >/dev/null
use_certificate "$NK_OUT/mr-wrong-block"
refusals_before=$(grep -c 'IKE_AUTHORIZATION_REFUSED' "$NK_OUT/ikeha.log")
check "wrong block: mobile router starts" mr_up "$cfg/mr/mr.toml"
check "wrong block: refused, nothing installed" refused wrong-block
check "wrong block: our authorisation hook refused it and said why" \
  test "$(grep -c 'IKE_AUTHORIZATION_REFUSED' "$NK_OUT/ikeha.log")" -gt "$refusals_before"
refusals=$(ike_counter ikeha authorization.refused)
echo "authorisation refusals counted by the home agent's ikebridged: $refusals"
mr_down

# 5. A good certificate (reissued after the revocation) registers.
"$mobcert" issue --ca-dir "$ca" --role mr --id mr.testbed.example --home-address "$TOPO_MR_HOA" \
  --prefix "$TOPO_MNP" --out "$NK_OUT/mr-new" >/dev/null
use_certificate "$NK_OUT/mr-new"
check "good certificate: mobile router starts" mr_up "$cfg/mr/mr.toml"
# bound_within_20s COA: the mobile router bound at COA (twice 10 s: under
# software emulation IKE with certificates alone can take seconds).
bound_within_20s() { wait_bound_at mr "$1" || wait_bound_at mr "$1"; }
check "good certificate: registered" bound_within_20s "$TOPO_MR_COA1"
check "good certificate: correspondent reaches the home address" topo_ping nk-cn "$TOPO_MR_HOA" 3

# 6. kill -9 of the mobile router's ikebridged during the binding.
kill -9 $PID_ikemr; wait $PID_ikemr 2>/dev/null
check "killed ikebridged left its SAs behind (what the restart must clean)" \
  sh -c "ip -n nk-mr xfrm state | grep -q 'src $TOPO_MR_HOA dst $TOPO_HA'"
check "mobile router's ikebridged restarts" ikebridged_start nk-mr ikemr "$cfg/mr/mr.toml"
check "the restart removed the stale SAs" grep -q 'IKE_STALE_SAS .* removed' "$NK_OUT/ikemr.log"
# wait_ready NAME SECONDS: until ikebridged NAME reports its SAs ready.
wait_ready() { local end=$((SECONDS + $2)); while ((SECONDS < end)); do ike_ready "$1" && return 0; sleep 0.2; done; return 1; }
check "mobilityd asked again and the SAs are back without manual action" wait_ready ikemr 60
check "still registered" bound_within_20s "$TOPO_MR_COA1"
check "correspondent reaches the home address after the restart" topo_ping nk-cn "$TOPO_MR_HOA" 5

# 7. kill -9 of the home agent's ikebridged: its SAs go with the restart;
# the mobile router's charon notices the dead IKE SA (DPD) and mobilityd
# has the SAs set up again.
kill -9 $PID_ikeha; wait $PID_ikeha 2>/dev/null
check "home agent's ikebridged restarts" ikebridged_start nk-ha ikeha "$cfg/ha/ha.toml" --crl "$ca/x509crl/ca.crl.pem"
check "the mobile router re-keys without manual action (DPD after 30 s idle, dead after ~16 s)" wait_ready ikeha 150
check "correspondent reaches the home address after the home agent's restart" topo_ping nk-cn "$TOPO_MR_HOA" 10

mr_down
ha_down
kernel_state nk-ha > "$NK_OUT/ha-after.txt"
kernel_state nk-mr > "$NK_OUT/mr-after.txt"
check "no SA, policy, route or tunnel left on the home agent" diff "$NK_OUT/ha-before.txt" "$NK_OUT/ha-after.txt"
check "no SA, policy, route or tunnel left on the mobile router" diff "$NK_OUT/mr-before.txt" "$NK_OUT/mr-after.txt"
check_done
