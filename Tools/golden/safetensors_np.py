"""safetensors read/write with numpy only, shared by the golden-tensor scripts (the `safetensors`
package is not needed). Layout: 8-byte little-endian header length, JSON header padded with spaces
so the data starts at a multiple of 8, then the tensors back to back in header order."""
import json
import struct

import numpy as np

TAGS = {np.dtype("float32"): "F32", np.dtype("float16"): "F16", np.dtype("int64"): "I64", np.dtype("uint8"): "U8"}
NP_DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "I64": np.dtype("<i8"), "U8": np.dtype("u1")}


def encode_safetensors(tensors, metadata, sort_metadata=False, always_metadata=False):
    """tensors: list of (name, array); metadata: dict str -> str. Returns the file's bytes."""
    header, chunks, offset = {}, [], 0
    for name, arr in tensors:
        arr = np.asarray(arr)  # not ascontiguousarray: it turns 0-d arrays into shape [1]
        tag = TAGS.get(arr.dtype)
        if tag is None:
            raise TypeError(f"{name}: unsupported dtype {arr.dtype}")
        raw = arr.astype(NP_DTYPES[tag], copy=False).tobytes(order="C")
        header[name] = {"dtype": tag, "shape": [int(d) for d in arr.shape], "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata or always_metadata:
        items = sorted(metadata.items()) if sort_metadata else metadata.items()
        header["__metadata__"] = {k: str(v) for k, v in items}
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((-len(hbytes)) % 8)
    return struct.pack("<Q", len(hbytes)) + hbytes + b"".join(chunks)


def read_safetensors(path):
    """Returns (list of (name, dtype tag, shape, array) in data order, metadata, layout problems)."""
    with open(path, "rb") as f:
        blob = f.read()
    problems = []
    (n,) = struct.unpack("<Q", blob[:8])
    if (8 + n) % 8:
        problems.append(f"data section starts at {8 + n}, not 8-byte aligned")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {})
    out, expected = [], 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = info["data_offsets"]
        dt = NP_DTYPES[info["dtype"]]
        count = int(np.prod(info["shape"], dtype=np.int64))
        if begin != expected:
            problems.append(f"{name}: begins at {begin}, expected {expected}")
        if end - begin != count * dt.itemsize:
            problems.append(f"{name}: {end - begin} bytes for shape {info['shape']}")
        out.append((name, info["dtype"], info["shape"], np.frombuffer(data[begin:end], dtype=dt).reshape(info["shape"])))
        expected = end
    if expected != len(data):
        problems.append(f"data section is {len(data)} bytes, tensors cover {expected}")
    return out, metadata, problems
