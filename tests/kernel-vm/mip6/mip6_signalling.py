#!/usr/bin/python3
# Mobile IPv6 home registration signalling on the real kernel, static keying.
#   mip6_signalling.py OUTDIR PROBE VARIANT...
# Builds two namespaces (nk-sig-ha, nk-sig-mn) joined by a veth pair for each
# VARIANT, sends Binding Updates from a raw IPPROTO_MH socket on the mobile node
# and Binding Acknowledgements from one on the home agent, and writes what
# each socket saw, what the wire carried (pcap on the home agent's link) and
# the XFRM counters to OUTDIR/VARIANT.txt as "key=value" lines, which the
# scenario checks. One Python process does all of it (a Python start costs
# 1-2 s under TCG): it enters the namespaces with setns(2).
# Variants (a name is a base and optional "-flag"s):
#   sub       RO templates (hao, route2) in SUB policies, ESP templates in MAIN
#             policies: the configuration the daemon uses
#   main      one MAIN policy per direction holding the ESP and the RO template
#   -typesel  inbound policies select on the MH type too
#   -nowild   the home agent has no wildcard HAO state
#   -noesppol no inbound "proto esp" policy with the optional RO template
#             (needed while xfrm_interface is loaded, see drafts-notes/linux-mip6-xfrm.md)
import ctypes, ipaddress, os, re, select, socket, struct, subprocess, sys, time

OUT, PROBE = sys.argv[1], sys.argv[2]
HA, HOA, HOA2 = "2001:db8:1::1", "2001:db8:1::100", "2001:db8:1::200"
COA, COA2 = "2001:db8:a1::100", "2001:db8:a2::100"
NS_HA, NS_MN = "nk-sig-ha", "nk-sig-mn"
HA_MAC, MN_MAC = "02:00:00:00:0a:01", "02:00:00:00:0b:01"
K1 = "0x0102030405060708090a0b0c0d0e0f1011121314"
K2 = "0x1112131415161718191a1b1c1d1e1f2021222324"
SPI_MN_HA, SPI_HA_MN = "0x2001", "0x2002"     # reqid 1 and 2
IPPROTO_MH = 135
IPV6_RECVPKTINFO, IPV6_PKTINFO = 49, 50
IPV6_RECVRTHDR, IPV6_RTHDR = 56, 57
IPV6_RECVDSTOPTS, IPV6_DSTOPTS = 58, 59
CLONE_NEWNET = 0x40000000

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
    """with In(ns): ... runs the block inside network namespace ns."""
    def __init__(self, ns):
        self.ns = ns

    def __enter__(self):
        fd = os.open(f"/var/run/netns/{self.ns}", os.O_RDONLY)
        setns(fd)
        os.close(fd)

    def __exit__(self, *exc):
        setns(ROOT_NS)


def ip(ns, *cmds, check=True):
    """Runs ip commands in one 'ip -batch' process (-force: go on after an error)."""
    r = subprocess.run(["ip", "-n", ns, "-force", "-batch", "-"], input="\n".join(cmds) + "\n",
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"ip -n {ns}: {r.stderr.strip()}", flush=True)
        if check:
            out("setup.error", ns)
    return r.returncode == 0


def mh(type_, body):
    """A Mobility Header: payload proto 59, length, type, reserved, checksum 0 (the kernel fills it)."""
    length = 6 + len(body)
    pad = (-length) % 8
    if pad == 1:
        body += b"\x00"
    elif pad > 1:
        body += bytes([1, pad - 2]) + b"\x00" * (pad - 2)
    length = 6 + len(body)
    return struct.pack("!BBBBH", 59, length // 8 - 1, type_, 0, 0) + body


def bu(seq):
    return mh(5, struct.pack("!HHH", seq, 0xC000, 100))      # A and H flags, lifetime 100 x 4 s


def ba(seq):
    return mh(6, struct.pack("!BBHH", 0, 0, seq, 100))       # status 0 accepted


def mh_socket(ns, bind=None):
    with In(ns):
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_MH)
        for opt in (IPV6_RECVPKTINFO, IPV6_RECVRTHDR, IPV6_RECVDSTOPTS):
            s.setsockopt(socket.IPPROTO_IPV6, opt, 1)
        if bind:
            s.bind((bind, 0))
    return s


