# Topology library for kernel-VM scenarios (bash; source it).
#
#   home link (dual stack)          access link 1 (IPv6 only)
#   nk-ha  nk-cn                     nk-ar1 ---- nk-mr(acc1) nk-obs(obs1)
#      \    /                          |            |
#      nk-core ------------------------+          nk-mr --(mnet)-- nk-mnn
#         |                                         |
#      nk-ar2 ---- access link 2 (dual stack) ---- nk-mr(acc2) nk-obs(obs2)
#
# Each access link and the home link is a bridge inside its router's
# namespace; an access router joins its bridge through a veth ("lan").
# Addresses are documentation prefixes (RFC 3849, RFC 5737).
# topo_up builds it, topo_down removes every trace; scenarios call
# topo_down from an EXIT trap.
#
# Two ways to give the mobile router its care-of addresses:
# - static (default): nk-mr has TOPO_MR_COA1/2 (and TOPO_MR_COA2_4) and
#   static default routes; the access routers are plain forwarders.
# - SLAAC (TOPO_SLAAC=1 before topo_up): nk-ar1/nk-ar2 run Debian's radvd on
#   "lan" with the fast Mobile IPv6 intervals of RFC 6275 sec. 7.5
#   (MinRtrAdvInterval 0.03 s, MaxRtrAdvInterval 0.07 s, Advertisement
#   Interval option, R flag with the router's address in the prefix option,
#   H flag off). nk-mr has no static address or default route on acc1/acc2
#   (no IPv4 there either: nobody hands one out); its kernel takes the
#   care-of addresses by SLAAC with DAD (accept_ra=2 since nk-mr forwards,
#   autoconf=1, accept_dad=1, optimistic_dad=1 and use_optimistic=1, which
#   6.1 does not apply while the namespace forwards: RFC 4429 leaves routers
#   out) and the default routes from the Router Advertisements, and ignores
#   routes whose link lost carrier (ignore_routes_with_linkdown=1).
#   TOPO_ATTACH lists the access links attached after topo_up (default "1";
#   "1 2" in static mode).
#
# Moving (both modes): topo_detach N takes access link N away from the
# mobile router at layer 2, as a radio that leaves coverage: the router end
# of the link (acc$N-mr in nk-ar$N) goes down, so nk-mr's accN stays
# administratively up, sees NO-CARRIER (operstate LOWERLAYERDOWN), keeps its
# addresses, and its routes over accN are flagged linkdown. topo_attach N
# brings the router end up again: carrier returns, the Router Advertisements
# arrive. topo_move_to N detaches the other link first (break before make),
# then attaches N. topo_handover N does the same and waits for the care-of
# address on accN (see there).

TOPO_NAMESPACES=(nk-ha nk-cn nk-core nk-ar1 nk-ar2 nk-mr nk-mnn nk-obs)

# Home link 2001:db8:1::/64 and 192.0.2.0/24
TOPO_HOME_PREFIX=2001:db8:1::/64
TOPO_HA=2001:db8:1::1
TOPO_HA4=192.0.2.1
TOPO_CN=2001:db8:1::c
TOPO_CN4=192.0.2.12
TOPO_CORE_HOME=2001:db8:1::fe
TOPO_CORE_HOME4=192.0.2.254
# The mobile router's home address and mobile network prefix
TOPO_MR_HOA=2001:db8:1::100
TOPO_MNP=2001:db8:1:100::/64
TOPO_MR_MNET=2001:db8:1:100::1
TOPO_MNN=2001:db8:1:100::10
# Access link 1, IPv6 only
TOPO_ACC1_PREFIX=2001:db8:a1::/64
TOPO_AR1=2001:db8:a1::1
TOPO_MR_COA1=2001:db8:a1::100
# Access link 2, dual stack
TOPO_ACC2_PREFIX=2001:db8:a2::/64
TOPO_AR2=2001:db8:a2::1
TOPO_MR_COA2=2001:db8:a2::100
TOPO_AR2_4=198.51.100.1
TOPO_MR_COA2_4=198.51.100.100
# Core transfer links
TOPO_CORE_AR1=2001:db8:ff01::1
TOPO_AR1_UP=2001:db8:ff01::2
TOPO_CORE_AR2=2001:db8:ff02::1
TOPO_AR2_UP=2001:db8:ff02::2
TOPO_CORE_AR2_4=203.0.113.1
TOPO_AR2_UP_4=203.0.113.2

