#!/usr/bin/env python3
"""Golden whole-network reference outputs for the swift-deepipr model tests.

What it produces
    Fixtures/golden/models.safetensors, holding, for each model M in
    {alexnet, resnet18, resnet9} (the DeepIPR "normal" CIFAR networks:
    32x32 input, 10 classes, norm 'bn'):

      M.<state-dict key>          every entry of model.state_dict(), named
                                  exactly as the reference DeepIPR code names it
                                  (e.g. "alexnet.features.0.conv.weight",
                                  "resnet18.layer2.0.shortcut.bn.running_var").
                                  Float entries are F32 (alexnet) or F16
                                  (resnet18, resnet9 -- see "Size" below);
                                  "num_batches_tracked" is an I64 scalar, shape [].
      M.input                     x, [4, 3, 32, 32] ~ N(0, 1), F32
      M.logits_eval               model.eval()(x), [4, 10], F32
      M.logits_train              a deep copy in train() mode, applied to x, F32
      M.after_train.<key>         for every "...running_mean"/"...running_var"
                                  key: that buffer after the one train-mode
                                  forward above (momentum 0.1, unbiased batch
                                  variance), F32

    "__metadata__" maps M to a compact JSON object:
      {"keys": [state-dict keys in state_dict() order], "classes": 10,
       "input_size": 32, "norm": "bn", "arch": ..., "weights_dtype": "F32"|"F16",
       "batch": 4, "bn_eps": 1e-05, "bn_momentum": 0.1}

How to run (from the repository root)
    .venv/bin/python Tools/golden/make_model_golden.py           # (re)write
    .venv/bin/python Tools/golden/make_model_golden.py --check   # read back,
        list names/dtypes/shapes, recompute the logits and the train-mode
        running statistics from the stored weights and compare

Architecture (mirrors kamwoh/DeepIPR models/alexnet_normal.py,
models/resnet_normal.py and models/layers/conv2d.py; written independently)
    ConvBlock(i, o, ks=3, s=1, pd=1, norm, relu=True):
        conv = Conv2d(i, o, ks, s, pd, bias = (norm == 'none'))
        bn   = BatchNorm2d(o) | GroupNorm(o // 16, o) | InstanceNorm2d(o) | None
        relu = ReLU or None
        init: conv.weight ~ kaiming_normal(mode='fan_out', nonlinearity='relu');
              everything else keeps PyTorch's default init.
    AlexNet (CIFAR branch, num_classes != 1000):
        features = [ConvBlock(3,64,5,1,2), MaxPool(2,2), ConvBlock(64,192,5,1,2),
                    MaxPool(2,2), ConvBlock(192,384), ConvBlock(384,256),
                    ConvBlock(256,256), MaxPool(2,2)]          # 32->16->8->4
        classifier = Linear(4*4*256, num_classes)              # 4096 -> 10
        forward: classifier(features(x).flatten(1))
    ResNet (CIFAR branch): convbnrelu_1 = ConvBlock(3,64,3,1,1); layer1..4 of
        BasicBlock with planes 64/128/256/512 and first strides 1/2/2/2;
        linear = Linear(512, num_classes); forward ends with
        adaptive_avg_pool2d(1x1) -> flatten -> linear.
        ResNet-18: [2,2,2,2] blocks, ResNet-9: [1,1,1,1] blocks.
    BasicBlock(in, planes, stride):
        convbnrelu_1 = ConvBlock(in, planes, 3, stride, 1, relu=True)
        convbn_2     = ConvBlock(planes, planes, 3, 1, 1, relu=True)   # NB: ReLU
        shortcut     = ConvBlock(in, planes, 1, stride, 0, relu=True)  # NB: ReLU
                       if stride != 1 or in != planes, else identity
                       (an empty nn.Sequential: no state-dict keys)
        out = relu(convbn_2(convbnrelu_1(x)) + shortcut(x))
    The two "NB: ReLU" lines are quirks of the reference (despite the name
    "convbn_2", both it and the projection shortcut end in a ReLU before the
    residual addition); a faithful port must reproduce them.

Determinism
    torch.set_num_threads(1). Each model starts from torch.manual_seed(0) and
    draws, in this order: the model's init (construction order), then for every
    BatchNorm2d in module order: running_mean ~ N(0, 0.1^2), running_var ~
    U(0.5, 1.5), weight ~ U(0.8, 1.2), bias ~ N(0, 0.1^2) (num_batches_tracked
    set to 5), then x ~ N(0, 1). Re-running reproduces the file byte for byte.

Size
    AlexNet-CIFAR is ~2.5 M parameters, ResNet-18 ~11.2 M, ResNet-9 ~4.9 M.
    All in F32 would be ~75 MB, so AlexNet is stored in F32 and both ResNets
    store their float state-dict entries in F16 (~42 MB in all). For an F16
    model every float state-dict entry is rounded to float16 and back to
    float32 *before* the logits and train-mode statistics are computed, so a
    reader that widens the stored F16 values to F32 evaluates exactly the
    function the golden outputs come from. Inputs and outputs are always F32.

The safetensors writer/reader below is self-contained (numpy only):
8-byte little-endian u64 header length N, N bytes of UTF-8 JSON header padded
with spaces to a multiple of 8 (so the data starts 8-byte aligned), then the raw
little-endian tensor data in header order; data_offsets are relative to the
start of the data section; scalars have shape [].
"""

