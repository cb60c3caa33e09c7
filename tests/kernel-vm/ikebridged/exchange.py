#!/usr/bin/env python3
"""One end of a marked datagram exchange (the confidential sensor network).

exchange.py LABEL BIND_PORT PEER PEER_PORT MARKER [COUNT] [SECONDS]

Sends COUNT datagrams carrying MARKER to PEER:PEER_PORT while it listens on
BIND_PORT for SECONDS, then prints "LABEL received N" (datagrams holding the
marker). Both ends run at once; each counts what the other sent.
"""
import socket
import sys
import time


def main():
    label, port, peer, peer_port, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
    count = int(sys.argv[6]) if len(sys.argv) > 6 else 20
    seconds = float(sys.argv[7]) if len(sys.argv) > 7 else 6.0
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", port))
    s.settimeout(0.2)
    got = sent = 0
    deadline = time.time() + seconds
    while time.time() < deadline:
        if sent < count:
            s.sendto(marker.encode() + b" from " + label.encode(), (peer, peer_port))
            sent += 1
        try:
            data, _ = s.recvfrom(2048)
            if marker.encode() in data:
                got += 1
        except socket.timeout:
            pass
    print(label, "received", got)


if __name__ == "__main__":
    main()
