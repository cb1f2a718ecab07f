"""Writes the small real image-folder fixtures and their golden (Pillow + numpy, no torch):

- Fixtures/imagenet_tiny/{train,val}/<class>/*.jpg: CIFAR-10 subset images of 3 classes (6 train and
  2 val each), upscaled (bicubic) to 64x48 and saved as JPEG (quality 90): torchvision's ImageFolder
  layout, ImageNet's.
- Fixtures/caltech_tiny/101_ObjectCategories/<class>/image_NNNN.jpg: Caltech-101's layout with its
  background class; 5, 6 and 4 images (the reference's split keeps int(0.8 n): 4, 4 and 3 train), one of
  them a gray JPEG (Caltech has some).
- Fixtures/golden/imagefolder.safetensors: what PIL gives for two val images: the decoded RGB pixels,
  and the reference's ImageNet test transform (Resize(256) bilinear, CenterCrop(224)) as uint8, plus
  the Caltech test transform at 32 (Resize(32), CenterCrop(32)) of the gray image.

    .venv/bin/python Tools/golden/make_imagefolder_fixtures.py          # regenerate
    .venv/bin/python Tools/golden/make_imagefolder_fixtures.py --check  # compare with what is committed
"""
import argparse
import io
import json
import os
import struct
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CIFAR = os.path.join(ROOT, "Fixtures/cifar10_subset/cifar-10-batches-bin/data_batch_1.bin")
CLASSES = {"airplane": 0, "cat": 3, "ship": 8}


def cifar_images():
    raw = np.fromfile(CIFAR, dtype=np.uint8).reshape(-1, 3073)
    return raw[:, 0], raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def jpeg(array, gray=False):
    img = Image.fromarray(array).resize((64, 48), Image.BICUBIC)
    if gray:
        img = img.convert("L")
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    return out.getvalue()


def files():
    """Relative path -> bytes of every fixture image."""
    labels, images = cifar_images()
    out = {}
    for name, label in CLASSES.items():
        idx = np.flatnonzero(labels == label)
        for i in range(6):
            out[f"imagenet_tiny/train/{name}/{name}_{i}.jpg"] = jpeg(images[idx[i]])
        for i in range(2):
            out[f"imagenet_tiny/val/{name}/{name}_val_{i}.jpg"] = jpeg(images[idx[6 + i]])
    counts = {"BACKGROUND_Google": (1, 5), "Faces": (5, 6), "accordion": (9, 4)}
    for name, (label, n) in counts.items():
        idx = np.flatnonzero(labels == label)
        for i in range(n):
            out[f"caltech_tiny/101_ObjectCategories/{name}/image_{i + 1:04d}.jpg"] = jpeg(images[idx[i]], gray=(name == "Faces" and i == 2))
    return out


def golden(images):
    tensors = {}

    def decoded(rel):
        return Image.open(io.BytesIO(images[rel])).convert("RGB")

    def center_crop(img, size):  # torchvision F.center_crop offsets
        w, h = img.size
        top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
        return img.crop((left, top, left + size, top + size))

    def resize(img, size):  # torchvision Resize(int) on PIL: shorter side -> size, bilinear
        w, h = img.size
        short, long = (w, h) if w <= h else (h, w)
        new_long = int(size * long / short)
        return img.resize((size, new_long) if w <= h else (new_long, size), Image.BILINEAR)

    for k, rel in enumerate(["imagenet_tiny/val/cat/cat_val_0.jpg", "imagenet_tiny/val/ship/ship_val_1.jpg"]):
        img = decoded(rel)
        tensors[f"val{k}.decoded"] = np.asarray(img)
        tensors[f"val{k}.imagenet_test"] = np.asarray(center_crop(resize(img, 256), 224))
    gray = decoded("caltech_tiny/101_ObjectCategories/Faces/image_0003.jpg")
    tensors["gray.decoded"] = np.asarray(gray)
    tensors["gray.caltech_test32"] = np.asarray(center_crop(resize(gray, 32), 32))
    return tensors


def safetensors(tensors, metadata):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype=np.uint8)
        header[name] = {"dtype": "U8", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    images = files()
    outputs = {os.path.join("Fixtures", rel): data for rel, data in images.items()}
    import PIL
    outputs["Fixtures/golden/imagefolder.safetensors"] = safetensors(golden(images), {"pillow": PIL.__version__})
    bad = 0
    for rel, data in sorted(outputs.items()):
        path = os.path.join(ROOT, rel)
        if args.check:
            same = os.path.exists(path) and open(path, "rb").read() == data
            bad += not same
            if not same:
                print(f"differs: {rel}", file=sys.stderr)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
    print(f"{len(outputs)} files {'checked' if args.check else 'written'}" + (f", {bad} differ" if bad else ""), file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