import argparse
import copy
import json
import os
import sys

import numpy as np

from safetensors_np import encode_safetensors, read_safetensors
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_PATH = os.path.join(ROOT, "Fixtures", "golden", "models.safetensors")

NUM_CLASSES = 10
INPUT_SIZE = 32
BATCH = 4
NORM = "bn"
SIZE_LIMIT = 50 * 1024 * 1024

# dtype tag -> little-endian numpy dtype


# ---------------------------------------------------------------------------
# networks (structure and names follow the reference DeepIPR "normal" models)
# ---------------------------------------------------------------------------

class ConvBlock(nn.Module):
    def __init__(self, i, o, ks=3, s=1, pd=1, norm="bn", relu=True):
        super().__init__()
        self.conv = nn.Conv2d(i, o, ks, s, pd, bias=(norm == "none"))
        if norm == "bn":
            self.bn = nn.BatchNorm2d(o)
        elif norm == "gn":
            self.bn = nn.GroupNorm(o // 16, o)
        elif norm == "in":
            self.bn = nn.InstanceNorm2d(o)
        else:
            self.bn = None
        self.relu = nn.ReLU(inplace=True) if relu else None
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.relu is not None:
            x = self.relu(x)
        return x


class AlexNetCifar(nn.Module):
    """Reference AlexNetNormal, non-ImageNet branch."""

    def __init__(self, in_channels=3, num_classes=10, norm="bn"):
        super().__init__()
        self.features = nn.Sequential(
            ConvBlock(in_channels, 64, 5, 1, 2, norm=norm),   # 0
            nn.MaxPool2d(kernel_size=2, stride=2),            # 1: 32 -> 16
            ConvBlock(64, 192, 5, 1, 2, norm=norm),           # 2
            nn.MaxPool2d(kernel_size=2, stride=2),            # 3: 16 -> 8
            ConvBlock(192, 384, norm=norm),                   # 4
            ConvBlock(384, 256, norm=norm),                   # 5
            ConvBlock(256, 256, norm=norm),                   # 6
            nn.MaxPool2d(kernel_size=2, stride=2),            # 7: 8 -> 4
        )
        self.classifier = nn.Linear(4 * 4 * 256, num_classes)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.reshape(x.shape[0], -1))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, norm="bn"):
        super().__init__()
        self.convbnrelu_1 = ConvBlock(in_planes, planes, 3, stride, 1, norm=norm, relu=True)
        self.convbn_2 = ConvBlock(planes, planes, 3, 1, 1, norm=norm, relu=True)
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = ConvBlock(in_planes, self.expansion * planes, 1, stride, 0,
                                      norm=norm, relu=True)
        else:
            self.shortcut = nn.Sequential()

    def forward(self, x):
        out = self.convbn_2(self.convbnrelu_1(x))
        return F.relu(out + self.shortcut(x))


