#!/usr/bin/env python3
"""Reverse-tunnel probes for the kernel-VM scenarios (no scapy: it takes a
minute to import under TCG).

  tunnel_probe.py send OUTER_SRC OUTER_DST INNER_SRC INNER_DST PORT [COUNT]
      COUNT (default 3) UDP datagrams from INNER_SRC to INNER_DST:PORT,
      each ip6ip6-encapsulated (RFC 2473) by a raw IPPROTO_IPV6 socket bound
      to OUTER_SRC and sent to OUTER_DST: the kernel writes the outer header.
  tunnel_probe.py listen ADDRESS PORT SECONDS
      prints "received N" and one "from SRC" line per datagram that reached
      ADDRESS:PORT within SECONDS.
"""
import socket
import struct
import sys
import time


def udp6(src, dst, port, payload):
    s = socket.inet_pton(socket.AF_INET6, src)
    d = socket.inet_pton(socket.AF_INET6, dst)
    length = 8 + len(payload)
    udp = struct.pack("!HHHH", 40000, port, length, 0) + payload
    pseudo = s + d + struct.pack("!I3xB", length, 17) + udp
    if len(pseudo) % 2:
        pseudo += b"\0"
    total = sum(struct.unpack("!%dH" % (len(pseudo) // 2), pseudo))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    checksum = (~total & 0xFFFF) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", checksum) + udp[8:]
    header = struct.pack("!IHBB", 6 << 28, length, 17, 64) + s + d
    return header + udp


def send(outer_src, outer_dst, inner_src, inner_dst, port, count=3):
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_IPV6)
    sock.bind((outer_src, 0))
    for i in range(int(count)):
        sock.sendto(udp6(inner_src, inner_dst, int(port), b"nk-probe %d" % i), (outer_dst, 0))
        time.sleep(0.05)
    print("sent %s from %s (outer %s -> %s)" % (count, inner_src, outer_src, outer_dst))


def listen(address, port, seconds):
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.bind((address, int(port)))
    end = time.monotonic() + float(seconds)
    got = []
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            _, peer = sock.recvfrom(2048)
        except socket.timeout:
            break
        got.append(peer[0])
    print("received %d" % len(got))
    for g in got:
        print("from %s" % g)


if __name__ == "__main__":
    if len(sys.argv) >= 7 and sys.argv[1] == "send":
        send(*sys.argv[2:8])
    elif len(sys.argv) == 5 and sys.argv[1] == "listen":
        listen(*sys.argv[2:5])
    else:
        sys.exit(__doc__)
