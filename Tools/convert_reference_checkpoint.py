#!/usr/bin/env python3
"""Convert a reference DeepIPR (PyTorch) checkpoint to safetensors for swift-deepipr.

Usage (from the repository root)
    .venv/bin/python Tools/convert_reference_checkpoint.py IN.pth OUT.safetensors \\
        --arch alexnet|resnet18|resnet9 --classes N --input-size 32|224 \\
        --norm bn|gn|in|none [--dataset cifar10] [--mean M M M --std S S S] \\
        [--allow-pickle] [--no-verify] [--quiet]

    e.g. a CIFAR-10 AlexNet baseline trained by the reference code
    (train_v1.py --arch alexnet --dataset cifar10 --norm-type bn):
    .venv/bin/python Tools/convert_reference_checkpoint.py \\
        logs/alexnet_cifar10_v0/1/models/best.pth alexnet-cifar10.safetensors \\
        --arch alexnet --classes 10 --input-size 32 --norm bn

Input
    The reference saves checkpoints with torch.save(model.cpu().state_dict(), path)
    (experiments/base.py, Experiment.save_model), i.e. a plain (Ordered)dict of
    tensors keyed by the module path ("features.0.conv.weight",
    "layer2.0.shortcut.bn.running_var", "classifier.weight", "linear.bias", ...).
    Passport checkpoints use the same layout plus the passport layers' extra
    tensors (b, key, skey, key_private, ...); they are converted as they are.
    Also accepted: a dict holding such a state dict under "state_dict",
    "model_state_dict", "model", "net" or "network"; and, with --allow-pickle,
    a whole pickled nn.Module. A "module." prefix on every key (nn.DataParallel)
    is stripped.

    The file is read with torch.load(weights_only=True), which cannot run code
    from the file. --allow-pickle falls back to full unpickling: use it only
    for files you trust.

Output
    A safetensors file with one tensor per state-dict entry, same names, in
    state-dict order: floating tensors as contiguous little-endian F32, integer
    tensors (e.g. BatchNorm's num_batches_tracked, a 0-d scalar of shape [])
    as I64, bool tensors as BOOL. "__metadata__" (all values are strings):
        format      "swift-deepipr-checkpoint-1"
        arch        alexnet | resnet18 | resnet9
        classes     e.g. "10"
        input_size  "32" or "224"
        norm        bn | gn | in | none
        dataset     e.g. "cifar10"
        mean, std   JSON arrays, e.g. "[0.485,0.456,0.406]"; the reference
                    normalises every dataset (CIFAR included) with the ImageNet
                    statistics, which are the defaults here
        source      the input file's name
    The output is written to a temporary file next to OUT and renamed into
    place, so OUT is never left half-written.

Checks (skip with --no-verify)
    The options are compared with the checkpoint: the final linear layer's row
    count against --classes; the stem's key layout against --input-size (the
    reference's 224 branch wraps the ResNet stem in a Sequential and uses an
    AlexNet classifier Sequential); the ResNet block count against --arch; and
    the presence of BatchNorm running statistics / conv biases against --norm.
"""

import argparse
import json
import os
import struct
import sys
import tempfile

import numpy as np
import torch

FORMAT = "swift-deepipr-checkpoint-1"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "network")


class ConversionError(Exception):
    pass


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------

