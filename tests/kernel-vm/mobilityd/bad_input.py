#!/usr/bin/python3
# Bad input at the home agent, crafted with Debian's scapy (an encoder
# independent of ours):
#   bad_input.py OUTDIR GROUP...   (GROUP: setup malformed unknown-hoa stale
#                                   unprotected prefix flood)
# Run by tests/kernel-vm/scenarios/mobilityd-bad-input.sh while mobilityd runs
# as home agent in nk-ha (configs.sh: mobilityd_configs +
# mobilityd_configs_routers) and as mobile node in nk-mr. Everything is sent
# from nk-ar1 through an IPPROTO_RAW socket (the access router is outside the
# mobile node's and the home agent's XFRM: nothing rewrites the packets);
# answers are captured there on "uplink", where everything from the home
# agent arrives. The mobile routers mr1 and mr2 of the configuration are
# played here with their static keys (scapy's ESP, rfc4106 AES-GCM); their
# care-of address is the access router's own 2001:db8:a1::1.
# Per case it records, as "key=value" lines in OUTDIR/bad-input.txt (and on
# stdout): what came back, the deltas of the home agent's mobctl counters,
# of nk-ha's /proc/net/xfrm_stat, snmp6 (ICMPv6 the kernel sent) and raw6
# drops, and whether the home agent's binding cache and kernel state
# (XFRM states/policies, proto 167 routes, links) stayed as they were.
# One Python process does all of a run (a Python start costs 1-2 s under
# TCG): it enters the namespaces with setns(2).
import ctypes, json, os, re, select, socket, struct, subprocess, sys, time

from scapy.layers.inet6 import (HAO, ICMPv6ParamProblem, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting,
                                 MIP6MH_BA, MIP6MH_BE, MIP6MH_BU, MIP6OptMobNetPrefix)
from scapy.layers.ipsec import ESP, SecurityAssociation
from scapy.layers.l2 import Ether
from scapy.packet import Raw

OUT = sys.argv[1]
GROUPS = sys.argv[2:]
BUILD = os.environ["NK_BUILD"]
HA = "2001:db8:1::1"
MN_HOA, MN_COA1 = "2001:db8:1::100", "2001:db8:a1::100"
MR1_HOA, MR1_PREFIX = "2001:db8:1::201", "2001:db8:1:201::"
MR2_HOA, MR2_PREFIX = "2001:db8:1::202", "2001:db8:1:202::"
UNKNOWN_HOA = "2001:db8:1::999"
COA = "2001:db8:a1::1"          # nk-ar1's "lan" address: mr1's and mr2's care-of address
NS_TX, IF_TX = "nk-ar1", "uplink"
CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
libc = ctypes.CDLL(None, use_errno=True)
ROOT_NS = os.open("/proc/self/ns/net", os.O_RDONLY)
results = []


def out(key, value):
    results.append(f"{key}={value}")
    print(f"  {key}={value}", flush=True)


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


class In:
    def __init__(self, ns):
        self.ns = ns

    def __enter__(self):
        fd = os.open(f"/var/run/netns/{self.ns}", os.O_RDONLY)
        setns(fd)
        os.close(fd)

    def __exit__(self, *exc):
        setns(ROOT_NS)


# ---- keys (the files mobilityd_configs / mobilityd_configs_routers write) ----
KEYS = {  # home address -> (spi to HA, key to HA, spi from HA, key from HA)
    MN_HOA: (0x2001, "000102030405060708090a0b0c0d0e0f10111213", 0x2002, "101112131415161718191a1b1c1d1e1f20212223"),
    MR1_HOA: (0x2011, "110102030405060708090a0b0c0d0e0f10111213", 0x2012, "111112131415161718191a1b1c1d1e1f20212223"),
    MR2_HOA: (0x2021, "220102030405060708090a0b0c0d0e0f10111213", 0x2022, "221112131415161718191a1b1c1d1e1f20212223"),
}


def sa(spi, key):
    # rfc4106(gcm(aes)) with a 16-octet ICV: scapy takes the key with the
    # 4-octet salt appended, as the kernel does.
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=bytes.fromhex(key), auth_algo="NULL")