class ResNetCifar(nn.Module):
    """Reference ResNet (BasicBlock), non-ImageNet branch."""

    def __init__(self, num_blocks, num_classes=10, norm="bn"):
        super().__init__()
        self.in_planes = 64
        self.norm = norm
        self.convbnrelu_1 = ConvBlock(3, 64, 3, 1, 1, norm=norm, relu=True)
        self.layer1 = self._make_layer(64, num_blocks[0], 1)
        self.layer2 = self._make_layer(128, num_blocks[1], 2)
        self.layer3 = self._make_layer(256, num_blocks[2], 2)
        self.layer4 = self._make_layer(512, num_blocks[3], 2)
        self.linear = nn.Linear(512 * BasicBlock.expansion, num_classes)

    def _make_layer(self, planes, count, stride):
        blocks = []
        for s in [stride] + [1] * (count - 1):
            blocks.append(BasicBlock(self.in_planes, planes, s, self.norm))
            self.in_planes = planes * BasicBlock.expansion
        return nn.Sequential(*blocks)

    def forward(self, x):
        out = self.convbnrelu_1(x)
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.adaptive_avg_pool2d(out, (1, 1))
        return self.linear(out.reshape(out.shape[0], -1))


# name, constructor, dtype of the stored float state-dict entries
MODELS = [
    ("alexnet", lambda: AlexNetCifar(3, NUM_CLASSES, NORM), "F32"),
    ("resnet18", lambda: ResNetCifar([2, 2, 2, 2], NUM_CLASSES, NORM), "F16"),
    ("resnet9", lambda: ResNetCifar([1, 1, 1, 1], NUM_CLASSES, NORM), "F16"),
]


# ---------------------------------------------------------------------------
# safetensors I/O (numpy only)
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# generation
# ---------------------------------------------------------------------------

