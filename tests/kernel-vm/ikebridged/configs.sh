# Configurations with IKEv2 keying (RFC 4877) for the ikebridged scenarios
# (bash; source after tests/kernel-vm/mobilityd/configs.sh): certificates
# from mobcert (a CA, the home agent, the mobile router), the home agent
# serving the mobile router of the topology, and the mobile router on
# access links acc1/acc2.
#   ikev2_configs DIR [PAYLOAD true|false] [K true|false]
ikev2_configs() {
  local dir=$1 payload=${2:-false} k=${3:-true}
  local mobcert=$NK_BUILD/certs/mobcert/mobcert ca=$dir/ca
  mkdir -p "$dir/ha/nodes.d" "$dir/mr"
  "$mobcert" init-ca --ca-dir "$ca" >/dev/null || return 1
  "$mobcert" issue --ca-dir "$ca" --role ha --id ha.testbed.example --home-address "$TOPO_HA" --prefix ::/0 >/dev/null || return 1
  "$mobcert" issue --ca-dir "$ca" --role mr --id mr.testbed.example --home-address "$TOPO_MR_HOA" \
    --prefix "$TOPO_MNP" >/dev/null || return 1
  local h=$ca/nodes/ha.testbed.example m=$ca/nodes/mr.testbed.example
  cat > "$dir/ha/ha.toml" <<EOC
role = "home-agent"
[[interface]]
name = "eth0"
[home-agent]
addresses = ["$TOPO_HA"]
home-prefixes = ["$TOPO_HOME_PREFIX"]
identity = "ha.testbed.example"
nodes-dir = "nodes.d"
[timers]
binding-lifetime = 600
[keying]
certificate = "$h/x509/ha.testbed.example.pem"
private-key = "$h/private/ha.testbed.example.pem"
ca-certificate = "$h/x509ca/ca.pem"
EOC
  cat > "$dir/ha/nodes.d/mr.toml" <<EOC
identity = "mr.testbed.example"
role = "mobile-router"
home-address = "$TOPO_MR_HOA"
[mobile-network]
mode = "explicit"
prefixes = ["$TOPO_MNP"]
[keying]
method = "ikev2"
k-flag = $k
[protection]
payload-tunnel = $payload
home-test = false
EOC
  cat > "$dir/mr/mr.toml" <<EOC
role = "mobile-router"
identity = "mr.testbed.example"
[[interface]]
name = "acc1"
preference = 20
[[interface]]
name = "acc2"
preference = 10
[home]
home-agent-addresses = ["$TOPO_HA"]
home-agent-identity = "ha.testbed.example"
home-prefix = "$TOPO_HOME_PREFIX"
home-address = "$TOPO_MR_HOA"
[mobile-network]
mode = "explicit"
prefixes = ["$TOPO_MNP"]
[timers]
binding-lifetime = 600
[keying]
method = "ikev2"
k-flag = $k
certificate = "$m/x509/mr.testbed.example.pem"
private-key = "$m/private/mr.testbed.example.pem"
ca-certificate = "$m/x509ca/ca.pem"
[protection]
payload-tunnel = $payload
home-test = false
EOC
}

# ikebridged_start NS NAME CONFIG [ARGS...]: ikebridged in NS (log in
# $NK_OUT/NAME.log, channel /run/nemokey/NAME.sock, vici
# /run/nemokey/NAME.vici); waits until its connections are loaded (60 s).
ikebridged_start() {
  local ns=$1 name=$2 config=$3 i ready; shift 3
  # A restarted ikebridged appends to the same log: wait for one more
  # IKE_READY than there already is.
  ready=$(grep -c 'IKE_READY' "$NK_OUT/$name.log" 2>/dev/null); ready=${ready:-0}
  ip netns exec "$ns" "$NK_BUILD/ikebridge/daemon/ikebridged" --config "$config" \
    --socket "/run/nemokey/$name.sock" --vici-socket "/run/nemokey/$name.vici" "$@" \
    >>"$NK_OUT/$name.log" 2>&1 &
  eval "PID_$name=$!"
  for i in $(seq 1 600); do
    (( $(grep -c 'IKE_READY' "$NK_OUT/$name.log" 2>/dev/null) > ready )) && return 0
    kill -0 "$(eval echo \$PID_$name)" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# ike_at NAME COMMAND: one command on ikebridged NAME's channel, the answer's
# JSON on stdout.
ike_at() {
  python3 - "/run/nemokey/$1.sock" "$2" <<'EOP'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(json.dumps({"command": sys.argv[2]}).encode() + b"\n"); s.shutdown(socket.SHUT_WR)
data = b""
while chunk := s.recv(65536): data += chunk
print(json.dumps(json.loads(data)))
EOP
}

# ike_counter NAME KEY: one counter of ikebridged NAME (0 when absent).
ike_counter() {
  ike_at "$1" counters-get | python3 -c "import json,sys; print(json.load(sys.stdin)['arguments'].get('$2', 0))"
}

# ike_ready NAME: ikebridged NAME reports its (first) connection ready.
ike_ready() { ike_at "$1" status-get | grep -q '"ready": true'; }

# ike_stack_stop [LABEL] [SUFFIX]: SIGTERM to the mobile router's and the
# home agent's mobilityd and ikebridged (PID_mr, PID_ha, PID_ikemr,
# PID_ikeha), then checks that all four stopped cleanly and that both
# namespaces are as $NK_OUT/ha-before.txt and mr-before.txt recorded them
# (the states after go to $NK_OUT/ha-afterSUFFIX.txt, mr-afterSUFFIX.txt).
# LABEL goes before each check's name.
ike_stack_stop() {
  local label=${1:-} suffix=${2:-} rc
  kill -TERM $PID_mr; wait $PID_mr; rc=$?
  kill -TERM $PID_ha; wait $PID_ha; rc=$rc$?
  kill -TERM $PID_ikemr; wait $PID_ikemr; rc=$rc$?
  kill -TERM $PID_ikeha; wait $PID_ikeha; rc=$rc$?
  check "${label}all four daemons stopped cleanly" test "$rc" = 0000
  kernel_state nk-ha > "$NK_OUT/ha-after$suffix.txt"
  kernel_state nk-mr > "$NK_OUT/mr-after$suffix.txt"
  check "${label}SIGTERM left the home agent's namespace as found" diff "$NK_OUT/ha-before.txt" "$NK_OUT/ha-after$suffix.txt"
  check "${label}SIGTERM left the mobile router's namespace as found" \
    diff "$NK_OUT/mr-before.txt" "$NK_OUT/mr-after$suffix.txt"
}

# trace_grows FILE: an nk_stream --trace FILE gets new lines within 5 s
# (the stream flows).
trace_grows() {
  local before i; before=$(wc -l < "$1")
  for i in $(seq 50); do (( $(wc -l < "$1") > before )) && return 0; sleep 0.1; done
  return 1
}