def drain(s):
    while select.select([s], [], [], 0)[0]:
        s.recvmsg(2048, 1024)


def receive(s, timeout):
    """Returns dict(src, dst, type, csum, hao, rh2) of the first message, or None."""
    if not select.select([s], [], [], timeout)[0]:
        return None
    data, anc, _, addr = s.recvmsg(2048, 1024)
    got = {"src": addr[0], "type": data[2] if len(data) > 2 else -1,
           "csum": struct.unpack("!H", data[4:6])[0] if len(data) >= 6 else 0,
           "dst": "", "hao": "", "rh2": ""}
    for level, kind, d in anc:
        if level != socket.IPPROTO_IPV6:
            continue
        if kind == IPV6_PKTINFO:
            got["dst"] = str(ipaddress.IPv6Address(d[:16]))
        elif kind == IPV6_DSTOPTS:
            i = 2
            while i + 2 <= len(d):
                if d[i] == 0:
                    i += 1
                    continue
                if d[i] == 0xC9 and d[i + 1] == 16:
                    got["hao"] = str(ipaddress.IPv6Address(d[i + 2:i + 18]))
                i += 2 + d[i + 1]
        elif kind == IPV6_RTHDR and len(d) >= 24 and d[2] == 2:
            got["rh2"] = str(ipaddress.IPv6Address(d[8:24]))
    return got


def exchange(tag, sender, dst, msg, receiver, timeout=4.0):
    drain(receiver)
    try:
        sender.sendto(msg, (dst, 0))
        out(f"{tag}.sent", 1)
    except OSError as e:
        out(f"{tag}.sent", 0)
        out(f"{tag}.send_error", e.strerror.replace(" ", "_"))
    got = receive(receiver, timeout)
    out(f"{tag}.recv", 1 if got else 0)
    if got:
        for k in ("src", "dst", "type", "csum", "hao", "rh2"):
            out(f"{tag}.{k}", got[k])
    return got


def xfrm_stat(ns):
    with In(ns):
        stats = {}
        for line in open("/proc/net/xfrm_stat"):
            k, v = line.split()
            stats[k] = int(v)
        return stats


def sa_packets(ns):
    """{(proto, src, dst): packets} from 'ip -s xfrm state'."""
    r = subprocess.run(["ip", "-n", ns, "-s", "xfrm", "state"], capture_output=True, text=True)
    res = {}
    for block in re.split(r"\n(?=src )", r.stdout):
        m = re.match(r"src (\S+) dst (\S+)\s+proto (\S+)", block)
        p = re.search(r"(\d+)\(bytes\), (\d+)\(packets\)", block)
        if m and p:
            res[(m.group(3), m.group(1), m.group(2))] = int(p.group(2))
    return res


def stat_delta(tag, before):
    for ns, name in ((NS_HA, "ha"), (NS_MN, "mn")):
        now = xfrm_stat(ns)
        moved = {k: now[k] - before[ns].get(k, 0) for k in now if now[k] != before[ns].get(k, 0)}
        out(f"{tag}.xfrmstat.{name}", ",".join(f"{k}+{v}" for k, v in sorted(moved.items())) or "none")


def snapshot():
    return {NS_HA: xfrm_stat(NS_HA), NS_MN: xfrm_stat(NS_MN)}