SA_TO = {h: sa(k[0], k[1]) for h, k in KEYS.items()}
SA_FROM = {h: sa(k[2], k[3]) for h, k in KEYS.items()}
# ESP sequence numbers of the played routers: each run starts above the
# previous run's (the kernel's anti-replay window drops reused ones:
# XfrmInStateSeqError); the mobile node's own SA is never used here.
ESP_SEQ = {h: 100000 if "flood" in GROUPS else 1000 for h in KEYS}


# ---- Mobility Header bytes ----
def csum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def with_checksum(mh, src, dst, good=True):
    """MH bytes with the checksum over the pseudo-header (src = the home address, RFC 6275 sec. 6.1.1)."""
    mh = bytearray(mh)
    mh[4:6] = b"\x00\x00"
    pseudo = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + \
        struct.pack("!IxxxB", len(mh), 135)
    c = csum(pseudo + bytes(mh))
    if not good:
        c ^= 0x5555
    mh[4:6] = struct.pack("!H", c)
    return bytes(mh)


def bu(seq, flags="AH", lifetime_s=600, options=()):
    return bytes(MIP6MH_BU(seq=seq, flags=flags, mhtime=lifetime_s // 4, options=list(options), cksum=0))


def plain(src, dst, mh, hao=None):
    """IPv6(src,dst)[/DestOpt(HAO)]/MH; checksum computed with the home address as source."""
    hoa = hao or src
    mh = with_checksum(mh, hoa, dst) if mh[4:6] == b"\x00\x00" else mh
    if hao:
        return bytes(IPv6(src=src, dst=dst) / IPv6ExtHdrDestOpt(nh=135, options=[HAO(hoa=hao)]) / Raw(mh))
    return bytes(IPv6(src=src, dst=dst, nh=135) / Raw(mh))


def protected(hoa, coa, mh, checksum_ok=True):
    """CoA -> HA, DstOpt(HAO=hoa), ESP(spi to HA), MH: the layout of Linux's mip6 + ESP transport
    (the HAO stays outside ESP; scapy's transport mode would encrypt it, so ESP is built on
    IPv6(hoa -> HA)/MH and moved behind the HAO: rfc4106's AAD is SPI + sequence only)."""
    mh = with_checksum(mh, hoa, HA, checksum_ok)
    ESP_SEQ[hoa] += 1
    enc = SA_TO[hoa].encrypt(IPv6(src=hoa, dst=HA, nh=135) / Raw(mh), seq_num=ESP_SEQ[hoa])
    esp = bytes(enc)[40:]
    return bytes(IPv6(src=coa, dst=HA) / IPv6ExtHdrDestOpt(nh=50, options=[HAO(hoa=hoa)]) / Raw(esp))


# ---- sending and capturing in nk-ar1 ----
class Wire:
    def __init__(self):
        with In(NS_TX):
            self.tx = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
            self.rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.rx.bind((IF_TX, 0))
            self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.rx.setblocking(False)

    def send(self, pkt):
        self.tx.sendto(pkt, (socket.inet_ntop(socket.AF_INET6, pkt[24:40]), 0))

    def drain(self):
        while True:
            try:
                self.rx.recv(65535)
            except BlockingIOError:
                return

    def collect(self, seconds, until=None):
        """Frames from the home agent to us for `seconds` (or until `until(list)` is true)."""
        got, end = [], time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return got
            r, _, _ = select.select([self.rx], [], [], left)
            if not r:
                continue
            try:
                frame, addr = self.rx.recvfrom(65535)
            except BlockingIOError:
                continue
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            p = Ether(frame)
            if IPv6 in p and p[IPv6].src == HA:
                got.append(p)
                if until and until(got):
                    return got


def describe(p):
    """One line for a frame from the home agent; ESP is decrypted with the from-HA key of the RH2 home address."""
    ip6 = p[IPv6]
    if ICMPv6ParamProblem in p:
        q = p[ICMPv6ParamProblem]
        return f"icmpv6-param-problem code {q.code} pointer {q.ptr} to {ip6.dst}"
    if MIP6MH_BE in p:
        q = p[MIP6MH_BE]
        return f"binding-error status {q.status} home-address {q.ha} to {ip6.dst}"
    if MIP6MH_BA in p:
        q = p[MIP6MH_BA]
        return f"binding-ack status {q.status} seq {q.seq} lifetime {q.mhtime * 4} plain to {ip6.dst}"
    if ESP in p:
        hoa = p[IPv6ExtHdrRouting].addresses[0] if IPv6ExtHdrRouting in p else ip6.dst
        s = SA_FROM.get(hoa)
        if s is None or p[ESP].spi != s.spi:
            return f"esp spi {p[ESP].spi:#x} to {ip6.dst}"
        try:
            d = s.decrypt(IPv6(src=HA, dst=hoa, nh=50) / p[ESP])
        except Exception as e:  # noqa: BLE001
            return f"esp spi {p[ESP].spi:#x} undecryptable ({e})"
        d = IPv6(bytes(d))
        if MIP6MH_BA in d:
            q = d[MIP6MH_BA]
            return (f"binding-ack status {q.status} seq {q.seq} lifetime {q.mhtime * 4} esp spi {p[ESP].spi:#x}"
                    f" rh2 {hoa} to {ip6.dst}")
        return f"esp spi {p[ESP].spi:#x} decrypted: {d.summary()}"
    return p.summary()


# ---- the home agent's counters and state ----
def sh(cmd):
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True).stdout


def proc(ns, name):
    with In(ns):
        with open(f"/proc/net/{name}") as f:
            return f.read()


def flatten(prefix, v, into):
    if isinstance(v, dict):
        for k, x in v.items():
            flatten(f"{prefix}.{k}" if prefix else k, x, into)
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        into[prefix] = int(v)


def counters():
    c = {}
    try:
        flatten("mobctl", json.loads(sh(f"'{BUILD}/mobility/mobctl/mobctl' --json --socket /run/nemokey/ha.sock counters")), c)
    except ValueError:
        c["mobctl.unreadable"] = 1
    # "mobctl.counters.x" or "mobctl.x", whichever the answer nests: keep "mobctl.x"
    c = {re.sub(r"^mobctl\.counters\.", "mobctl.", k): v for k, v in c.items()}
    for line in proc("nk-ha", "xfrm_stat").splitlines():
        k, v = line.split()
        c["xfrm." + k] = int(v)
    for line in proc("nk-ha", "snmp6").splitlines():
        k, v = line.split()
        if k.startswith("Icmp6Out"):
            c["snmp6." + k] = int(v)
    drops = 0
    for line in proc("nk-ha", "raw6").splitlines()[1:]:
        f = line.split()
        if len(f) > 10 and f[1].endswith(":0087"):   # local_address:protocol 135, our MH socket
            drops += int(f[-1])
    c["raw6.mh-socket-drops"] = drops
    return c


def state():
    # (the ESP states' anti-replay context moves with every protected packet: left out)
    kernel = sh("ip -n nk-ha -o xfrm state | sed 's/anti-replay context: [^\\\\]*//; s/lastused [^\\\\]*//'; ip -n nk-ha -o xfrm policy; ip -n nk-ha -6 route show table all proto 167;"
                " ip -n nk-ha -o link show | sed 's/^[0-9]*: //; s/ link\\/.*//'")
    try:
        rows = json.loads(sh(f"'{BUILD}/mobility/mobctl/mobctl' --json --socket /run/nemokey/ha.sock binding"))
        rows = rows.get("bindings", rows) if isinstance(rows, dict) else rows
        for r in rows:
            r.pop("lifetime-remaining", None)
        cache = json.dumps(rows, sort_keys=True, indent=1)
    except ValueError:
        cache = "binding cache unreadable"
    return kernel + "--- binding cache\n" + cache + "\n"


class Case:
    """with Case(name): ... records the counter deltas and whether the state stayed."""
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.c0, self.s0 = counters(), state()
        return self

    def __exit__(self, *exc):
        time.sleep(0.3)
        c1, s1 = counters(), state()
        for k in sorted(set(c1) | set(self.c0)):
            d = c1.get(k, 0) - self.c0.get(k, 0)
            if d:
                out(f"{self.name}.delta.{k}", d)
        same = s1 == self.s0
        out(f"{self.name}.state-unchanged", "yes" if same else "no")
        with open(f"{OUT}/{self.name}-state-before.txt", "w") as f:
            f.write(self.s0)
        with open(f"{OUT}/{self.name}-state-after.txt", "w") as f:
            f.write(s1)


def exchange(w, key, pkt, wait=1.5, expect=None):
    """Sends pkt, records every answer from the home agent as key.answer (or 'none')."""
    w.drain()
    w.send(pkt)
    got = w.collect(wait, until=(lambda g: any(expect in describe(x) for x in g)) if expect else None)
    answers = [describe(p) for p in got]
    out(f"{key}.answer", " | ".join(answers) if answers else "none")
    return answers


w = Wire()
t_start = time.monotonic()

if "setup" in GROUPS:
    # mr1 registers with its own prefix: the binding the later cases must not disturb.
    a = exchange(w, "setup.mr1", protected(MR1_HOA, COA, bu(10, "AHR", 600, [MIP6OptMobNetPrefix(plen=64, prefix=MR1_PREFIX)])),
                 wait=6, expect="binding-ack")
    out("setup.mr1.accepted", "yes" if any("binding-ack status 0 seq 10" in x for x in a) else "no")

if "malformed" in GROUPS:
    # Kernel first (mip6_mh_filter, run for the raw MH socket before any IPsec
    # policy): Payload Proto != 59 and Header Len below the MH Type's minimum
    # get an ICMPv6 Parameter Problem (RFC 6275 sec. 9.2); a Header Len past
    # the packet is dropped silently. Unprotected, no HAO, from nk-ar1.
    good = bu(1)
    cases = {
        "bad-payload-proto": bytes([6]) + good[1:],
        "short-header-len": good[:1] + bytes([0]) + good[2:],
        "header-len-past-packet": good[:1] + bytes([9]) + good[2:],
    }
    for name, mh in cases.items():
        with Case(f"malformed.kernel.{name}"):
            exchange(w, f"malformed.kernel.{name}", plain(COA, HA, mh), wait=1.2)
        time.sleep(1.0)   # the kernel's ICMPv6 rate limit per destination
    # Malformed inside a well-formed MH, ESP-protected as mr1 (reaches the daemon
    # unless the kernel's raw socket drops it first: bad checksum).
    unknown_type = bytes([59, 1, 200, 0, 0, 0]) + bytes(10)
    prefix_bytes = socket.inet_pton(socket.AF_INET6, MR1_PREFIX)
    bad_opt_len = bytearray(bu(20, "AHR", 600, [MIP6OptMobNetPrefix(plen=64, prefix=MR1_PREFIX)]))
    i = bad_opt_len.index(bytes([6, 18, 0, 64]) + prefix_bytes)
    bad_opt_len[i + 1] = 17          # Mobile Network Prefix length must be 18 (RFC 3963 sec. 4.3)
    overrun = bytearray(bu(21, "AHR", 600, [MIP6OptMobNetPrefix(plen=64, prefix=MR1_PREFIX)]))
    overrun[i + 1] = 200             # the option runs past the message
    ba_to_ha = bytes([59, 1, 6, 0, 0, 0, 0, 0, 0, 22, 0, 0, 1, 0, 0, 0])
    cases = {
        "unknown-mh-type": (unknown_type, True),
        "bad-option-length": (bytes(bad_opt_len), True),
        "option-overrun": (bytes(overrun), True),
        "unexpected-type-ba": (ba_to_ha, True),
        "bad-checksum": (bu(23, "AHR", 600, [MIP6OptMobNetPrefix(plen=64, prefix=MR1_PREFIX)]), False),
    }
    for name, (mh, ok) in cases.items():
        with Case(f"malformed.daemon.{name}"):
            exchange(w, f"malformed.daemon.{name}", protected(MR1_HOA, COA, mh, ok), wait=1.2)

if "unknown-hoa" in GROUPS:
    with Case("unknown-hoa"):
        exchange(w, "unknown-hoa", plain(COA, HA, bu(1), hao=UNKNOWN_HOA))

if "stale" in GROUPS:
    with Case("stale"):
        exchange(w, "stale", protected(MR1_HOA, COA, bu(5, "AHR", 600, [MIP6OptMobNetPrefix(plen=64, prefix=MR1_PREFIX)])),
                 wait=3, expect="binding-ack")

if "unprotected" in GROUPS:
    # From the registered mobile node's home address, without ESP: with its
    # care-of address in a HAO, and straight from the home address.
    with Case("unprotected.hao"):
        exchange(w, "unprotected.hao", plain(MN_COA1, HA, bu(60000), hao=MN_HOA))
    with Case("unprotected.no-hao"):
        exchange(w, "unprotected.no-hao", plain(MN_HOA, HA, bu(60001)))

if "prefix" in GROUPS:
    # mr2 (authorised for its own prefix only) claims mr1's prefix.
    with Case("prefix"):
        exchange(w, "prefix", protected(MR2_HOA, COA, bu(1, "AHR", 600, [MIP6OptMobNetPrefix(plen=64, prefix=MR1_PREFIX)])),
                 wait=4, expect="binding-ack")

if "flood" in GROUPS:
    # One source (nk-ar1): at least 5000 Binding Updates as fast as the raw
    # socket takes them, every 10th an ESP-protected one of mr1 with a stale
    # sequence number (each costs the daemon a decision and a BA), the rest
    # unprotected for the unconfigured home address (the kernel's block
    # policy). Meanwhile FLOOD_DURING (a shell command: the legitimate mobile
    # node's handover) runs; the flood goes on until it ends (at most 30 s).
    n_min, n_protected = 5000, 200
    unprot = plain(COA, HA, bu(2), hao=UNKNOWN_HOA)
    t0 = time.monotonic()
    prot = [protected(MR1_HOA, COA, bu(6, "AHR", 600, [MIP6OptMobNetPrefix(plen=64, prefix=MR1_PREFIX)]))
            for _ in range(n_protected)]
    out("flood.prebuild-ms", int((time.monotonic() - t0) * 1000))
    c0 = counters()
    during = None
    sent = sent_prot = errors = 0
    t0 = time.monotonic()
    while True:
        if sent == 100:
            during = subprocess.Popen(["bash", "-c", os.environ["FLOOD_DURING"]], stdout=subprocess.PIPE, text=True)
        if sent % 10 == 9 and sent_prot < n_protected:
            pkt = prot[sent_prot]
            sent_prot += 1
        else:
            pkt = unprot
        try:
            w.send(pkt)
        except OSError:
            errors += 1
        sent += 1
        if sent >= n_min and sent % 100 == 0 and (during.poll() is not None or time.monotonic() - t0 > 30):
            break
    dt = time.monotonic() - t0
    out("flood.sent", sent)
    out("flood.sent-protected", sent_prot)
    out("flood.send-errors", errors)
    out("flood.seconds", f"{dt:.2f}")
    out("flood.rate-pps", int(sent / dt))
    text, _ = during.communicate(timeout=60)
    for line in text.splitlines():
        if "=" in line:
            out("flood.during." + line.split("=", 1)[0], line.split("=", 1)[1])
    out("flood.during.exit", during.returncode)
    time.sleep(1.0)
    c1 = counters()
    for k in sorted(set(c1) | set(c0)):
        d = c1.get(k, 0) - c0.get(k, 0)
        if d:
            out(f"flood.delta.{k}", d)

out("python.seconds", f"{time.monotonic() - t_start:.1f}")
with open(f"{OUT}/bad-input.txt", "a") as f:
    f.write("\n".join(results) + "\n")
