#!/usr/bin/env python3
"""Seed inputs for the fuzz targets, cut from the real Fixtures files (standard library only).

Writes one folder per target under the given directory (default Tools/fuzz/seeds). `Tools/fuzz/run`
starts from these plus the committed, minimised corpus; the seeds stay small so that libFuzzer's
mutations stay fast (a 2 MB CIFAR batch becomes its first records).
"""
import gzip, json, os, struct, sys, zlib

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "..", "Fixtures")
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "seeds")


def put(target, name, data):
    folder = os.path.join(out, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def fixture(*parts):
    with open(os.path.join(fixtures, *parts), "rb") as f:
        return f.read()


def safetensors(tensors, metadata):
    """tensors: name -> (dtype, shape, raw bytes), laid out in the given order."""
    header, offset, blob = {"__metadata__": metadata}, 0, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blob += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + blob


def floats(values):
    return struct.pack("<%df" % len(values), *values)


# safetensors: the two smallest goldens and a file with every dtype's edge (empty tensor, scalar).
put("safetensors", "linear.safetensors", fixture("golden", "linear.safetensors"))
put("safetensors", "losses.safetensors", fixture("golden", "losses.safetensors"))
put("safetensors", "edges.safetensors", safetensors({
    "scalar": ("F32", [], floats([1.5])), "empty": ("F32", [0, 3], b""),
    "ints": ("I64", [2], struct.pack("<2q", -1, 7)), "bytes": ("U8", [3], b"\x00\x7f\xff"),
    "flags": ("BOOL", [2], b"\x00\x01"), "half": ("F16", [1], b"\x00\x3c")}, {"format": "pt"}))

# passport files: a V1 and a V2 passport of one small layer, as Passport.write lays them out.
for scheme, channels in (("v1", 4), ("v2", 8)):
    key = [((i * 37) % 19 - 9) / 9 for i in range(2 * 3 * 3)]
    bits = [1.0 if (i * 5) % 3 else -1.0 for i in range(channels)]
    put("passport-file", scheme + ".safetensors", safetensors({
        "features.4.key": ("F32", [1, 2, 3, 3], floats(key)), "features.4.skey": ("F32", [1, 2, 3, 3], floats(key[::-1])),
        "features.4.b": ("F32", [channels], floats(bits))},
        {"format": "swift-deepipr-passport-1", "scheme": scheme, "layers": "features.4", "texts": json.dumps({"features.4": "A"})}))

# images: small JPEGs of the ImageNet-style fixture, and a PNG of the same size (gray, RGB, RGBA).
for name in ("cat_0.jpg", "cat_3.jpg"):
    put("image", name, fixture("imagenet_tiny", "train", "cat", name))


def png(width, height, color_type, channels):
    rows = b"".join(b"\x00" + bytes((x * 40 + y * 15 + c * 60) % 256 for x in range(width) for c in range(channels)) for y in range(height))
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


put("image", "gray.png", png(6, 5, 0, 1))
put("image", "rgb.png", png(7, 4, 2, 3))
put("image", "rgba.png", png(3, 3, 6, 4))

# CIFAR: the first two records of the test batch (CIFAR-10), and the same pixels as CIFAR-100 records.
batch = fixture("cifar10_subset", "cifar-10-batches-bin", "test_batch.bin")
put("cifar", "cifar10-2.bin", batch[:2 * 3073])
put("cifar", "cifar100-1.bin", bytes([3, 42]) + batch[1:3073])

# IDX: first byte = where the label file starts (of 255); images 2×4×4, labels 2, plain and gzipped.
images = bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 4, 4) + bytes(range(32))
labels = bytes([0, 0, 8, 1]) + struct.pack(">I", 2) + bytes([3, 9])
for name, (a, b) in {"plain": (images, labels), "gzip": (gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0))}.items():
    cut = round(len(a) * 255 / (len(a) + len(b)))
    while (len(a) + len(b)) * cut // 255 < len(a): cut += 1
    while (len(a) + len(b)) * cut // 255 > len(a): cut -= 1
    assert (len(a) + len(b)) * cut // 255 == len(a), name
    put("idx", name + ".idx", bytes([cut]) + a + b)

# Passport configs: the reference's, as shipped.
for name in sorted(os.listdir(os.path.join(fixtures, "passport_configs"))):
    if name.endswith(".json"):
        put("passport-config", name, fixture("passport_configs", name))

# Learning-rate schedules: the reference's lr_configs shapes.
put("lr-config", "default.json", b'{"epochs": 200, "type": "steps", "steps": [100, 150], "gamma": 0.1}')
put("lr-config", "short.json", b'{"epochs": 3, "type": "steps", "steps": [], "gamma": 0.5}')

# Trigger labels: the first three lines of WatermarkNN's label file.
put("trigger-labels", "labels-cifar.txt", b"".join(fixture("trigger_set", "labels-cifar.txt").splitlines(keepends=True)[:3]))
# Infer requests for a 4×4 model (the target's framing: first byte even, no header; odd, then the
# Inference-Header-Content-Length as two little-endian bytes): JSON UINT8, JSON FP32 with outputs
# asked as binary, and binary UINT8 / FP32 inputs after a JSON header.
pixels = bytes((7 * i) % 256 for i in range(48))
def request(datatype, binary, extra=""):
    tensor = {"name": "input", "shape": [1, 3, 4, 4], "datatype": datatype}
    if binary:
        tensor["parameters"] = {"binary_data_size": len(binary)}
    else:
        tensor["data"] = list(pixels) if datatype == "UINT8" else [v / 255 for v in pixels]
    return (json.dumps({"inputs": [tensor]}, separators=(",", ":"))[:-1] + extra + "}").encode()
put("infer-request", "json-uint8", b"\x00" + request("UINT8", None))
put("infer-request", "json-fp32-binary-out", b"\x00" + request("FP32", None, ',"parameters":{"binary_data_output":true}'))
for name, datatype, raw in (("binary-uint8", "UINT8", pixels), ("binary-fp32", "FP32", struct.pack("<48f", *(v / 255 for v in pixels)))):
    head = request(datatype, raw, ',"outputs":[{"name":"label","parameters":{"binary_data":true}}]')
    put("infer-request", name, b"\x01" + struct.pack("<H", len(head)) + head + raw)
print(out)