def perturb_batchnorm(model):
    """Seeded, slightly non-trivial BN statistics and affine parameters."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c) * 0.1)
                m.running_var.copy_(torch.empty(c).uniform_(0.5, 1.5))
                m.weight.copy_(torch.empty(c).uniform_(0.8, 1.2))
                m.bias.copy_(torch.randn(c) * 0.1)
                m.num_batches_tracked.fill_(5)


def round_to_f16(model):
    """Round every float parameter/buffer to float16 and back (in place)."""
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(t.to(torch.float16).to(torch.float32))


def is_running_stat(key):
    return key.endswith(".running_mean") or key.endswith(".running_var")


def model_metadata(name, keys, wdtype):
    return json.dumps({
        "arch": name, "keys": keys, "classes": NUM_CLASSES, "input_size": INPUT_SIZE,
        "norm": NORM, "weights_dtype": wdtype, "batch": BATCH,
        "bn_eps": 1e-5, "bn_momentum": 0.1,
    }, separators=(",", ":"))


def build_model_entries(name, ctor, wdtype):
    torch.manual_seed(0)
    model = ctor()
    perturb_batchnorm(model)
    if wdtype == "F16":
        round_to_f16(model)
    x = torch.randn(BATCH, 3, INPUT_SIZE, INPUT_SIZE)

    model.eval()
    trained = copy.deepcopy(model).train()
    with torch.no_grad():
        logits_eval = model(x)
        logits_train = trained(x)

    sd = model.state_dict()
    keys = list(sd.keys())
    tensors = []
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            tensors.append((f"{name}.{k}", np.array(int(v.item()), dtype=np.int64)))
        else:
            arr = v.detach().cpu().contiguous().numpy().astype(np.float32)
            if wdtype == "F16":
                arr16 = arr.astype(np.float16)
                assert np.array_equal(arr16.astype(np.float32), arr), k  # exact after rounding
                arr = arr16
            tensors.append((f"{name}.{k}", arr))
    tensors.append((f"{name}.input", x.numpy().copy()))
    tensors.append((f"{name}.logits_eval", logits_eval.numpy().copy()))
    tensors.append((f"{name}.logits_train", logits_train.numpy().copy()))
    tsd = trained.state_dict()
    for k in keys:
        if is_running_stat(k):
            tensors.append((f"{name}.after_train.{k}", tsd[k].numpy().copy()))
    return tensors, model_metadata(name, keys, wdtype)


def build_all():
    torch.set_num_threads(1)
    tensors, metadata = [], {}
    for name, ctor, wdtype in MODELS:
        t, meta = build_model_entries(name, ctor, wdtype)
        tensors.extend(t)
        metadata[name] = meta
    return encode_safetensors(tensors, metadata)


# ---------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------

def check(path):
    torch.set_num_threads(1)
    entries, metadata, problems = read_safetensors(path)
    byname = {name: (tag, shape, arr) for name, tag, shape, arr in entries}
    size = os.path.getsize(path)
    print(f"{os.path.relpath(path, ROOT)}: {size} bytes ({size / 2**20:.2f} MiB), "
          f"{len(entries)} tensors")
    for name, tag, shape, _ in entries:
        print(f"  {name:<60} {tag}  {shape}")

    for name, ctor, wdtype in MODELS:
        if name not in metadata:
            problems.append(f"{name}: no __metadata__ entry")
            continue
        meta = json.loads(metadata[name])
        for field, want in (("classes", NUM_CLASSES), ("input_size", INPUT_SIZE), ("norm", NORM)):
            if meta.get(field) != want:
                problems.append(f"{name}: metadata {field}={meta.get(field)!r}, expected {want!r}")
        model = ctor()
        sd_keys = list(model.state_dict().keys())
        if meta["keys"] != sd_keys:
            problems.append(f"{name}: metadata keys differ from the architecture's state_dict()")
            continue
        state = {}
        for k in sd_keys:
            full = f"{name}.{k}"
            if full not in byname:
                problems.append(f"{full}: missing")
                continue
            tag, shape, arr = byname[full]
            if k.endswith("num_batches_tracked"):
                if tag != "I64" or shape != []:
                    problems.append(f"{full}: expected I64 [], got {tag} {shape}")
                state[k] = torch.tensor(int(arr), dtype=torch.long)
            else:
                if tag != wdtype:
                    problems.append(f"{full}: expected {wdtype}, got {tag}")
                state[k] = torch.from_numpy(arr.astype(np.float32))
        if len(state) != len(sd_keys):
            continue
        model.load_state_dict(state, strict=True)
        x = torch.from_numpy(byname[f"{name}.input"][2].copy())
        model.eval()
        trained = copy.deepcopy(model).train()
        with torch.no_grad():
            got = {"logits_eval": model(x), "logits_train": trained(x)}
        tsd = trained.state_dict()
        for k in sd_keys:
            if is_running_stat(k):
                got[f"after_train.{k}"] = tsd[k]
        worst = 0.0
        for role, value in got.items():
            full = f"{name}.{role}"
            if full not in byname:
                problems.append(f"{full}: missing")
                continue
            want = byname[full][2]
            if byname[full][0] != "F32":
                problems.append(f"{full}: expected F32")
            diff = float(np.max(np.abs(value.numpy() - want))) if want.size else 0.0
            worst = max(worst, diff)
            if diff > 1e-5:
                problems.append(f"{full}: recomputed differs by {diff:.3g}")
        n_params = sum(int(np.prod(byname[f"{name}.{k}"][1], dtype=np.int64))
                       for k in sd_keys if f"{name}.{k}" in byname)
        print(f"{name}: {len(sd_keys)} state-dict keys, {n_params} elements, weights {wdtype}; "
              f"recomputed outputs max |diff| = {worst:.3g}")

    if size > SIZE_LIMIT:
        problems.append(f"file is {size} bytes, over the {SIZE_LIMIT}-byte budget")
    with open(path, "rb") as f:
        on_disk = f.read()
    if build_all() != on_disk:
        problems.append("regenerating does not reproduce the file byte for byte")
    else:
        print("regenerated bytes are identical")

    for p in problems:
        print("PROBLEM:", p)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return not problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="read the file back, list it, and verify the stored outputs")
    ap.add_argument("--out", default=OUT_PATH, help="output path (default: %(default)s)")
    args = ap.parse_args()
    if args.check:
        sys.exit(0 if check(args.out) else 1)
    blob = build_all()
    if len(blob) > SIZE_LIMIT:
        sys.exit(f"refusing to write {len(blob)} bytes (> {SIZE_LIMIT})")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(blob)
    os.replace(tmp, args.out)
    print(f"wrote {args.out}: {len(blob)} bytes ({len(blob) / 2**20:.2f} MiB)")


if __name__ == "__main__":
    main()
