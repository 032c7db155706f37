#!/usr/bin/env python3
"""Shrinks a vramscope trace into a fuzzing seed with the same records.

A recorded trace pads its header to 4 KiB and every chunk to 64 KiB, mostly
zeros, which the fuzzer would spend its mutations on. This rewrites it with
the header unpadded and the chunks as small as their records allow (4 KiB at
least, the reader's minimum): the same records and chunk heads, only moved.
The last chunk ends at its last record.

Module paths are renamed to the same length in a folder that does not exist
(/lib/x86_64-linux-gnu/libc.so.6 becomes /xxx/xxxxxxxxxxxxxxxxx/libc.so.6,
its chunk's checksum recomputed): the analysis would otherwise read this
machine's binaries to name the stacks' addresses, slowly, and differently on
another machine.

usage: fuzz/shrink_trace.py IN.vstrace OUT.vstrace
"""
import re
import struct
import sys
import zlib

PREFIX = struct.Struct("<8sHHIIIII")  # layout::FilePrefix
HEAD = struct.Struct("<IIIIQQ")  # layout::ChunkHead
CHUNK_MAGIC = 0x4B435356


def used_length(head, payload):
    magic, _, sealed, *_ = head
    if magic != CHUNK_MAGIC:
        return 0
    if sealed:
        return sealed
    # Unsealed: its records end at the first zero token, but the last may end
    # in zeros of its own: keep a few.
    return min(len(payload), len(payload.rstrip(b"\0")) + 64)


def forget_module_paths(payload):
    """Each string that names a file of the system, its length byte before it."""
    out = bytearray(payload)
    for start in (m.start() for m in re.finditer(rb"/(?:lib|lib64|usr|opt|home|work|tmp|root)/", payload)):
        length = payload[start - 1] if start > 0 else 0
        path = payload[start : start + length]
        if length < 0x80 and len(path) == length and all(0x21 <= b <= 0x7E for b in path):
            folder, _, name = path.rpartition(b"/")
            out[start : start + len(folder)] = re.sub(rb"[^/]", b"x", folder)
    return bytes(out)


def main(source, target):
    data = open(source, "rb").read()
    magic, version, flags, payload_bytes, total_bytes, chunk_bytes, crc, reserved = PREFIX.unpack_from(data)
    if magic != b"VRSCOPE\n":
        sys.exit(f"{source}: not a vramscope trace")
    chunks = []
    for offset in range(total_bytes, len(data) - HEAD.size + 1, chunk_bytes):
        head = HEAD.unpack_from(data, offset)
        payload = data[offset + HEAD.size : offset + chunk_bytes]
        payload = payload[: used_length(head, payload)]
        renamed = forget_module_paths(payload)
        chunk_magic, thread, sealed, chunk_crc, *anchors = head
        if renamed != payload and sealed:
            chunk_crc = zlib.crc32(renamed[:sealed])
        payload = renamed
        chunks.append((HEAD.pack(chunk_magic, thread, sealed, chunk_crc, *anchors), payload))
    new_chunk_bytes = max([4096] + [HEAD.size + len(p) for _, p in chunks])
    header_total = PREFIX.size + payload_bytes
    out = bytearray(PREFIX.pack(magic, version, flags, payload_bytes, header_total, new_chunk_bytes, crc, reserved))
    out += data[PREFIX.size : PREFIX.size + payload_bytes]
    for i, (head, payload) in enumerate(chunks):
        out += head + payload
        if i + 1 < len(chunks):
            out += bytes(new_chunk_bytes - HEAD.size - len(payload))
    open(target, "wb").write(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    main(sys.argv[1], sys.argv[2])
