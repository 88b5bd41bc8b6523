#!/usr/bin/env python3
"""Writes the golden frames proto/vectors/*.hex from proto/wire.md, independently of the Swift encoder.

Each file is one frame as hex text, one field per line with a comment naming it. StrataWireTests encodes the same
messages and compares bytes exactly, then parses each file back. Run from anywhere:

    python3 proto/vectors/generate.py

The values below are mirrored in Tests/StrataWireTests/GoldenVectorTests.swift; change both together, and only
with a protocol version bump (see proto/wire.md, "Versioning").
"""
import hashlib
import hmac
import os
import struct

VERSION = 1
HERE = os.path.dirname(os.path.abspath(__file__))

KINDS = {
    "hello": 0x01, "authenticate": 0x02, "welcome": 0x03, "goodbye": 0x04,
    "assign-layers": 0x10, "layers-ready": 0x11, "load-from-local-file": 0x12, "weight-chunk": 0x13,
    "weights-loaded": 0x14, "forward": 0x20, "forward-result": 0x21, "release": 0x22,
    "heartbeat": 0x30, "drain": 0x31, "shutdown": 0x32, "error": 0x3F,
}


def crc32c(data: bytes) -> int:
    """Bitwise CRC-32C (Castagnoli, reflected 0x82F63B78)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


class Payload:
    """Collects (bytes, comment) lines."""

    def __init__(self):
        self.lines = []

    def raw(self, data: bytes, comment: str):
        self.lines.append((data, comment))

    def u8(self, v, c): self.raw(struct.pack(">B", v), f"{c} = {v}")
    def u16(self, v, c): self.raw(struct.pack(">H", v), f"{c} = {v}")
    def u32(self, v, c): self.raw(struct.pack(">I", v), f"{c} = {v}")
    def u64(self, v, c): self.raw(struct.pack(">Q", v), f"{c} = {v}")

    def b32(self, v: bytes, c):
        assert len(v) == 32
        self.raw(v, c)

    def string(self, s: str, c):
        data = s.encode("utf-8")
        self.u16(len(data), f"{c} length")
        self.raw(data, f'{c} = "{s}"')

    def tensor(self, dtype, rows, cols, data: bytes, c):
        size = {0: 4, 1: 2, 2: 2}[dtype]
        assert len(data) == rows * cols * size
        self.u8(dtype, f"{c}.dtype ({['f32', 'f16', 'bf16'][dtype]})")
        self.u32(rows, f"{c}.rows")
        self.u32(cols, f"{c}.columns")
        self.u32(len(data), f"{c}.byteCount")
        self.raw(data, f"{c}.data, little-endian, row-major")

    def bytes(self):
        return b"".join(d for d, _ in self.lines)


def write(name, title, payload: Payload, request_id=0, flags=0):
    body = payload.bytes()
    header = [
        (struct.pack(">H", 0x5354), 'magic "ST"'),
        (struct.pack(">B", VERSION), f"version = {VERSION}"),
        (struct.pack(">B", KINDS[name]), f"kind = 0x{KINDS[name]:02x} ({title})"),
        (struct.pack(">H", flags), f"flags = 0x{flags:04x}"),
        (struct.pack(">H", 0), "reserved = 0"),
        (struct.pack(">Q", request_id), f"request id = {request_id}"),
        (struct.pack(">I", len(body)), f"payload length = {len(body)}"),
    ]
    out = [
        f"# Strata wire golden frame: {title}",
        f"# format: strata-wire frame, protocol version {VERSION}; generator: proto/vectors/generate.py",
        "# Hex bytes; '#' starts a comment; whitespace is ignored.",
        "# header (20 bytes)",
    ]
    for data, comment in header:
        out.append(f"{data.hex(' '):<48}# {comment}")
    out.append(f"# payload ({len(body)} bytes)")
    for data, comment in payload.lines:
        if not data:
            out.append(f"{'':<48}# {comment} (empty)")
            continue
        for i in range(0, len(data), 16):
            chunk = data[i:i + 16]
            out.append(f"{chunk.hex(' '):<48}" + (f"# {comment}" if i == 0 else "#   …"))
    with open(os.path.join(HERE, f"{name}.hex"), "w") as f:
        f.write("\n".join(out) + "\n")


# MARK: shared fixture values

MODEL_HASH = hashlib.sha256(b"strata test model").digest()
WORKER_CHALLENGE = bytes(range(0x00, 0x20))
COORDINATOR_CHALLENGE = bytes(range(0x20, 0x40))
SECRET = b"correct horse battery staple"


def hello_payload():
    p = Payload()
    p.u8(1, "minVersion")
    p.u8(1, "maxVersion")
    p.u64(0x1F, "capabilities (f16 | bf16 | localModelFile | weightStreaming | backfill)")
    p.u64(0x0123456789ABCDEF, "workerID")
    p.string("worker-a", "name")
    p.u16(16, "threads")
    p.u16(2, "numaNodes")
    p.u64(64 << 30, "freeMemoryBytes")
    p.u32(81_250, "memoryBandwidthMBps")
    p.u8(1, "modelHash present")
    p.b32(MODEL_HASH, 'modelHash = SHA-256("strata test model")')
    p.b32(WORKER_CHALLENGE, "challenge = 00 01 … 1f")
    return p


def transcript(version, role):
    return hashlib.sha256(hello_payload().bytes()).digest() + bytes([version, role]) + MODEL_HASH


def coordinator_proof():
    msg = WORKER_CHALLENGE + b"strata-wire/1 coordinator" + COORDINATOR_CHALLENGE + transcript(1, 0)
    return hmac.new(SECRET, msg, hashlib.sha256).digest()


def worker_proof():
    msg = COORDINATOR_CHALLENGE + b"strata-wire/1 worker" + WORKER_CHALLENGE + transcript(1, 0)
    return hmac.new(SECRET, msg, hashlib.sha256).digest()


def f32le(values):
    return b"".join(struct.pack("<f", v) for v in values)


def bf16le(values):
    out = b""
    for v in values:
        bits = struct.unpack("<I", struct.pack("<f", v))[0]
        assert bits & 0xFFFF == 0, "fixture values must be exact in bf16"
        out += struct.pack("<H", bits >> 16)
    return out


def main():
    write("hello", "Hello", hello_payload())

    p = Payload()
    p.u8(1, "version")
    p.u8(0, "role (coordinator)")
    p.b32(COORDINATOR_CHALLENGE, "challenge = 20 21 … 3f")
    p.b32(coordinator_proof(), 'proof = HMAC-SHA256("correct horse battery staple", coordinator context)')
    p.b32(MODEL_HASH, "modelHash")
    write("authenticate", "Authenticate", p)

    p = Payload()
    p.b32(worker_proof(), 'proof = HMAC-SHA256("correct horse battery staple", worker context)')
    write("welcome", "Welcome", p)

    p = Payload()
    p.u8(2, "reason (badSecret)")
    p.string("the peer's proof does not verify", "message")
    write("goodbye", "Goodbye", p)

    p = Payload()
    p.u32(0, "layerLower")
    p.u32(15, "layerUpper")
    p.u32(30, "totalLayers")
    p.u8(2, "activationDType (bf16)")
    p.u8(1, "kvCacheDType (f16)")
    p.u32(2048, "contextLimit")
    p.u32(8, "maxSequences")
    p.u32(256, "maxBatchRows")
    p.u8(1, "nextHop present")
    p.string("10.0.0.2", "nextHop.host")
    p.u16(7401, "nextHop.port")
    p.b32(MODEL_HASH, "modelHash")
    write("assign-layers", "AssignLayers", p, request_id=1)

    p = Payload()
    p.u32(0, "layerLower")
    p.u32(15, "layerUpper")
    p.u64(16384, "kvCapacityTokens")
    write("layers-ready", "LayersReady", p, request_id=1)

    p = Payload()
    p.b32(MODEL_HASH, "modelHash")
    write("load-from-local-file", "LoadFromLocalFile", p, request_id=2)

    chunk = bytes(range(16))
    p = Payload()
    p.string("blk.0.attn_q.weight", "tensorName")
    p.u32(2, "tensorType (GGML Q4_0)")
    p.u8(2, "dimensionCount")
    p.u64(576, "dimensions[0]")
    p.u64(576, "dimensions[1]")
    p.u64(4096, "byteOffset")
    p.u64(186_624, "totalBytes")
    p.u32(crc32c(chunk), "checksum (CRC-32C of data)")
    p.u32(len(chunk), "dataLength")
    p.raw(chunk, "data = 00 01 … 0f")
    write("weight-chunk", "WeightChunk (last chunk)", p, request_id=3, flags=0x0001)

    p = Payload()
    p.u32(272, "tensorCount")
    p.u64(98_000_000, "byteCount")
    p.u8(1, "source (streamed)")
    write("weights-loaded", "WeightsLoaded", p, request_id=3)

    hidden = [0.5, -1.0, 2.0, 0.25, 1.5, -0.125, 3.0, -2.5, 0.0, 1.0, -0.75, 4.0]
    p = Payload()
    p.u64(42, "stepID")
    p.u32(0, "fromLayer")
    p.u32(21, "exitLayer")
    p.u32(3, "rowCount")
    for i, (seq, pos, join, fl) in enumerate([(7, 12, 0, 0), (7, 13, 0, 0), (9, 3, 5, 1)]):
        p.u64(seq, f"rows[{i}].sequenceID")
        p.u32(pos, f"rows[{i}].position")
        p.u32(join, f"rows[{i}].joinLayer")
        p.u8(fl, f"rows[{i}].flags" + (" (backfill)" if fl else ""))
    p.tensor(0, 3, 4, f32le(hidden), "hidden")
    write("forward", "Forward", p, request_id=4)

    p = Payload()
    p.u64(42, "stepID")
    p.u32(21, "layerReached")
    p.u32(2, "rowCount")
    for i, (seq, pos) in enumerate([(7, 12), (7, 13)]):
        p.u64(seq, f"rows[{i}].sequenceID")
        p.u32(pos, f"rows[{i}].position")
    p.tensor(2, 2, 4, bf16le(hidden[:8]), "hidden")
    write("forward-result", "ForwardResult", p, request_id=4)

    p = Payload()
    p.u32(2, "count")
    p.u64(7, "sequenceIDs[0]")
    p.u64(9, "sequenceIDs[1]")
    write("release", "Release", p)

    p = Payload()
    p.u64(1_000_000_000, "sentAtNanos")
    p.u64(999_000_000, "echoedNanos")
    p.u32(2, "queueDepth")
    p.u16(7500, "busyPermyriad (0.75)")
    p.u64(123_456_789, "residentBytes")
    p.u64(4_194_304, "kvBytes")
    p.u32(3, "sequencesHeld")
    write("heartbeat", "Heartbeat", p)

    write("drain", "Drain", Payload())
    write("shutdown", "Shutdown", Payload())

    p = Payload()
    p.u16(6, "code (kvCacheFull)")
    p.u8(1, "requestID present")
    p.u64(4, "requestID")
    p.string("no room for 3 positions", "message")
    write("error", "Error", p, request_id=4)


if __name__ == "__main__":
    main()
