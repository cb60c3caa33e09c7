#!/usr/bin/env python3
"""Checks the observer's captures of the access links (pcap files from
nk_probe capture) for what must never cross a foreign link in clear:
a known marker in any payload, and any Mobility Header (BU, BA, ...) that
is not inside ESP. Prints one summary line per file and a total; exits 1
when a marker or a clear Mobility Header was seen, 2 when the captures hold
no ESP at all (the check would then prove nothing).
  capture_check.py MARKER FILE.pcap...
"""
import struct
import sys

ESP, MH, HOPOPTS, ROUTING, FRAGMENT, DSTOPTS, IPV6 = 50, 135, 0, 43, 44, 60, 41


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:  # Ethernet
            if len(frame) < 14 or frame[12:14] != b"\x86\xdd":
                continue
            frame = frame[14:]
        yield frame


def clear_mobility_header(ip):
    """True when the IPv6 packet carries a Mobility Header before any ESP
    (also inside an IPv6-in-IPv6 tunnel that is itself not in ESP)."""
    while len(ip) >= 40 and ip[0] >> 4 == 6:
        nh, off = ip[6], 40
        while True:
            if nh == MH:
                return True
            if nh == ESP:
                return False
            if nh in (HOPOPTS, ROUTING, DSTOPTS) and off + 2 <= len(ip):
                nh, off = ip[off], off + (ip[off + 1] + 1) * 8
                continue
            if nh == FRAGMENT and off + 8 <= len(ip):
                nh, off = ip[off], off + 8
                continue
            break
        if nh != IPV6:
            return False
        ip = ip[off:]
    return False


UDP = 17


def clear_udp_payload(ip, magic):
    """Bytes of UDP payload starting with `magic` that the IPv6 packet shows
    in clear (also inside an IPv6-in-IPv6 tunnel that is not in ESP); 0
    when it carries none or the datagram is inside ESP."""
    while len(ip) >= 40 and ip[0] >> 4 == 6:
        nh, off = ip[6], 40
        while nh in (HOPOPTS, ROUTING, DSTOPTS, FRAGMENT) and off + 8 <= len(ip):
            nh, off = ip[off], off + (8 if nh == FRAGMENT else (ip[off + 1] + 1) * 8)
        if nh == UDP:
            payload = ip[off + 8:]
            return len(payload) if payload.startswith(magic) else 0
        if nh != IPV6:
            return 0
        ip = ip[off:]
    return 0


def main():
    marker = sys.argv[1].encode()
    total = {"frames": 0, "esp": 0, "marker": 0, "clear_mh": 0}
    for path in sys.argv[2:]:
        counts = {"frames": 0, "esp": 0, "marker": 0, "clear_mh": 0}
        for ip in packets(path):
            counts["frames"] += 1
            if marker in ip:
                counts["marker"] += 1
            if clear_mobility_header(ip):
                counts["clear_mh"] += 1
            if ESP in chain_of(ip):
                counts["esp"] += 1
        print(f"{path}: {counts['frames']} IPv6 frames, {counts['esp']} with ESP, "
              f"{counts['marker']} with the marker in clear, {counts['clear_mh']} Mobility Headers in clear")
        for k in total:
            total[k] += counts[k]
    print(f"total: {total['frames']} frames, {total['esp']} ESP, plaintext marker {total['marker']}, "
          f"clear MH {total['clear_mh']}")
    if total["marker"] or total["clear_mh"]:
        return 1
    return 0 if total["esp"] else 2


def chain_of(ip):
    out, nh, off = [], ip[6] if len(ip) >= 40 else None, 40
    while nh is not None:
        out.append(nh)
        if nh in (HOPOPTS, ROUTING, DSTOPTS) and off + 2 <= len(ip):
            nh, off = ip[off], off + (ip[off + 1] + 1) * 8
        else:
            break
    return out


if __name__ == "__main__":
    sys.exit(main())
