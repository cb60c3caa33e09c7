#!/usr/bin/env python3
"""Writes the testbed's configurations from the templates in
conf/examples/testbed (never a second copy of them): certificates from
mobcert, the home agent, its node file for the mobile router, the mobile
router; then the testbed's choices on top.

configs.py TEMPLATES OUT MOBCERT --keying dynamic|static --k-flag true|false
           --payload true|false --nemo explicit|implicit

What changes against the templates, and why:
- interface names: the topology's (home agent eth0; router acc1, acc2, and
  "home", its way back to the home link, preferred when it has carrier);
- certificate paths: the ones mobcert just issued (dynamic keying);
- binding-id lines go: the testbed measures handovers of one binding, not
  RFC 5648 multiple care-of addresses;
- the IPv4 home address and home agent address go: DSMIPv6 (RFC 5555) is
  not part of the run yet (access link 2 is dual stack for it);
- [keying] becomes RFC 3776 static keys for --keying static (key files
  0600, as mobilityd requires);
- k-flag, payload-tunnel and the mobile network mode from the flags.
"""
import argparse
import os
import re
import subprocess
import sys


def set_key(text, key, value):
    """Sets every `key = ...` line (the templates have each key once per file)."""
    new, n = re.subn(rf"(?m)^{re.escape(key)} = .*$", f"{key} = {value}", text)
    if n == 0:
        raise SystemExit(f"configs.py: the template has no '{key}' line")
    return new


def drop_lines(text, pattern):
    return re.sub(rf"(?m)^{pattern}.*\n", "", text)


def keying_section(text, replacement):
    """Replaces the [keying] table (up to the next table) with `replacement`."""
    new, n = re.subn(r"(?ms)^\[keying\]\n.*?(?=^\[|\Z)", replacement + "\n", text)
    if n != 1:
        raise SystemExit("configs.py: the template has no [keying] table")
    return new


STATIC = """[keying]
method = "static"
[keying.static]
encryption = "aes128-gcm16"
integrity = "none"
spi-to-home-agent = 0x2001
spi-from-home-agent = 0x2002
key-file = "{key_file}"
"""
# RFC 3776 sec. 5.2.1 manual keys: fixed test keys, one per direction.
KEYS = """to-home-agent   0x000102030405060708090a0b0c0d0e0f10111213
from-home-agent 0x101112131415161718191a1b1c1d1e1f20212223
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("templates")
    ap.add_argument("out")
    ap.add_argument("mobcert")
    ap.add_argument("--keying", choices=["dynamic", "static"], required=True)
    ap.add_argument("--k-flag", choices=["true", "false"], required=True)
    ap.add_argument("--payload", choices=["true", "false"], required=True)
    ap.add_argument("--nemo", choices=["explicit", "implicit"], required=True)
    a = ap.parse_args()
    t, out = a.templates, a.out
    read = lambda *p: open(os.path.join(t, *p)).read()
    ha, node, mr = read("ha", "ha.toml"), read("ha", "nodes.d", "mr.toml"), read("mr", "mr.toml")
    for d in ("ha/nodes.d", "ha/keys", "mr", "ca"):
        os.makedirs(os.path.join(out, d), exist_ok=True)

    ha = ha.replace('name = "home0"', 'name = "eth0"')
    mr = mr.replace('name = "a1"', 'name = "acc1"').replace('name = "a2"', 'name = "acc2"')
    mr = mr.replace("[[interface]]\n", '[[interface]]\nname = "home"\npreference = 30\n\n[[interface]]\n', 1)
    mr = drop_lines(mr, "binding-id = ")
    for key in ("home-agent-ipv4-address = ", "ipv4-home-address = "):
        mr, node = drop_lines(mr, key), drop_lines(node, key)
    ha = drop_lines(ha, "ipv4-address = ")
    for name in ("node", "mr"):
        text = locals()[name]
        text = set_key(text, "payload-tunnel", a.payload)
        text = set_key(text, "mode", f'"{a.nemo}"')
        if name == "node":
            node = text
        else:
            mr = text

    if a.keying == "dynamic":
        ca = os.path.join(out, "ca")
        run = lambda *args: subprocess.run([a.mobcert, *args], check=True, stdout=subprocess.DEVNULL)
        run("init-ca", "--ca-dir", ca)
        run("issue", "--ca-dir", ca, "--role", "ha", "--id", "ha.testbed.example",
            "--home-address", "2001:db8:1::1", "--prefix", "::/0")
        run("issue", "--ca-dir", ca, "--role", "mr", "--id", "mr.testbed.example",
            "--home-address", "2001:db8:1::100", "--prefix", "2001:db8:1:100::/64")
        for name, role in (("ha", "ha"), ("mr", "mr")):
            n = os.path.join(ca, "nodes", f"{role}.testbed.example")
            paths = {"certificate": f"{n}/x509/{role}.testbed.example.pem",
                     "private-key": f"{n}/private/{role}.testbed.example.pem",
                     "ca-certificate": f"{n}/x509ca/ca.pem"}
            text = ha if name == "ha" else mr
            for k, v in paths.items():
                text = set_key(text, k, f'"{v}"')
            if name == "ha":
                ha = text
            else:
                mr = text
        node = set_key(node, "k-flag", a.k_flag)
        mr = set_key(mr, "k-flag", a.k_flag)
    else:
        ha = keying_section(ha, "")   # no certificates without IKE
        node = keying_section(node, STATIC.format(key_file="../keys/mr.keys"))
        mr = keying_section(mr, STATIC.format(key_file="mr.keys"))
        for p in (os.path.join(out, "ha", "keys", "mr.keys"), os.path.join(out, "mr", "mr.keys")):
            with open(p, "w") as f:
                f.write(KEYS)
            os.chmod(p, 0o600)
        # mobilityd refuses a home-agent identity without IKE to prove it.
        mr = drop_lines(mr, "home-agent-identity = ")
    for rel, text in (("ha/ha.toml", ha), ("ha/nodes.d/mr.toml", node), ("mr/mr.toml", mr)):
        with open(os.path.join(out, rel), "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
