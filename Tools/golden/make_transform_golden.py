#!/usr/bin/env python3
"""Golden outputs for the IPRData Swift tests: torchvision transform semantics and image decoding.

What it produces
    Fixtures/golden/transforms.safetensors
    Tensor names are "<case>.<role>"; each case's parameters are a compact JSON string in the
    safetensors "__metadata__" under the key "<case>". Images are U8 arrays [H, W, 3] (HWC, as
    PIL's np.asarray gives them); to-tensor/normalise outputs are F32 [3, H, W]; encoded image
    files are U8 [n] byte strings ("<case>.file").

The reference is what torchvision runs on PIL images, written out with Pillow and numpy (no
torch needed):
    center crop  F.center_crop: crop offsets int(round((H - h) / 2)) (Python's half-to-even
                 round), zero padding first when the image is smaller (torchvision's split)
    flip         Image.transpose(FLIP_LEFT_RIGHT)
    pad + crop   ImageOps.expand(border=p, fill=0) then Image.crop at fixed offsets
                 (RandomCrop(32, padding=4) with its random offsets fixed)
    resize       Image.resize((w, h), Image.BILINEAR) (what transforms.Resize calls on PIL
                 images), and torchvision's shorter-side size rule int(s * long / short)
    resized crop Image.crop then Image.resize (F.resized_crop with a fixed box)
    to tensor    np.float32(x) / 255 (bit-identical to torch's x.float().div(255))
    normalise    (x - mean) / std in float32 (bit-identical to torch's sub_/div_)
    decoding     PNG files written by the small writer below (every color type and bit depth,
                 palette with tRNS, Adam7 interlace, a gAMA chunk that must be ignored) with the
                 expected pixels computed from the source arrays (and cross-checked with Pillow);
                 JPEG files written by Pillow (YCbCr 4:2:0 and 4:4:4, progressive, gray, CMYK) with
                 Pillow's decode + convert("RGB") as the expected pixels; and the center 32x32
                 crops of two real trigger-set images (a JPEG and a PNG named .jpg).

How to run (from the repository root)
    python3 -m venv /tmp/golden-venv && /tmp/golden-venv/bin/pip install pillow==13.0.0 numpy
    /tmp/golden-venv/bin/python Tools/golden/make_transform_golden.py           # (re)write
    /tmp/golden-venv/bin/python Tools/golden/make_transform_golden.py --check   # verify

Deterministic: inputs come from numpy's legacy RandomState with fixed seeds, PNG bytes from zlib
at level 9, JPEG bytes from Pillow's bundled libjpeg-turbo. Rerunning with the same Pillow leaves
the file byte for byte the same (`--check` compares). CI needs no Python: the output is checked in.
"""

import argparse
import io
import json
import os
import struct
import sys
import zlib

import warnings

import numpy as np

from safetensors_np import encode_safetensors as shared_encode, read_safetensors as shared_read
from PIL import Image, ImageOps

# Pillow warns that palette+tRNS images "should be converted to RGBA": converting to RGB is the point.
warnings.filterwarnings("ignore", message="Palette images with Transparency")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Fixtures", "golden", "transforms.safetensors")
TRIGGER = os.path.join(ROOT, "Fixtures", "trigger_set", "pics")


IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
CIFAR = ([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010])


# ---------------------------------------------------------------------------
# safetensors I/O (numpy only)
# ---------------------------------------------------------------------------

def encode_safetensors(tensors, metadata):
    return shared_encode(tensors, metadata, sort_metadata=True, always_metadata=True)


def read_safetensors(path):
    entries, meta, _ = shared_read(path)
    return {name: arr for name, _, _, arr in entries}, meta


class Golden:
    def __init__(self):
        self.tensors, self.meta = [], {}

    def case(self, name, **params):
        self.meta[name] = json.dumps(params, separators=(",", ":"), sort_keys=True)

    def put(self, name, arr):
        self.tensors.append((name, np.ascontiguousarray(arr)))


def rand_image(seed, h, w):
    return np.random.RandomState(seed).randint(0, 256, size=(h, w, 3)).astype(np.uint8)


def pil(a):
    return Image.fromarray(a, "RGB")


def arr(img):
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


# ---------------------------------------------------------------------------
# torchvision semantics on PIL images
# ---------------------------------------------------------------------------