def topology():
    subprocess.run(["ip", "netns", "add", NS_HA], check=True)
    subprocess.run(["ip", "netns", "add", NS_MN], check=True)
    ip(NS_HA, f"link add eth0 address {HA_MAC} type veth peer name eth0 address {MN_MAC} netns {NS_MN}", "link set lo up",
       "link set eth0 up", f"addr add {HA}/64 dev eth0 nodad",
       "route add 2001:db8:a1::/64 dev eth0", "route add 2001:db8:a2::/64 dev eth0")
    # The tunnel: no link-local address (so no router solicitations through it)
    # and no encapsulation limit option (so the only destination option on the
    # wire is the home address option).
    ip(NS_MN, "link set lo up", "link set eth0 up", f"addr add {COA}/64 dev eth0 nodad",
       f"route add {HA}/128 dev eth0",
       f"link add nk-mn0 type ip6tnl mode ip6ip6 local {COA} remote {HA} encaplimit none",
       "link set nk-mn0 addrgenmode none", "link set nk-mn0 up",
       f"addr add {HOA}/128 dev nk-mn0 home nodad")
    # Permanent neighbours: neighbour discovery plays no part in what follows.
    mn_mac, ha_mac = MN_MAC, HA_MAC
    ip(NS_HA, f"neigh add {COA} lladdr {mn_mac} dev eth0 nud permanent",
       f"neigh add {COA2} lladdr {mn_mac} dev eth0 nud permanent",
       f"neigh add {HOA} lladdr {mn_mac} dev eth0 nud permanent")
    ip(NS_MN, f"neigh add {HA} lladdr {ha_mac} dev eth0 nud permanent")


def esp_states(ns):
    ip(ns, f"xfrm state add src {HOA} dst {HA} proto esp spi {SPI_MN_HA} reqid 1 mode transport "
           f"aead 'rfc4106(gcm(aes))' {K1} 128 sel src {HOA}/128 dst {HA}/128 proto 135",
           f"xfrm state add src {HA} dst {HOA} proto esp spi {SPI_HA_MN} reqid 2 mode transport "
           f"aead 'rfc4106(gcm(aes))' {K2} 128 sel src {HA}/128 dst {HOA}/128 proto 135")


ESP1 = "tmpl proto esp mode transport reqid 1"
ESP2 = "tmpl proto esp mode transport reqid 2"
HAO_T = "tmpl proto hao mode ro level use"
RH2_T = "tmpl proto route2 mode ro level use"


