# Writes the configurations of the mobilityd scenarios into DIR (bash;
# source it, then call mobilityd_configs DIR): a home agent on the home
# link of the topology (lib/topology.sh) serving one mobile node with
# static RFC 3776 keys, and that mobile node on access links acc1/acc2.
# Key files are written with mode 0600, as mobilityd requires.
mobilityd_configs() {
  local dir=$1
  mkdir -p "$dir/ha/nodes.d" "$dir/ha/keys" "$dir/mn"
  cat > "$dir/ha/ha.toml" <<EOC
role = "home-agent"
[[interface]]
name = "eth0"
[home-agent]
addresses = ["$TOPO_HA"]
home-prefixes = ["$TOPO_HOME_PREFIX"]
nodes-dir = "nodes.d"
[timers]
binding-lifetime = 600
EOC
  cat > "$dir/ha/nodes.d/mn.toml" <<EOC
identity = "mn.testbed.example"
role = "mobile-node"
home-address = "$TOPO_MR_HOA"
[keying]
method = "static"
[keying.static]
encryption = "aes128-gcm16"
integrity = "none"
spi-to-home-agent = 0x2001
spi-from-home-agent = 0x2002
key-file = "../keys/mn.keys"
[protection]
payload-tunnel = false
home-test = false
EOC
  cat > "$dir/ha/keys/mn.keys" <<EOC
to-home-agent   0x000102030405060708090a0b0c0d0e0f10111213
from-home-agent 0x101112131415161718191a1b1c1d1e1f20212223
EOC
  cp "$dir/ha/keys/mn.keys" "$dir/mn/mn.keys"
  chmod 600 "$dir/ha/keys/mn.keys" "$dir/mn/mn.keys"
  cat > "$dir/mn/mn.toml" <<EOC
role = "mobile-node"
identity = "mn.testbed.example"
[[interface]]
name = "acc1"
preference = 20
[[interface]]
name = "acc2"
preference = 10
[home]
home-agent-addresses = ["$TOPO_HA"]
home-prefix = "$TOPO_HOME_PREFIX"
home-address = "$TOPO_MR_HOA"
[timers]
binding-lifetime = 600
[keying]
method = "static"
[keying.static]
encryption = "aes128-gcm16"
integrity = "none"
spi-to-home-agent = 0x2001
spi-from-home-agent = 0x2002
key-file = "mn.keys"
[protection]
payload-tunnel = false
home-test = false
EOC
}