def load_checkpoint(path, allow_pickle):
    if not os.path.exists(path):
        raise ConversionError(f"input checkpoint not found: {path}")
    if not os.path.isfile(path):
        raise ConversionError(f"input checkpoint is not a regular file: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with advice
        if not allow_pickle:
            raise ConversionError(
                f"could not read {path} with torch.load(weights_only=True): {exc}\n"
                "If the file is a trusted checkpoint that pickles more than tensors, "
                "re-run with --allow-pickle.") from exc
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001
        raise ConversionError(f"could not read {path} with torch.load: {exc}") from exc


def is_tensor_dict(obj):
    return isinstance(obj, dict) and len(obj) > 0 and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def extract_state_dict(obj, path):
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        raise ConversionError(
            f"{path}: expected a state dict (a dict of tensors) or a dict containing one, "
            f"but the checkpoint is a {type(obj).__module__}.{type(obj).__qualname__}")
    if is_tensor_dict(obj):
        state = obj
    else:
        state = None
        for key in WRAPPER_KEYS:
            inner = obj.get(key)
            if isinstance(inner, torch.nn.Module):
                inner = inner.state_dict()
            if is_tensor_dict(inner):
                state = inner
                break
        if state is None:
            bad = [f"{k!r} ({type(v).__name__})" for k, v in obj.items()
                   if not (isinstance(k, str) and isinstance(v, torch.Tensor))]
            shown = ", ".join(bad[:8]) + (" ..." if len(bad) > 8 else "")
            if not obj:
                raise ConversionError(f"{path}: the checkpoint is an empty dict")
            raise ConversionError(
                f"{path}: the checkpoint is a dict but not a state dict: non-tensor entries "
                f"{shown}; and none of {', '.join(WRAPPER_KEYS)} holds a dict of tensors")
    keys = list(state.keys())
    if all(k.startswith("module.") for k in keys):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


# ---------------------------------------------------------------------------
# conversion
# ---------------------------------------------------------------------------

def to_numpy(name, t):
    """Returns (dtype tag, contiguous little-endian numpy array)."""
    t = t.detach().cpu()
    if t.is_complex():
        raise ConversionError(f"{name}: complex tensors are not supported ({t.dtype})")
    if t.dtype == torch.bool:
        return "BOOL", t.contiguous().numpy().astype(np.uint8)
    if t.is_floating_point():
        return "F32", t.to(torch.float32).contiguous().numpy().astype("<f4", copy=False)
    return "I64", t.to(torch.int64).contiguous().numpy().astype("<i8", copy=False)


def encode_safetensors(entries, metadata):
    """entries: list of (name, tag, np.ndarray); metadata: dict str -> str."""
    header = {}
    offset = 0
    chunks = []
    for name, tag, arr in entries:
        raw = arr.tobytes(order="C")
        header[name] = {"dtype": tag, "shape": [int(d) for d in arr.shape],
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((-len(hbytes)) % 8)  # data section starts 8-byte aligned
    return [struct.pack("<Q", len(hbytes)), hbytes] + chunks


def write_atomic(path, pieces):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ConversionError(f"output directory does not exist: {directory}")
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            for piece in pieces:
                f.write(piece)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------------------
# consistency checks between the options and the checkpoint
# ---------------------------------------------------------------------------

def verify(state, arch, classes, input_size, norm):
    problems = []
    keys = list(state.keys())

    def has(k):
        return k in state

    if arch == "alexnet":
        head = "classifier.weight" if input_size == 32 else "classifier.6.weight"
        other = "classifier.6.weight" if input_size == 32 else "classifier.weight"
        stem = "features.0.conv"
    else:
        head = "linear.weight"
        other = None
        stem = "convbnrelu_1.conv" if input_size == 32 else "convbnrelu_1.0.conv"
        alt = "convbnrelu_1.0.conv" if input_size == 32 else "convbnrelu_1.conv"
        if not has(stem + ".weight") and has(alt + ".weight"):
            problems.append(f"--input-size {input_size} expects '{stem}.weight', but the "
                            f"checkpoint has '{alt}.weight' (the other input-size branch)")
        deep = any(k.startswith("layer1.1.") for k in keys)
        if arch == "resnet18" and not deep:
            problems.append("--arch resnet18 expects two blocks per layer, but there is no 'layer1.1.*'")
        if arch == "resnet9" and deep:
            problems.append("--arch resnet9 expects one block per layer, but 'layer1.1.*' exists")
        if any(k.startswith("features.") for k in keys):
            problems.append(f"--arch {arch} but the checkpoint has AlexNet-style 'features.*' keys")
    if arch == "alexnet" and any(k.startswith("layer1.") for k in keys):
        problems.append("--arch alexnet but the checkpoint has ResNet-style 'layer1.*' keys")

    if has(head):
        rows = state[head].shape[0]
        if rows != classes:
            problems.append(f"--classes {classes}, but '{head}' has {rows} output rows")
    elif other is not None and has(other):
        problems.append(f"--input-size {input_size} expects '{head}', but the checkpoint has "
                        f"'{other}' (the other input-size branch)")
    else:
        problems.append(f"final layer '{head}' not found in the checkpoint")

    has_stats = any(k.endswith(".running_mean") for k in keys)
    if norm == "bn" and not has_stats:
        problems.append("--norm bn, but no BatchNorm running statistics are present")
    if norm != "bn" and has_stats:
        problems.append(f"--norm {norm}, but BatchNorm running statistics are present")
    stem_bias = has(stem + ".bias")
    if norm == "none" and has(stem + ".weight") and not stem_bias:
        problems.append(f"--norm none, but '{stem}.bias' is missing (the reference only drops "
                        "conv biases when a norm follows)")
    if norm != "none" and stem_bias:
        problems.append(f"--norm {norm}, but '{stem}.bias' is present (conv biases mean norm 'none')")
    return problems


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Convert a reference DeepIPR PyTorch checkpoint to safetensors "
                    "(see the module docstring for details).")
    ap.add_argument("input", help="reference checkpoint (.pth)")
    ap.add_argument("output", help="safetensors file to write")
    ap.add_argument("--arch", required=True, choices=["alexnet", "resnet18", "resnet9"])
    ap.add_argument("--classes", required=True, type=int)
    ap.add_argument("--input-size", required=True, type=int, choices=[32, 224])
    ap.add_argument("--norm", required=True, choices=["bn", "gn", "in", "none"])
    ap.add_argument("--dataset", default="cifar10",
                    help="dataset name recorded in the metadata (default: %(default)s)")
    ap.add_argument("--mean", type=float, nargs=3, default=IMAGENET_MEAN, metavar="M",
                    help="per-channel input mean (default: the reference's %(default)s)")
    ap.add_argument("--std", type=float, nargs=3, default=IMAGENET_STD, metavar="S",
                    help="per-channel input std (default: the reference's %(default)s)")
    ap.add_argument("--allow-pickle", action="store_true",
                    help="fall back to torch.load(weights_only=False); trusted files only")
    ap.add_argument("--no-verify", action="store_true",
                    help="skip the checks of the options against the checkpoint's keys")
    ap.add_argument("--quiet", action="store_true", help="print only errors")
    args = ap.parse_args(argv)
    if args.classes < 1:
        ap.error("--classes must be positive")
    if any(s <= 0 for s in args.std):
        ap.error("--std values must be positive")
    return args


def convert(args):
    obj = load_checkpoint(args.input, args.allow_pickle)
    state = extract_state_dict(obj, args.input)

    if not args.no_verify:
        problems = verify(state, args.arch, args.classes, args.input_size, args.norm)
        if problems:
            raise ConversionError(
                "the checkpoint does not match the options:\n  - " + "\n  - ".join(problems)
                + "\n(re-run with --no-verify to convert anyway)")

    entries = []
    for name, t in state.items():
        tag, arr = to_numpy(name, t)
        entries.append((name, tag, arr))

    metadata = {
        "format": FORMAT,
        "arch": args.arch,
        "classes": str(args.classes),
        "input_size": str(args.input_size),
        "norm": args.norm,
        "dataset": args.dataset,
        "mean": json.dumps([float(v) for v in args.mean], separators=(",", ":")),
        "std": json.dumps([float(v) for v in args.std], separators=(",", ":")),
        "source": os.path.basename(args.input),
    }
    pieces = encode_safetensors(entries, metadata)
    write_atomic(args.output, pieces)

    if not args.quiet:
        total = sum(len(p) for p in pieces)
        n_elem = sum(int(a.size) for _, tag, a in entries if tag == "F32")
        print(f"wrote {args.output}: {len(entries)} tensors ({n_elem} float elements), "
              f"{total} bytes")
        for name, tag, arr in entries:
            print(f"  {name:<56} {tag:<4} {list(arr.shape)}")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        convert(args)
    except ConversionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