class Variant:
    def __init__(self, name):
        self.name = name
        flags = name.split("-")
        self.sub = flags[0] == "sub"
        self.typesel = "typesel" in flags
        self.wild = "nowild" not in flags
        self.esppol = "noesppol" not in flags
        self.ptype = " ptype sub" if self.sub else ""

    # --- home agent ---------------------------------------------------------
    def ha_always(self):
        cmds = []
        if self.wild:
            # First registration: no per-binding state yet; the HAO is accepted
            # by a wildcard state (xfrm6_input_addr tries (HA,HoA), (HA,::), (::,::)).
            cmds.append("xfrm state add src :: dst :: proto hao mode ro coa :: flag wildrecv")
        if self.sub:
            cmds.append(f"xfrm policy add src ::/0 dst {HA}/128 proto 135 dir in ptype sub "
                        f"priority 100 {HAO_T}")
        if self.esppol:
            # xfrmi_input checks the policy once more before ESP when the
            # packet already has a secpath (the HAO state): that flow has
            # proto esp, and only an optional RO template may match it.
            cmds.append(f"xfrm policy add src ::/0 dst {HA}/128 proto esp dir in{self.ptype} "
                        f"priority 100 {HAO_T}")
        # Any other MH to the home agent: refused (no ESP SA = no registration).
        cmds.append(f"xfrm policy add src ::/0 dst {HA}/128 proto 135 dir in priority 1000 action block")
        ip(NS_HA, *cmds)

    def ha_per_node(self):
        esp_states(NS_HA)
        tin = " type 5" if self.typesel else ""
        ro_in = "" if self.sub else " " + HAO_T
        ip(NS_HA, f"xfrm policy add src {HOA}/128 dst {HA}/128 proto 135{tin} dir in priority 100 {ESP1}{ro_in}",
           f"xfrm policy add src {HA}/128 dst {HOA}/128 proto 135 type 6 dir out priority 100 {ESP2}")

    def ha_binding(self, coa, first):
        verb = "add" if first else "update"
        cmds = [f"xfrm state {verb} src {HA} dst {HOA} proto route2 mode ro coa {coa}",
                f"xfrm state {verb} src {HOA} dst {HA} proto hao mode ro coa {coa}"]
        if first:
            if self.sub:
                cmds.append(f"xfrm policy add src {HA}/128 dst {HOA}/128 proto 135 type 6 dir out "
                            f"ptype sub priority 100 {RH2_T}")
            else:
                cmds.append(f"xfrm policy update src {HA}/128 dst {HOA}/128 proto 135 type 6 dir out "
                            f"priority 100 {ESP2} {RH2_T}")
        ip(NS_HA, *cmds)

    # --- mobile node --------------------------------------------------------
    def mn_always(self):
        esp_states(NS_MN)
        tin = " type 6" if self.typesel else ""
        ip(NS_MN, f"xfrm policy add src {HOA}/128 dst {HA}/128 proto 135 type 5 dir out priority 100 {ESP1}"
                  + ("" if self.sub else " " + HAO_T),
           f"xfrm policy add src {HA}/128 dst {HOA}/128 proto 135{tin} dir in priority 100 {ESP2}"
           + ("" if self.sub else " " + RH2_T))

    def mn_registration(self, coa, first):
        verb = "add" if first else "update"
        cmds = [f"xfrm state {verb} src {HOA} dst {HA} proto hao mode ro coa {coa}",
                f"xfrm state {verb} src {HA} dst {HOA} proto route2 mode ro coa {coa}"]
        if first and self.esppol:
            cmds.append(f"xfrm policy add src {HA}/128 dst {HOA}/128 proto esp dir in{self.ptype} "
                        f"priority 100 {RH2_T}")
        if first and self.sub:
            tin = " type 6" if self.typesel else ""
            cmds += [f"xfrm policy add src {HOA}/128 dst {HA}/128 proto 135 type 5 dir out ptype sub "
                     f"priority 100 {HAO_T}",
                     f"xfrm policy add src {HA}/128 dst {HOA}/128 proto 135{tin} dir in ptype sub "
                     f"priority 100 {RH2_T}"]
        ip(NS_MN, *cmds)


def capture_start(name, ms):
    p = subprocess.Popen(["ip", "netns", "exec", NS_HA, PROBE, "capture", "eth0",
                          f"{OUT}/{name}.pcap", str(ms)], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    out("capture.listening", 1 if "listening" in line else 0)
    return p


def pcap_summary(path):
    """One entry per IPv6 frame: src>dst headers[...] hao= rh2=."""
    data = open(path, "rb").read()
    off, frames = 24, []
    names = {0: "hbh", 43: "rh", 44: "frag", 50: "esp", 51: "ah", 59: "none", 60: "dst",
             135: "mh", 58: "icmp6", 41: "ipv6"}
    while off + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, off + 8)[0]
        f = data[off + 16: off + 16 + caplen]
        off += 16 + caplen
        if len(f) < 54 or f[12:14] != b"\x86\xdd":
            continue
        ip6 = f[14:]
        src, dst = ipaddress.IPv6Address(ip6[8:24]), ipaddress.IPv6Address(ip6[24:40])
        nh, pos, chain, hao, rh2, mhtype = ip6[6], 40, [], "", "", ""
        while True:
            chain.append(names.get(nh, str(nh)))
            if nh in (0, 60) and pos + 2 <= len(ip6):
                hlen = (ip6[pos + 1] + 1) * 8
                i = pos + 2
                while i + 2 <= pos + hlen:
                    if ip6[i] == 0:
                        i += 1
                        continue
                    if ip6[i] == 0xC9:
                        hao = str(ipaddress.IPv6Address(ip6[i + 2:i + 18]))
                    elif ip6[i] == 4:
                        chain.append("encaplimit")
                    i += 2 + ip6[i + 1]
                nh, pos = ip6[pos], pos + hlen
            elif nh == 43 and pos + 24 <= len(ip6):
                if ip6[pos + 2] == 2:
                    rh2 = str(ipaddress.IPv6Address(ip6[pos + 8:pos + 24]))
                nh, pos = ip6[pos], pos + (ip6[pos + 1] + 1) * 8
            else:
                if nh == 135 and pos + 3 <= len(ip6):
                    mhtype = str(ip6[pos + 2])
                break
        if chain[0] == "icmp6" and ip6[40] in (133, 134, 135, 136, 143):
            continue
        frames.append(f"{src}>{dst}:{'/'.join(chain)}" + (f":mhtype={mhtype}" if mhtype else "")
                      + (f":hao={hao}" if hao else "") + (f":rh2={rh2}" if rh2 else ""))
    return frames