# mobilityd_start NS NAME CONFIG [OPTION...]: starts mobilityd in NS in the
# background (log NAME.log and state directory state-NAME in
# MOBILITYD_RUN_DIR, default $NK_OUT; socket /run/nemokey/NAME.sock; the
# OPTIONs go to mobilityd) and waits until its control socket answers
# (status-get), at most MOBILITYD_START_WAIT seconds (default 20).
mobilityd_start() {
  local ns=$1 name=$2 config=$3 i dir=${MOBILITYD_RUN_DIR:-$NK_OUT}
  shift 3
  ip netns exec "$ns" "$NK_BUILD/mobility/daemon/mobilityd" --config "$config" \
    --socket "/run/nemokey/$name.sock" --state-dir "$dir/state-$name" --debug "$@" \
    >>"$dir/$name.log" 2>&1 &
  eval "PID_$name=$!"
  for i in $(seq 1 $(( ${MOBILITYD_START_WAIT:-20} * 10 ))); do
    "$NK_BUILD/mobility/mobctl/mobctl" --socket "/run/nemokey/$name.sock" status >/dev/null 2>&1 && return 0
    kill -0 "$(eval echo \$PID_$name)" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# mobctl_at NAME ARGS...: mobctl against the daemon NAME.
mobctl_at() { local name=$1; shift; "$NK_BUILD/mobility/mobctl/mobctl" --socket "/run/nemokey/$name.sock" "$@"; }

# kernel_state NS: every object of the namespace that a daemon may change,
# one line each, sorted (to compare before and after). Lifetimes that count
# down (an address's valid/preferred lifetime, a route's expiry) and an
# SA's replay counters and last use (they move with every packet, a refresh BU during a
# restart included) are cut from their lines, not the lines dropped: `ip -o
# addr` prints every address with its lifetimes, so dropping those lines
# would compare no address.
kernel_state() {
  local ns=$1
  { ip -n "$ns" -o link show | sed 's/^[0-9]*: //; s/ link\/.*//' ; ip -n "$ns" -o addr show ; ip -n "$ns" -o xfrm state ;
    ip -n "$ns" -o xfrm policy ; ip -n "$ns" -6 route show table all ; ip -n "$ns" -6 rule ; ip -n "$ns" -6 neigh show proxy ;
    tc -n "$ns" qdisc show | sed 's/^/tc /' ;
    for dev in $(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
      tc -n "$ns" filter show dev "$dev" ingress | sed "s/^/tc $dev ingress /"
    done ; } 2>&1 |
    sed -e 's/ *valid_lft [^ ]* preferred_lft [^ ]*//' -e 's/ expires [0-9]*sec//' \
        -e 's/anti-replay context: [^\\]*//' -e 's/lastused [0-9-]* [0-9:]*//' |
    grep -v 'cache\|fe80::' | sort
}

# mobilityd_router_configs DIR MODE: the same home agent serving a mobile
# router (static keys) with the mobile network prefix of the topology, and
# the mobile router itself in MODE explicit or implicit (RFC 3963 sec. 5.2).
mobilityd_router_configs() {
  local dir=$1 mode=$2
  mobilityd_configs "$dir"
  rm -f "$dir/ha/nodes.d/mn.toml"
  sed -e 's/^role = "mobile-node"/role = "mobile-router"/' -e 's/mn.testbed.example/mr.testbed.example/' \
    "$dir/mn/mn.toml" > "$dir/mn/mr.toml"
  cat >> "$dir/mn/mr.toml" <<EOC
[mobile-network]
mode = "$mode"
prefixes = ["$TOPO_MNP"]
EOC
  cat > "$dir/ha/nodes.d/mr.toml" <<EOC
identity = "mr.testbed.example"
role = "mobile-router"
home-address = "$TOPO_MR_HOA"
[mobile-network]
mode = "$mode"
prefixes = ["$TOPO_MNP"]
[keying]
method = "static"
[keying.static]
encryption = "aes128-gcm16"
integrity = "none"
spi-to-home-agent = 0x2001
spi-from-home-agent = 0x2002
key-file = "../keys/mn.keys"
[protection]
payload-tunnel = false
home-test = false
EOC
}

# wait_cache_empty NAME [SECONDS]: until daemon NAME (a home agent) has no
# binding any more (mobctl's result 3), at most SECONDS (10).
wait_cache_empty() {
  local i
  for i in $(seq 1 $(( ${2:-10} * 10 ))); do
    mobctl_at "$1" binding >/dev/null 2>&1 || return 0
    sleep 0.1
  done
  return 1
}

# wait_bound_at NAME COA: until daemon NAME's binding is bound at COA (10 s).
wait_bound_at() {
  local name=$1 coa=$2 i
  for i in $(seq 1 100); do
    mobctl_at "$name" binding 2>/dev/null | grep -q "$coa .*bound" && return 0
    sleep 0.1
  done
  return 1
}

# mobilityd_configs_routers DIR: adds to the home agent's configuration in
# DIR (written by mobilityd_configs) two mobile routers with static keys and
# one mobile network prefix each, which no daemon plays: a test client
# (tests/kernel-vm/mobilityd/bad_input.py) speaks for them with the keys
# below. mr1: home address ::201, prefix 2001:db8:1:201::/64, SPIs
# 0x2011/0x2012; mr2: ::202, 2001:db8:1:202::/64, SPIs 0x2021/0x2022.
MOBILITYD_MR1_HOA=2001:db8:1::201
MOBILITYD_MR1_PREFIX=2001:db8:1:201::/64
MOBILITYD_MR2_HOA=2001:db8:1::202
MOBILITYD_MR2_PREFIX=2001:db8:1:202::/64
mobilityd_configs_routers() {
  local dir=$1 n hoa prefix
  for n in 1 2; do
    eval "hoa=\$MOBILITYD_MR${n}_HOA prefix=\$MOBILITYD_MR${n}_PREFIX"
    cat > "$dir/ha/nodes.d/mr$n.toml" <<EOC
identity = "mr$n.testbed.example"
role = "mobile-router"
home-address = "$hoa"
[mobile-network]
mode = "explicit"
prefixes = ["$prefix"]
[keying]
method = "static"
[keying.static]
encryption = "aes128-gcm16"
integrity = "none"
spi-to-home-agent = 0x20${n}1
spi-from-home-agent = 0x20${n}2
key-file = "../keys/mr$n.keys"
[protection]
payload-tunnel = false
home-test = false
EOC
    cat > "$dir/ha/keys/mr$n.keys" <<EOC
to-home-agent   0x${n}${n}0102030405060708090a0b0c0d0e0f10111213
from-home-agent 0x${n}${n}1112131415161718191a1b1c1d1e1f20212223
EOC
    chmod 600 "$dir/ha/keys/mr$n.keys"
  done
}

# mobilityd_add_mobile_node DIR NAME HOA N: one more mobile node NAME with
# home address HOA served by the home agent in DIR (mobilityd_configs
# first): its node file and key file at the home agent, and its own
# configuration DIR/NAME/NAME.toml (access interfaces acc1, acc2 as
# topo_add_mobile makes them). N (3..9) picks distinct SPIs 0x20N1/0x20N2
# and keys.
mobilityd_add_mobile_node() {
  local dir=$1 name=$2 hoa=$3 n=$4
  mkdir -p "$dir/$name"
  sed -e "s/mn.testbed.example/$name.testbed.example/" -e "s/^home-address = .*/home-address = \"$hoa\"/" \
    -e "s/0x2001/0x20${n}1/" -e "s/0x2002/0x20${n}2/" -e "s|../keys/mn.keys|../keys/$name.keys|" \
    "$dir/ha/nodes.d/mn.toml" > "$dir/ha/nodes.d/$name.toml"
  cat > "$dir/ha/keys/$name.keys" <<EOC
to-home-agent   0x${n}${n}0102030405060708090a0b0c0d0e0f10111213
from-home-agent 0x${n}${n}1112131415161718191a1b1c1d1e1f20212223
EOC
  cp "$dir/ha/keys/$name.keys" "$dir/$name/$name.keys"
  chmod 600 "$dir/ha/keys/$name.keys" "$dir/$name/$name.keys"
  sed -e "s/mn.testbed.example/$name.testbed.example/" -e "s/^home-address = .*/home-address = \"$hoa\"/" \
    -e "s/0x2001/0x20${n}1/" -e "s/0x2002/0x20${n}2/" -e "s|\"mn.keys\"|\"$name.keys\"|" \
    "$dir/mn/mn.toml" > "$dir/$name/$name.toml"
}

# mobctl_counter NAME KEY: counter KEY of daemon NAME (mobctl --json
# counters), 0 when the daemon has not counted it yet.
mobctl_counter() {
  mobctl_at "$1" --json counters |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1], 0))' "$2"
}

# wait_counter NAME KEY MIN [SECONDS]: until daemon NAME's counter KEY is at
# least MIN, at most SECONDS (10).
wait_counter() {
  local name=$1 key=$2 min=$3 i
  for i in $(seq 1 $(( ${4:-10} * 10 ))); do
    [ "$(mobctl_counter "$name" "$key" 2>/dev/null || echo 0)" -ge "$min" ] && return 0
    sleep 0.1
  done
  echo "$name: $key is $(mobctl_counter "$name" "$key"), expected at least $min" >&2
  return 1
}

# xfrm_packets NS SRC DST PROTO: the packets counted on the xfrm state SRC ->
# DST of PROTO (esp, route2, hao) in NS (ip -s xfrm state), empty if none.
xfrm_packets() {
  ip -n "$1" -s xfrm state | awk -v s="$2" -v d="$3" -v p="$4" '
    /^src / { here = ($2 == s && $4 == d); found = 0 }
    here && $1 == "proto" && $2 == p { found = 1 }
    found && /lifetime current:/ { getline; gsub(/.*, */, ""); sub(/\(packets\).*/, ""); print; found = 0 }'
}