def center_crop(img, h, w):
    iw, ih = img.size
    if w > iw or h > ih:  # torchvision F.center_crop pads with zeros first
        ltrb = [(w - iw) // 2 if w > iw else 0, (h - ih) // 2 if h > ih else 0,
                (w - iw + 1) // 2 if w > iw else 0, (h - ih + 1) // 2 if h > ih else 0]
        img = ImageOps.expand(img, border=tuple(ltrb), fill=0)
        iw, ih = img.size
        if w == iw and h == ih:
            return img
    top = int(round((ih - h) / 2.0))
    left = int(round((iw - w) / 2.0))
    return img.crop((left, top, left + w, top + h))


def shorter_side_size(iw, ih, s):
    short, long = (iw, ih) if iw <= ih else (ih, iw)
    new_short, new_long = s, int(s * long / short)
    return (new_short, new_long) if iw <= ih else (new_long, new_short)  # (w, h)


def to_tensor(a):
    return (a.astype(np.float32) / np.float32(255)).transpose(2, 0, 1).copy()


def normalize(t, mean, std):
    m = np.array(mean, dtype=np.float32)[:, None, None]
    s = np.array(std, dtype=np.float32)[:, None, None]
    return ((t - m) / s).astype(np.float32)


# ---------------------------------------------------------------------------
# A small PNG writer (every color type and bit depth, tRNS, gAMA, Adam7)
# ---------------------------------------------------------------------------

def png_chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def pack_row(samples, bit_depth):
    """samples: 1-D int array of one row's samples (channels interleaved)."""
    if bit_depth == 16:
        return samples.astype(">u2").tobytes()
    if bit_depth == 8:
        return samples.astype(np.uint8).tobytes()
    per_byte = 8 // bit_depth
    out = bytearray()
    for i in range(0, len(samples), per_byte):
        byte = 0
        group = samples[i:i + per_byte]
        for j in range(per_byte):
            v = int(group[j]) if j < len(group) else 0
            byte |= v << (8 - bit_depth * (j + 1))
        out.append(byte)
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(samples, color_type, bit_depth, palette=None, trns=None, interlace=False, gama=None):
    """samples: [H, W, C] ints in the file's sample range (palette indices for type 3)."""
    h, w = samples.shape[:2]
    flat = samples.reshape(h, w, -1)
    raw = bytearray()
    if interlace:
        for x0, y0, dx, dy in ADAM7:
            sub = flat[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            for row in sub:
                raw += b"\x00" + pack_row(row.reshape(-1), bit_depth)
    else:
        for row in flat:
            raw += b"\x00" + pack_row(row.reshape(-1), bit_depth)
    out = b"\x89PNG\r\n\x1a\n"
    out += png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    if gama is not None:
        out += png_chunk(b"gAMA", struct.pack(">I", gama))
    if palette is not None:
        out += png_chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    out += png_chunk(b"IDAT", zlib.compress(bytes(raw), 9))
    out += png_chunk(b"IEND", b"")
    return out


def png_cases(g):
    rs = np.random.RandomState(7)
    h, w = 7, 13

    def add(name, data, expected, **params):
        got = arr(Image.open(io.BytesIO(data)))
        if params.get("pillow_differs"):
            pass  # Pillow opens 16-bit gray as I;16 and clips it to 255 in convert("RGB"); not compared
        else:
            assert np.array_equal(got, expected), f"{name}: Pillow disagrees with the expected pixels"
        g.case(name, **params)
        g.put(f"{name}.file", np.frombuffer(data, dtype=np.uint8))
        g.put(f"{name}.expected", expected)

    def gray3(v):
        return np.repeat(v[:, :, None], 3, axis=2).astype(np.uint8)

    for bits, scale in [(1, 255), (2, 85), (4, 17), (8, 1)]:
        v = rs.randint(0, 1 << bits, size=(h, w, 1))
        add(f"png_gray{bits}", write_png(v, 0, bits), gray3(v[:, :, 0] * scale), kind=f"gray {bits}-bit")
    v16 = rs.randint(0, 65536, size=(h, w, 1))
    add("png_gray16", write_png(v16, 0, 16), gray3(v16[:, :, 0] >> 8), kind="gray 16-bit (high byte)", pillow_differs=True)
    add("png_gray16_gama", write_png(v16, 0, 16, gama=100000), gray3(v16[:, :, 0] >> 8),
        kind="gray 16-bit with gAMA 1.0 (ignored)", pillow_differs=True)
    la = rs.randint(0, 256, size=(h, w, 2))
    add("png_graya8", write_png(la, 4, 8), gray3(la[:, :, 0]), kind="gray+alpha 8-bit (alpha dropped)")
    la16 = rs.randint(0, 65536, size=(h, w, 2))
    add("png_graya16", write_png(la16, 4, 16), gray3(la16[:, :, 0] >> 8), kind="gray+alpha 16-bit")
    pal = rs.randint(0, 256, size=(16, 3))
    idx = rs.randint(0, 16, size=(h, w, 1))
    add("png_palette4_trns", write_png(idx, 3, 4, palette=pal, trns=bytes(range(0, 256, 16))),
        pal[idx[:, :, 0]].astype(np.uint8), kind="palette 4-bit with tRNS (transparency dropped)")
    idx8 = rs.randint(0, 16, size=(h, w, 1))
    add("png_palette8", write_png(idx8, 3, 8, palette=pal), pal[idx8[:, :, 0]].astype(np.uint8), kind="palette 8-bit")
    rgb = rs.randint(0, 256, size=(h, w, 3))
    add("png_rgb8", write_png(rgb, 2, 8), rgb.astype(np.uint8), kind="RGB 8-bit")
    add("png_rgb8_interlaced", write_png(rgb, 2, 8, interlace=True), rgb.astype(np.uint8), kind="RGB 8-bit Adam7")
    rgba = rs.randint(0, 256, size=(h, w, 4))
    add("png_rgba8", write_png(rgba, 6, 8), rgba[:, :, :3].astype(np.uint8), kind="RGBA 8-bit (alpha dropped)")
    rgb16 = rs.randint(0, 65536, size=(h, w, 3))
    add("png_rgb16", write_png(rgb16, 2, 16), (rgb16 >> 8).astype(np.uint8), kind="RGB 16-bit (high byte)")
    rgba16 = rs.randint(0, 65536, size=(h, w, 4))
    add("png_rgba16_interlaced", write_png(rgba16, 6, 16, interlace=True), (rgba16[:, :, :3] >> 8).astype(np.uint8),
        kind="RGBA 16-bit Adam7")


def smooth_image(seed, h, w):
    """A photo-like image (smooth gradients + a little noise) that JPEG compresses sensibly."""
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([128 + 100 * np.sin(x / 7.0 + c) * np.cos(y / 5.0 - c) for c in range(3)], axis=2)
    return np.clip(base + rs.normal(0, 8, size=(h, w, 3)), 0, 255).astype(np.uint8)


def jpeg_cases(g):
    h, w = 21, 30

    def add(name, img, **save):
        buf = io.BytesIO()
        img.save(buf, format="JPEG", **save)
        data = buf.getvalue()
        g.case(name, mode=img.mode, **{k: v for k, v in save.items() if k != "qtables"})
        g.put(f"{name}.file", np.frombuffer(data, dtype=np.uint8))
        g.put(f"{name}.expected", arr(Image.open(io.BytesIO(data))))

    rgb = smooth_image(11, h, w)
    add("jpeg_ycbcr420", pil(rgb), quality=90)
    add("jpeg_ycbcr444", pil(rgb), quality=90, subsampling=0)
    add("jpeg_progressive", pil(rgb), quality=85, progressive=True)
    add("jpeg_gray", Image.fromarray(rgb[:, :, 1], "L"), quality=90)
    cmyk = np.concatenate([255 - rgb, smooth_image(12, h, w)[:, :, :1] // 2], axis=2)
    add("jpeg_cmyk", Image.fromarray(cmyk, "CMYK"), quality=90)


# ---------------------------------------------------------------------------
# Transform cases
# ---------------------------------------------------------------------------

def transform_cases(g):
    for name, (ih, iw), (h, w), pad in [
        ("center_crop_odd", (39, 45), (32, 32), False),     # offsets round(3.5)=4, round(6.5)=6
        ("center_crop_even", (40, 36), (32, 32), False),
        ("center_crop_rect", (48, 64), (24, 30), False),
        ("center_crop_pad", (20, 27), (32, 32), True),      # smaller: torchvision pads first
    ]:
        x = rand_image(len(g.tensors) + 1, ih, iw)
        g.case(name, height=h, width=w, pad_if_smaller=pad)
        g.put(f"{name}.input", x)
        g.put(f"{name}.output", arr(center_crop(pil(x), h, w)))

    x = rand_image(20, 11, 17)
    g.case("hflip")
    g.put("hflip.input", x)
    g.put("hflip.output", arr(pil(x).transpose(Image.FLIP_LEFT_RIGHT)))

    x = rand_image(21, 32, 32)
    offsets = [(0, 0), (8, 8), (3, 5), (8, 0), (1, 7)]
    padded = ImageOps.expand(pil(x), border=4, fill=0)
    g.case("pad_crop", padding=4, size=32, offsets=offsets)
    g.put("pad_crop.input", x)
    g.put("pad_crop.output", np.stack([arr(padded.crop((j, i, j + 32, i + 32))) for i, j in offsets]))

    x = rand_image(22, 7, 9)
    t = to_tensor(x)
    g.case("to_tensor")
    g.put("to_tensor.input", x)
    g.put("to_tensor.output", t)
    g.case("normalize_imagenet", mean=IMAGENET[0], std=IMAGENET[1])
    g.put("normalize_imagenet.input", x)
    g.put("normalize_imagenet.output", normalize(t, *IMAGENET))
    g.case("normalize_cifar", mean=CIFAR[0], std=CIFAR[1])
    g.put("normalize_cifar.input", x)
    g.put("normalize_cifar.output", normalize(t, *CIFAR))
    # Every byte value through to-tensor + normalise, one row per channel value.
    ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    g.case("normalize_ramp", mean=IMAGENET[0], std=IMAGENET[1])
    g.put("normalize_ramp.input", ramp)
    g.put("normalize_ramp.output", normalize(to_tensor(ramp), *IMAGENET))

    for name, (ih, iw), size in [
        ("resize_down", (150, 200), (29, 37)),       # (h, w) exact
        ("resize_down_1_5", (48, 48), (32, 32)),
        ("resize_up", (9, 13), (20, 32)),
        ("resize_mixed", (20, 64), (40, 20)),        # shrink x, stretch y
        ("resize_shorter_side", (37, 50), 24),      # Resize(24): shorter side 24
        ("resize_big_down", (150, 165), (10, 11)),  # 15x down: a wide antialiasing support
    ]:
        x = rand_image(30 + len(g.tensors), ih, iw)
        if isinstance(size, int):
            w, h = shorter_side_size(iw, ih, size)
            g.case(name, shorter_side=size, height=h, width=w)
        else:
            h, w = size
            g.case(name, height=h, width=w)
        g.put(f"{name}.input", x)
        g.put(f"{name}.output", arr(pil(x).resize((w, h), Image.BILINEAR)))
    x = smooth_image(40, 90, 120)
    g.case("resize_smooth", height=56, width=75)
    g.put("resize_smooth.input", x)
    g.put("resize_smooth.output", arr(pil(x).resize((75, 56), Image.BILINEAR)))

    x = rand_image(41, 45, 60)
    top, left, h, w, size = 5, 7, 30, 40, 16
    g.case("resized_crop", top=top, left=left, height=h, width=w, size=size)
    g.put("resized_crop.input", x)
    g.put("resized_crop.output", arr(pil(x).crop((left, top, left + w, top + h)).resize((size, size), Image.BILINEAR)))


def trigger_cases(g):
    for name, file in [("trigger_1", "1.jpg"), ("trigger_24", "24.jpg")]:
        img = Image.open(os.path.join(TRIGGER, file))
        g.case(name, file=file, format=img.format, mode=img.mode, width=img.size[0], height=img.size[1])
        crop = arr(center_crop(img.convert("RGB"), 32, 32))
        g.put(f"{name}.center_crop", crop)
        g.put(f"{name}.center_crop_normalized", normalize(to_tensor(crop), *IMAGENET))


def build():
    g = Golden()
    transform_cases(g)
    png_cases(g)
    jpeg_cases(g)
    trigger_cases(g)
    return encode_safetensors(g.tensors, g.meta)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="verify the checked-in file instead of writing it")
    args = ap.parse_args()
    data = build()
    if args.check:
        current = open(OUT, "rb").read()
        tensors, meta = read_safetensors(OUT)
        print(f"{OUT}: {len(tensors)} tensors, {len(meta)} cases")
        if current != data:
            print("MISMATCH: regenerating gives different bytes (Pillow/zlib version?)")
            return 1
        print("OK: byte-identical")
        return 0
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT + ".tmp", "wb") as f:
        f.write(data)
    os.replace(OUT + ".tmp", OUT)
    print(f"wrote {OUT} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