def teardown():
    for ns in (NS_HA, NS_MN):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def run(name):
    print(f"######## variant {name}", flush=True)
    del results[:]
    v = Variant(name)
    teardown()
    topology()
    v.ha_always()
    v.ha_per_node()
    v.mn_always()
    v.mn_registration(COA, True)
    ha_s = mh_socket(NS_HA)
    mn_s = mh_socket(NS_MN, HOA)
    cap = capture_start(name, 40000 if v.wild else 15000)
    t0 = time.monotonic()

    # 1. First registration: the HA has no per-binding state.
    b = snapshot()
    got = exchange("bu1", mn_s, HA, bu(1), ha_s)
    stat_delta("bu1", b)
    if got:
        v.ha_binding(got["hao"] or COA, True)
        b = snapshot()
        exchange("ba1", ha_s, HOA, ba(1), mn_s)
        stat_delta("ba1", b)
    if not v.wild or os.environ.get("NK_STOP_AFTER") == "bu1":
        pass
    else:
        # 2. Refresh from the same care-of address.
        b = snapshot()
        exchange("bu2", mn_s, HA, bu(2), ha_s)
        stat_delta("bu2", b)
        b = snapshot()
        exchange("ba2", ha_s, HOA, ba(2), mn_s)
        stat_delta("ba2", b)

        # 3. Handover to a second care-of address: the tunnel and the MN's
        # RO states move first; the HA still holds the old CoA.
        ip(NS_MN, f"addr add {COA2}/64 dev eth0 nodad",
           f"link change nk-mn0 type ip6tnl local {COA2} remote {HA}")
        v.mn_registration(COA2, False)
        b = snapshot()
        got = exchange("bu3", mn_s, HA, bu(3), ha_s)
        stat_delta("bu3", b)
        if got:
            v.ha_binding(got["hao"] or COA2, False)
            b = snapshot()
            exchange("ba3", ha_s, HOA, ba(3), mn_s)
            stat_delta("ba3", b)

        # 4. Unprotected BU from the registered HoA: the MN sends with the HAO
        # but without ESP (its ESP policy removed for the moment).
        if v.sub:
            ip(NS_MN, f"xfrm policy delete src {HOA}/128 dst {HA}/128 proto 135 type 5 dir out")
        else:
            ip(NS_MN, f"xfrm policy update src {HOA}/128 dst {HA}/128 proto 135 type 5 dir out "
                      f"priority 100 {HAO_T}")
        b = snapshot()
        exchange("bu_noesp", mn_s, HA, bu(4), ha_s, timeout=3)
        stat_delta("bu_noesp", b)
        if v.sub:
            ip(NS_MN, f"xfrm policy add src {HOA}/128 dst {HA}/128 proto 135 type 5 dir out priority 100 {ESP1}")
        else:
            ip(NS_MN, f"xfrm policy update src {HOA}/128 dst {HA}/128 proto 135 type 5 dir out "
                      f"priority 100 {ESP1} {HAO_T}")

        # 5. A BU from another home address the HA holds no SA for (HAO only).
        ip(NS_MN, f"addr add {HOA2}/128 dev nk-mn0 home nodad",
           f"xfrm state add src {HOA2} dst {HA} proto hao mode ro coa {COA2}",
           f"xfrm policy add src {HOA2}/128 dst {HA}/128 proto 135 dir out ptype sub priority 100 {HAO_T}")
        mn2 = mh_socket(NS_MN, HOA2)
        b = snapshot()
        exchange("bu_otherhoa", mn2, HA, bu(5), ha_s, timeout=3)
        stat_delta("bu_otherhoa", b)
        mn2.close()

        # 6. ESP-protected BU without HAO (as sent from the home link), from the
        # registered HoA: shows whether inbound MH-type selectors match.
        ip(NS_MN, f"xfrm policy delete src {HOA}/128 dst {HA}/128 proto 135 type 5 dir out ptype sub"
               if v.sub else
               f"xfrm policy update src {HOA}/128 dst {HA}/128 proto 135 type 5 dir out priority 100 {ESP1}")
        b = snapshot()
        exchange("bu_nohao", mn_s, HA, bu(6), ha_s, timeout=3)
        stat_delta("bu_nohao", b)

        # 7. Refresh after the handover, HAO and ESP again.
        if v.sub:
            ip(NS_MN, f"xfrm policy add src {HOA}/128 dst {HA}/128 proto 135 type 5 dir out ptype sub "
                      f"priority 100 {HAO_T}")
        else:
            ip(NS_MN, f"xfrm policy update src {HOA}/128 dst {HA}/128 proto 135 type 5 dir out "
                      f"priority 100 {ESP1} {HAO_T}")
        b = snapshot()
        exchange("bu7", mn_s, HA, bu(7), ha_s)
        stat_delta("bu7", b)
        b = snapshot()
        exchange("ba7", ha_s, HOA, ba(7), mn_s)
        stat_delta("ba7", b)

    # ESP SA counters on both sides.
    for ns, side in ((NS_HA, "ha"), (NS_MN, "mn")):
        pk = sa_packets(ns)
        out(f"sa.{side}.esp_mn_ha", pk.get(("esp", HOA, HA), -1))
        out(f"sa.{side}.esp_ha_mn", pk.get(("esp", HA, HOA), -1))
        for (proto, s, d), n in sorted(pk.items()):
            if proto != "esp":
                out(f"sa.{side}.{proto}.{s}>{d}", n)
    out("elapsed_ms", int((time.monotonic() - t0) * 1000))
    with open(f"{OUT}/{name}.xfrm.txt", "w") as f:
        for ns in (NS_HA, NS_MN):
            for what in (["-s", "xfrm", "state"], ["xfrm", "policy"]):
                f.write(f"### ip -n {ns} {' '.join(what)}\n")
                f.write(subprocess.run(["ip", "-n", ns] + what, capture_output=True, text=True).stdout)
            with In(ns):
                f.write(f"### {ns} /proc/net/xfrm_stat (non-zero)\n")
                f.write("".join(l for l in open("/proc/net/xfrm_stat") if not l.rstrip().endswith("\t0")))
                f.write(f"### {ns} /proc/net/snmp6 (selected)\n")
                f.write("".join(l for l in open("/proc/net/snmp6")
                                if re.match(r"Ip6In(HdrErrors|AddrErrors|Discards|NoRoutes|UnknownProtos|Delivers)", l)))
    ha_s.close()
    mn_s.close()
    # Stop the capture early: it writes its file when its time is up, so wait.
    cap.wait()
    for i, fr in enumerate(pcap_summary(f"{OUT}/{name}.pcap")):
        out(f"wire.{i}", fr)
    teardown()
    with open(f"{OUT}/{name}.txt", "w") as f:
        f.write("\n".join(results) + "\n")


if __name__ == "__main__":
    try:
        for variant in sys.argv[3:]:
            run(variant)
    finally:
        teardown()
