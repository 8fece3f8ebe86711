#!/usr/bin/env python3
"""Write seed corpora for the fuzz targets from the IETF vectors into fuzz/corpus/ (gitignored).

Usage: python3 fuzz/seed_corpus.py [VECTOR_DIR]   (default: the vendored vectors/ietf)
"""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "vectors", "ietf")
CORPUS = os.path.join(HERE, "corpus")

# MLSMessage header: version (2 bytes) then wire_format (2 bytes).
WIRE_FORMATS = {3: "welcome", 4: "group_info", 5: "key_package"}


def put(target, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def message(data):
    """An MLSMessage: seed mls_message, and the bare body for its own target."""
    put("mls_message", data)
    wf = int.from_bytes(data[2:4], "big")
    if wf in WIRE_FORMATS:
        put(WIRE_FORMATS[wf], data[4:])


def main():
    with open(os.path.join(VECTORS, "messages.json")) as f:
        cases = json.load(f)
    for case in cases:
        for key, value in case.items():
            data = bytes.fromhex(value)
            if key.startswith(("mls_", "public_message", "private_message")):
                message(data)
            elif key == "ratchet_tree":
                put("ratchet_tree", data)
            elif key == "group_secrets":
                put("welcome", data)
    for target in sorted(os.listdir(CORPUS)):
        print(f"{target}: {len(os.listdir(os.path.join(CORPUS, target)))} seeds")


if __name__ == "__main__":
    main()
