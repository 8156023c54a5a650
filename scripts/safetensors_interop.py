#!/usr/bin/python3
"""Cross-checks the engine's safetensors files with an independent Python implementation of the format.

The `safetensors` package is not packaged for Debian, so this script implements the format from its specification
(8-byte little-endian header length N; N bytes of UTF-8 JSON, padded with spaces to a multiple of 8, mapping names
to {"dtype", "shape", "data_offsets"} plus an optional "__metadata__" string map; then the little-endian data,
tensors back to back in offset order) with the reference implementation's checks, and loads the tensors into a
PyTorch model with load_state_dict(strict=True).

  write-python OUT   writes the sample model (below) with the Python writer and prints its output y for an input of
                     ones; the C# tests read the committed copy, Engine.Tests/Fixtures/safetensors/python_written.safetensors,
                     and Engine.Tests/Checkpoints/PyTorchRoundTripTests runs this command and loads what it writes
  verify FILE        reads a file written by the engine (the C# tests keep a byte-identical copy in
                     Engine.Tests/Fixtures/safetensors/csharp_written.safetensors; ENGINE_SAFETENSORS_SAMPLE=PATH makes
                     the test write one there) and checks names, shapes, values and metadata against the sample; it prints
                     the output y of the loaded PyTorch model for an input of ones (PyTorchRoundTripTests compares it with
                     the engine's)

The sample is the state dict of torch.nn.Sequential(Linear(3, 4), ReLU(), Linear(4, 2)); element i of the k-th tensor
(names sorted) is ((3 * i + 7 * k + seed) % 11) / 8 - 0.5, exact in float32; seed is 0 for Python, 1 for C#.
"""
import json
import struct
import sys

import torch

NAMES = {"0.weight": [4, 3], "0.bias": [4], "2.weight": [2, 4], "2.bias": [2]}
DTYPES = {"F32": (4, torch.float32), "F64": (8, torch.float64), "F16": (2, torch.float16), "BF16": (2, torch.bfloat16),
          "I64": (8, torch.int64), "I32": (4, torch.int32), "I16": (2, torch.int16), "I8": (1, torch.int8),
          "U8": (1, torch.uint8), "BOOL": (1, torch.bool)}


def sample(seed):
    out = {}
    for k, name in enumerate(sorted(NAMES)):
        shape = NAMES[name]
        n = 1
        for d in shape:
            n *= d
        out[name] = torch.tensor([((3 * i + 7 * k + seed) % 11) / 8 - 0.5 for i in range(n)], dtype=torch.float32).reshape(shape)
    return out


def write(path, tensors, metadata):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    blobs = []
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        data = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read(path):
    raw = open(path, "rb").read()
    if len(raw) < 8:
        raise ValueError("file shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > 100_000_000 or 8 + n > len(raw):
        raise ValueError(f"header length {n} does not fit a {len(raw)}-byte file")
    text = raw[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        raise ValueError("header does not start with '{'")
    header = json.loads(text, object_pairs_hook=no_duplicates)
    metadata = header.pop("__metadata__", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ValueError("__metadata__ must map strings to strings")
    data = raw[8 + n:]
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"])
    expect = 0
    tensors = {}
    for name, e in entries:
        size, dtype = DTYPES[e["dtype"]]
        begin, end = e["data_offsets"]
        count = 1
        for d in e["shape"]:
            count *= d
        if begin != expect or end - begin != count * size:
            raise ValueError(f"tensor {name}: offsets {begin}, {end} do not follow on at {expect} with {count * size} bytes")
        expect = end
        tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(e["shape"]) if count else torch.zeros(e["shape"], dtype=dtype)
    if expect != len(data):
        raise ValueError(f"tensors cover {expect} bytes of {len(data)}")
    return tensors, metadata, n


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate keys in header")
    return dict(pairs)


def model():
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))


def verify(path):
    tensors, metadata, n = read(path)
    if n % 8:
        raise ValueError(f"header length {n} is not a multiple of 8")
    want = sample(1)
    if sorted(tensors) != sorted(want):
        raise ValueError(f"names {sorted(tensors)} != {sorted(want)}")
    for name, t in want.items():
        if not torch.equal(tensors[name], t):
            raise ValueError(f"{name}: values differ")
    if metadata.get("format") != "pt":
        raise ValueError(f"metadata {metadata} lacks format=pt")
    m = model()
    m.load_state_dict(tensors, strict=True)
    y = m(torch.ones(1, 3))
    print(f"{path}: OK ({len(tensors)} tensors, metadata {metadata}); loaded into {m.__class__.__name__}, y = {y.tolist()}")


def main(argv):
    if len(argv) == 2 and argv[0] == "write-python":
        write(argv[1], sample(0), {"format": "pt", "writer": "scripts/safetensors_interop.py"})
        m = model()
        m.load_state_dict(sample(0), strict=True)
        print(f"wrote {argv[1]}; y = {m(torch.ones(1, 3)).tolist()}")
    elif len(argv) == 2 and argv[0] == "verify":
        verify(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
