#!/usr/bin/env python3
"""Write interop/tests/differential/corpus.txt: the differential replay corpus.

Valid encodings from the vendored IETF vectors (messages.json: the first CASES cases),
and hand-made edge cases of the codec rules the two implementations must agree on or
disagree on for a stated reason. One line each: `TAG HEX LABEL` where TAG is the kind
(0 MLSMessage, 1 KeyPackage body, 2 Welcome body, 3 GroupInfo body, 4 ratchet tree).

Usage: python3 interop/tests/differential/make_corpus.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "..", "..", "vectors", "ietf", "messages.json")
CASES = 4
FIELDS = [
    "mls_welcome", "mls_group_info", "mls_key_package", "public_message_application",
    "public_message_proposal", "public_message_commit", "private_message",
]


def varint(n):
    if n < 64:
        return bytes([n])
    if n < 16384:
        return (0x4000 | n).to_bytes(2, "big")
    return (0x80000000 | n).to_bytes(4, "big")


def read_varint(b, at):
    p = b[at] >> 6
    if p == 0:
        return b[at] & 0x3F, 1
    if p == 1:
        return int.from_bytes(b[at:at + 2], "big") & 0x3FFF, 2
    return int.from_bytes(b[at:at + 4], "big") & 0x3FFFFFFF, 4


def main():
    with open(VECTORS) as f:
        cases = json.load(f)[:CASES]
    lines = []

    def put(tag, data, label):
        lines.append(f"{tag} {data.hex()} {label}")

    for i, case in enumerate(cases):
        for field in FIELDS:
            data = bytes.fromhex(case[field])
            put(0, data, f"ietf{i}.{field}")
            if i == 0:
                put(0, data[:-1], f"ietf{i}.{field}.truncated")
                put(0, data + b"\x00", f"ietf{i}.{field}.trailing_byte")
        tree = bytes.fromhex(case["ratchet_tree"])
        put(4, tree, f"ietf{i}.ratchet_tree")
    c = cases[0]
    kp = bytes.fromhex(c["mls_key_package"])
    welcome = bytes.fromhex(c["mls_welcome"])
    gi = bytes.fromhex(c["mls_group_info"])
    put(1, kp[4:], "key_package.body")
    put(2, welcome[4:], "welcome.body")
    put(3, gi[4:], "group_info.body")
    put(0, b"\x00\x02" + kp[2:], "version_2")
    put(0, kp[:2] + b"\x00\x06" + kp[4:], "wire_format_6")
    put(0, b"", "empty")
    # Welcome: cipher_suite (2 bytes) then secrets<V>: make that length non-minimal.
    body = welcome[4:]
    n, w = read_varint(body, 2)
    if w == 1:
        put(2, body[:2] + (0x4000 | n).to_bytes(2, "big") + body[3:], "welcome.nonminimal_varint")
    put(2, body[:2] + b"\xc0" + body[3:], "welcome.varint_prefix_11")
    # Ratchet tree: a trailing blank node, and a presence octet of 2.
    tree = bytes.fromhex(c["ratchet_tree"])
    n, w = read_varint(tree, 0)
    inner = tree[w:w + n]
    put(4, varint(n + 1) + inner + b"\x00", "ratchet_tree.trailing_blank")
    put(4, varint(n) + b"\x02" + inner[1:], "ratchet_tree.presence_2")
    put(4, b"\x00", "ratchet_tree.empty")
    put(4, tree + b"\x00", "ratchet_tree.bytes_after")
    with open(os.path.join(HERE, "corpus.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{len(lines)} entries")


if __name__ == "__main__":
    main()