# SLAAC mode and the links attached after topo_up (see the top).
TOPO_SLAAC=${TOPO_SLAAC:-0}
# radvd's configuration and pid files (guest /run is a tmpfs); its logs go
# to the scenario's output folder when there is one.
TOPO_RUN_DIR=/run/nemokey-topology
TOPO_RADVD_MIN_INTERVAL=0.03
TOPO_RADVD_MAX_INTERVAL=0.07

topo_log() { echo "topology: $*"; }

# topo_up: creates namespaces, links, addresses and routes.
topo_up() {
  local ns
  {
    for ns in "${TOPO_NAMESPACES[@]}"; do echo "netns add $ns"; done
  } | ip -batch - || return 1
  for ns in "${TOPO_NAMESPACES[@]}"; do
    # Static addresses with no DAD delay; routers forward.
    ip netns exec "$ns" sh -c '
      echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad
      echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad
      echo 0 > /proc/sys/net/ipv6/conf/default/accept_ra
      echo 1 > /proc/sys/net/ipv6/conf/all/forwarding
      echo 1 > /proc/sys/net/ipv4/ip_forward' || return 1
  done
  ip -batch - <<EOB || return 1
link add eth0 netns nk-ha type veth peer name home-ha netns nk-core
link add eth0 netns nk-cn type veth peer name home-cn netns nk-core
link add uplink netns nk-ar1 type veth peer name ar1 netns nk-core
link add uplink netns nk-ar2 type veth peer name ar2 netns nk-core
link add acc1 netns nk-mr type veth peer name acc1-mr netns nk-ar1
link add obs1 netns nk-obs type veth peer name acc1-obs netns nk-ar1
link add acc2 netns nk-mr type veth peer name acc2-mr netns nk-ar2
link add obs2 netns nk-obs type veth peer name acc2-obs netns nk-ar2
link add mnet netns nk-mr type veth peer name eth0 netns nk-mnn
EOB
  if [[ $TOPO_SLAAC == 1 ]]; then
    # Before the links come up: the kernel configures them by SLAAC.
    ip netns exec nk-mr sh -c '
      for d in acc1 acc2; do
        c=/proc/sys/net/ipv6/conf/$d
        for s in accept_ra=2 autoconf=1 accept_dad=1 ignore_routes_with_linkdown=1 \
                 optimistic_dad=1 use_optimistic=1; do
          f=$c/${s%=*}
          [ -e $f ] || continue
          # (6.1 answers EIO to ignore_routes_with_linkdown yet takes it)
          echo ${s#*=} 2>/dev/null > $f
          [ "$(cat $f)" = ${s#*=} ] || echo "topology: nk-mr: cannot set $f" >&2
        done
      done
      true' || return 1
  fi
  ip -n nk-core -batch - <<EOB || return 1
link set lo up
link add br-home type bridge
link set home-ha master br-home
link set home-cn master br-home
link set home-ha up
link set home-cn up
link set br-home up
link set ar1 up
link set ar2 up
addr add $TOPO_CORE_HOME/64 dev br-home nodad
addr add $TOPO_CORE_HOME4/24 dev br-home
addr add $TOPO_CORE_AR1/64 dev ar1 nodad
addr add $TOPO_CORE_AR2/64 dev ar2 nodad
addr add $TOPO_CORE_AR2_4/30 dev ar2
route add $TOPO_ACC1_PREFIX via $TOPO_AR1_UP
route add $TOPO_ACC2_PREFIX via $TOPO_AR2_UP
route add 198.51.100.0/24 via $TOPO_AR2_UP_4
route add $TOPO_MNP via $TOPO_HA
EOB
  local n r addr4 via4
  for n in 1 2; do
    r=nk-ar$n
    {
      echo "link set lo up"
      echo "link add br-acc type bridge ageing_time 0"
      echo "link set acc$n-mr master br-acc"
      echo "link set acc$n-obs master br-acc"
      # The router joins its access bridge through a port of its own, so its
      # unicast frames cross the bridge (and reach the observer) too.
      echo "link add lan type veth peer name lan-port"
      echo "link set lan-port master br-acc"
      echo "link set lan-port up"
      echo "link set lan up"
      echo "link set acc$n-mr up"
      echo "link set acc$n-obs up"
      echo "link set br-acc up"
      echo "link set uplink up"
      echo "addr add 2001:db8:a$n::1/64 dev lan nodad"
      echo "addr add 2001:db8:ff0$n::2/64 dev uplink nodad"
      echo "route add default via 2001:db8:ff0$n::1"
      if [[ $n == 2 ]]; then
        echo "addr add $TOPO_AR2_4/24 dev lan"
        echo "addr add $TOPO_AR2_UP_4/30 dev uplink"
        echo "route add default via $TOPO_CORE_AR2_4"
      fi
    } | ip -n "$r" -batch - || return 1
  done
  ip -n nk-ha -batch - <<EOB || return 1
link set lo up
link set eth0 up
addr add $TOPO_HA/64 dev eth0 nodad
addr add $TOPO_HA4/24 dev eth0
route add default via $TOPO_CORE_HOME
route add default via $TOPO_CORE_HOME4
EOB
  ip -n nk-cn -batch - <<EOB || return 1
link set lo up
link set eth0 up
addr add $TOPO_CN/64 dev eth0 nodad
addr add $TOPO_CN4/24 dev eth0
route add default via $TOPO_CORE_HOME
route add default via $TOPO_CORE_HOME4
EOB
  {
    echo "link set lo up"
    echo "link set acc1 up"
    echo "link set acc2 up"
    echo "link set mnet up"
    echo "addr add $TOPO_MR_MNET/64 dev mnet nodad"
    if [[ $TOPO_SLAAC != 1 ]]; then
      echo "addr add $TOPO_MR_COA1/64 dev acc1 nodad"
      echo "addr add $TOPO_MR_COA2/64 dev acc2 nodad"
      echo "addr add $TOPO_MR_COA2_4/24 dev acc2"
      echo "route add default via $TOPO_AR1 dev acc1 metric 100"
      echo "route add default via $TOPO_AR2 dev acc2 metric 200"
      echo "route add default via $TOPO_AR2_4"
    fi
  } | ip -n nk-mr -batch - || return 1
  ip -n nk-mnn -batch - <<EOB || return 1
link set lo up
link set eth0 up
addr add $TOPO_MNN/64 dev eth0 nodad
route add default via $TOPO_MR_MNET
EOB
  # The observer is passive: no addresses at all (IPv6 off on its links),
  # and the access bridges forget MAC addresses at once (ageing 0), so they
  # flood every frame to it like a hub.
  ip netns exec nk-obs sh -c '
    echo 1 > /proc/sys/net/ipv6/conf/obs1/disable_ipv6
    echo 1 > /proc/sys/net/ipv6/conf/obs2/disable_ipv6' || return 1
  ip -n nk-obs -batch - <<EOB || return 1
link set lo up
link set obs1 up promisc on
link set obs2 up promisc on
EOB
  # The mobile router starts attached to TOPO_ATTACH only.
  local attach
  if [[ $TOPO_SLAAC == 1 ]]; then attach=${TOPO_ATTACH-1}; else attach=${TOPO_ATTACH-1 2}; fi
  for n in 1 2; do
    [[ " $attach " == *" $n "* ]] || topo_detach "$n" || return 1
  done
  if [[ $TOPO_SLAAC == 1 ]]; then
    topo_access_routers_start || return 1
  fi
  topo_log "up: ${#TOPO_NAMESPACES[@]} namespaces$([[ $TOPO_SLAAC == 1 ]] && echo ", SLAAC from radvd"), attached: ${attach:-none}"
}

# topo_radvd_conf N: radvd's configuration for access router N (RFC 6275
# sec. 7.5 intervals; radvd accepts them below its RFC 4861 limits only with
# a Mobile IPv6 option on, here AdvIntervalOpt and AdvRouterAddr).
topo_radvd_conf() {
  cat <<EOF
interface lan {
  AdvSendAdvert on;
  MinRtrAdvInterval $TOPO_RADVD_MIN_INTERVAL;
  MaxRtrAdvInterval $TOPO_RADVD_MAX_INTERVAL;
  MinDelayBetweenRAs $TOPO_RADVD_MIN_INTERVAL;
  AdvIntervalOpt on;
  AdvHomeAgentFlag off;
  AdvSourceLLAddress on;
  prefix 2001:db8:a$1::/64 {
    AdvOnLink on;
    AdvAutonomous on;
    AdvRouterAddr on;
  };
};
EOF
}

# topo_access_routers_start: radvd on "lan" of nk-ar1 and nk-ar2 (topo_up
# calls it in SLAAC mode). Config and pid files in TOPO_RUN_DIR, logs in
# $NK_OUT/radvd-arN.log (or TOPO_RUN_DIR). Returns once both daemons run.
topo_access_routers_start() {
  local n conf pidfile log i
  mkdir -p "$TOPO_RUN_DIR" || return 1
  for n in 1 2; do
    conf=$TOPO_RUN_DIR/radvd-ar$n.conf
    pidfile=$TOPO_RUN_DIR/radvd-ar$n.pid
    log=${NK_OUT:-$TOPO_RUN_DIR}/radvd-ar$n.log
    topo_radvd_conf "$n" > "$conf" || return 1
    ip netns exec "nk-ar$n" radvd -C "$conf" -p "$pidfile" -m logfile -l "$log" || {
      topo_log "radvd on nk-ar$n failed to start (log: $log)"
      return 1
    }
    # radvd daemonises; its pid file appears once it runs (at most 5 s).
    for ((i = 0; i < 100; i++)); do
      [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && break
      sleep 0.05
    done
    [[ -s $pidfile ]] || { topo_log "radvd on nk-ar$n wrote no pid file (log: $log)"; return 1; }
  done
  topo_log "radvd on nk-ar1 and nk-ar2 (RA every ${TOPO_RADVD_MIN_INTERVAL}-${TOPO_RADVD_MAX_INTERVAL} s)"
}

# topo_access_routers_stop: stops the radvd daemons (SIGTERM: they send
# their final advertisements with router lifetime 0) and waits until they
# are gone; removes TOPO_RUN_DIR. Safe to call when none runs.
topo_access_routers_stop() {
  local n pidfile pid i
  for n in 1 2; do
    pidfile=$TOPO_RUN_DIR/radvd-ar$n.pid
    [[ -s $pidfile ]] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
  rm -rf "$TOPO_RUN_DIR"
}

# topo_detach N / topo_attach N: access link N leaves / reaches the mobile
# router: carrier loss / carrier on nk-mr's accN (the router end goes down
# or up; see the top).
topo_detach() { ip -n "nk-ar$1" link set "acc$1-mr" down; }
topo_attach() { ip -n "nk-ar$1" link set "acc$1-mr" up; }

# topo_move_to N: the mobile router leaves the other access link and
# attaches to link N (break before make).
topo_move_to() {
  local n=$1 other=$((3 - $1))
  topo_detach "$other" && topo_attach "$n"
}

# topo_wait_coa N [TIMEOUT_MS]: waits (rtnetlink events, no polling) until
# nk-mr has a usable care-of address on accN: global, inside access prefix
# N, DAD done (or optimistic), with carrier. Prints the address; the probe's
# line (with its timings) goes to stderr. Fails after TIMEOUT_MS (5000).
topo_wait_coa() {
  local n=$1 timeout=${2:-5000} line
  line=$(ip netns exec nk-mr "$NK_BUILD/tests/kernel-vm/nk_probe" wait-coa "acc$n" "$timeout" "2001:db8:a$n::/64" | tail -1)
  echo "$line" >&2
  [[ $line == "wait-coa: 2001:db8:a$n:"* ]] || return 1
  sed 's/^wait-coa: \([^ ]*\) .*/\1/' <<<"$line"
}

# topo_handover N [TIMEOUT_MS]: topo_move_to N, then waits for the care-of
# address on accN like topo_wait_coa (listening before the move). Prints
# "ADDRESS MS": the address and the time from carrier up on accN (as nk-mr's
# kernel announced it) until the address was usable, in ms.
topo_handover() {
  local n=$1 timeout=${2:-5000} fd pid line
  exec {fd}< <(exec ip netns exec nk-mr "$NK_BUILD/tests/kernel-vm/nk_probe" wait-coa "acc$n" "$timeout" "2001:db8:a$n::/64")
  pid=$!
  read -r line <&"$fd"  # "wait-coa: listening on accN"
  if [[ $line != "wait-coa: listening"* ]]; then
    echo "$line" >&2; exec {fd}<&-; wait "$pid" 2>/dev/null; return 1
  fi
  topo_move_to "$n" || { kill "$pid" 2>/dev/null; exec {fd}<&-; wait "$pid" 2>/dev/null; return 1; }
  read -r line <&"$fd"
  exec {fd}<&-
  wait "$pid" 2>/dev/null
  echo "$line" >&2
  [[ $line == "wait-coa: 2001:db8:a$n:"* ]] || return 1
  sed 's/^wait-coa: \([^ ]*\) on [^ ]* usable after \([0-9.]*\) ms.*/\1 \2/' <<<"$line"
}

# topo_add_mobile NS COA1 COA2: one more mobile namespace NS (after topo_up,
# static mode), attached to both access links like nk-mr: acc1 with COA1 on
# access link 1 and acc2 with COA2 on access link 2 (veth ends acc1-NS /
# acc2-NS in the access routers' bridges), static default routes (acc1
# preferred). topo_down removes it with the others.
topo_add_mobile() {
  local ns=$1 coa1=$2 coa2=$3 n
  TOPO_NAMESPACES+=("$ns")
  ip netns add "$ns" || return 1
  ip netns exec "$ns" sh -c '
    echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad
    echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad
    echo 0 > /proc/sys/net/ipv6/conf/default/accept_ra' || return 1
  for n in 1 2; do
    ip link add "acc$n" netns "$ns" type veth peer name "acc$n-${ns#nk-}" netns "nk-ar$n" || return 1
    ip -n "nk-ar$n" link set "acc$n-${ns#nk-}" master br-acc up || return 1
  done
  ip -n "$ns" -batch - <<EOB || return 1
link set lo up
link set acc1 up
link set acc2 up
addr add $coa1/64 dev acc1 nodad
addr add $coa2/64 dev acc2 nodad
route add default via $TOPO_AR1 dev acc1 metric 100
route add default via $TOPO_AR2 dev acc2 metric 200
EOB
  topo_log "mobile namespace $ns: $coa1 on acc1, $coa2 on acc2"
}

# topo_down: stops radvd, removes the namespaces (and with them every link,
# address, route, XFRM state and policy inside them). Safe to call twice.
topo_down() {
  local ns
  topo_access_routers_stop
  for ns in "${TOPO_NAMESPACES[@]}"; do
    [[ -e /run/netns/$ns ]] && echo "netns delete $ns"
  done | ip -force -batch - 2>/dev/null
  topo_log "down"
}

# topo_link NS DEV [delay MS] [jitter MS] [loss PERCENT]: netem on one link
# end (egress of DEV in NS); with no parameters the netem qdisc is removed.
topo_link() {
  local ns=$1 dev=$2; shift 2
  if (($# == 0)); then
    ip netns exec "$ns" tc qdisc del dev "$dev" root 2>/dev/null || true
    return 0
  fi
  local delay="" jitter="" loss=""
  while (($#)); do
    case $1 in
      delay) delay=$2 ;;
      jitter) jitter=$2 ;;
      loss) loss=$2 ;;
      *) echo "topo_link: unknown parameter '$1'" >&2; return 2 ;;
    esac
    shift 2
  done
  local args=()
  [[ -n $delay ]] && args+=(delay "${delay}ms")
  [[ -n $delay && -n $jitter ]] && args+=("${jitter}ms")
  [[ -n $loss ]] && args+=(loss "${loss}%")
  ip netns exec "$ns" tc qdisc replace dev "$dev" root netem "${args[@]}"
}

# topo_capture_start LINK FILE MS: the observer captures access link LINK
# (1 or 2) into the pcap FILE for MS milliseconds, in the background; returns
# once it listens. topo_capture_wait waits for it and prints its frame count.
topo_capture_start() {
  local link=$1 file=$2 ms=$3 fifo
  fifo=$(mktemp -u)
  mkfifo "$fifo"
  ip netns exec nk-obs "$NK_BUILD/tests/kernel-vm/nk_probe" capture "obs$link" "$file" "$ms" >"$fifo" &
  TOPO_CAPTURE_PID=$!
  exec {TOPO_CAPTURE_FD}<"$fifo"
  rm -f "$fifo"
  local line
  read -r line <&"$TOPO_CAPTURE_FD"  # "capture: listening on ..."
  [[ $line == "capture: listening"* ]]
}
topo_capture_wait() {
  local line
  read -r line <&"$TOPO_CAPTURE_FD"
  wait "$TOPO_CAPTURE_PID"
  exec {TOPO_CAPTURE_FD}<&-
  sed -n 's/^capture: \([0-9]*\) frames.*/\1/p' <<<"$line"
}

# topo_ping NS ADDRESS [COUNT]: succeeds if ADDRESS answers from NS.
topo_ping() {
  local ns=$1 addr=$2 count=${3:-1}
  ip netns exec "$ns" busybox ping -q -c "$count" -W 3 "$addr" >/dev/null 2>&1
}

# topo_rtt_ms NS ADDRESS: the round-trip time of one ping, in whole ms.
topo_rtt_ms() {
  ip netns exec "$1" busybox ping -c 1 -W 5 "$2" 2>/dev/null |
    sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | cut -d. -f1
}
