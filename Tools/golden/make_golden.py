#!/usr/bin/env python3
"""Golden PyTorch CPU reference tensors for the IPRTensor Swift tests.

What it produces
    Fixtures/golden/{conv2d,norms,pools,linear,losses,sgd,stack}.safetensors
    Each file holds several cases. Tensor names are "<case>.<role>" (e.g.
    "k3s1p1.grad_weight"); each case's parameters are a compact JSON string
    stored in the safetensors "__metadata__" under the key "<case>".
    All tensors are float32 ("F32") except class labels ("I64").

How to run (from the repository root)
    .venv/bin/python Tools/golden/make_golden.py            # (re)write fixtures
    .venv/bin/python Tools/golden/make_golden.py --check    # parse + verify

CI does not need Python or PyTorch: the generated .safetensors files are
checked in, and the Swift tests only read them. Re-run this script only when
a case is added or changed.

Determinism: every case starts from torch.manual_seed(0) and all random
tensors (inputs, weights, grad_outputs, ...) are drawn from torch's CPU
generator in a fixed order, with torch.set_num_threads(1). Re-running the
script reproduces the files byte for byte (`--check` verifies that).

Gradients: for a case with a non-scalar output, a standard-normal
`grad_output` of the output's shape is drawn, `output.backward(grad_output)`
is called, and the inputs'/parameters' `.grad`s are stored as `grad_<role>`.
Scalar losses use `output.backward()` (grad_output = 1).

The safetensors writer/reader below is self-contained (numpy only):
8-byte little-endian u64 header length N, N bytes of UTF-8 JSON header
padded with spaces to a multiple of 8, then the raw little-endian tensor data,
laid out contiguously in the order written; data_offsets are relative to the
start of the data section.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

from safetensors_np import encode_safetensors, read_safetensors as shared_read
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(ROOT, "Fixtures", "golden")

# "<case>.<role>" names that must be 0-d (shape []).
SCALAR_ROLES = {"ce_mean.output", "ce_sum.output", "mse.output", "clip.total_norm"}


# ---------------------------------------------------------------------------
# safetensors I/O (numpy only)
# ---------------------------------------------------------------------------

def read_safetensors(path):
    """Returns (list of (name, dtype, shape, np.ndarray), metadata, problems), with this file's own checks."""
    out, metadata, problems = shared_read(path)
    for name, _, shape, _ in out:
        if name in SCALAR_ROLES and shape != []:
            problems.append(f"{name}: expected a scalar (shape []), got {shape}")
    cases = {name.split(".", 1)[0] for name, *_ in out}
    for c in sorted(cases - set(metadata)):
        problems.append(f"case {c!r} has no __metadata__ entry")
    for c in sorted(set(metadata) - cases):
        problems.append(f"metadata key {c!r} has no tensors")
    for k, v in metadata.items():
        if not isinstance(v, str):
            problems.append(f"metadata {k!r} is not a string")
        else:
            json.loads(v)
    return out, metadata, problems


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

class Builder:
    """Collects tensors/metadata for one file."""

    def __init__(self):
        self.tensors = []
        self.metadata = {}
        self.names = set()

    def case(self, name, params):
        assert name not in self.metadata, name
        self.metadata[name] = json.dumps(params)
        return lambda role, t: self.put(f"{name}.{role}", t)

    def put(self, name, t):
        assert name not in self.names, name
        self.names.add(name)
        if isinstance(t, torch.Tensor):
            t = t.detach().cpu().contiguous().numpy()
        self.tensors.append((name, np.array(t, copy=True)))

    def encode(self):
        return encode_safetensors(self.tensors, self.metadata)


def seed():
    torch.manual_seed(0)


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def uniform(lo, hi, *shape):
    return torch.empty(*shape, dtype=torch.float32).uniform_(lo, hi)


def leaf(t):
    return t.detach().clone().requires_grad_(True)


# ---------------------------------------------------------------------------
# 1. conv2d
# ---------------------------------------------------------------------------

CONV_CASES = [
    # name, input shape, (out, k), stride, padding, bias
    ("k3s1p1", (2, 3, 8, 8), (4, 3), 1, 1, True),
    ("k5s1p2", (2, 4, 9, 7), (5, 5), 1, 2, True),
    ("k3s2p1", (2, 3, 9, 9), (6, 3), 2, 1, True),
    ("k1s1p0", (2, 5, 6, 6), (3, 1), 1, 0, True),
    ("k11s4p2", (1, 3, 32, 32), (4, 11), 4, 2, True),
    ("k3s1p0nobias", (2, 3, 7, 7), (4, 3), 1, 0, False),
    ("k3s1p1wide", (2, 16, 6, 6), (32, 3), 1, 1, True),
]


def make_conv2d():
    b = Builder()
    for name, ishape, (o, k), s, p, has_bias in CONV_CASES:
        seed()
        put = b.case(name, {"stride": s, "padding": p, "bias": has_bias})
        mod = nn.Conv2d(ishape[1], o, k, stride=s, padding=p, bias=has_bias)
        x = leaf(randn(*ishape))
        w = leaf(mod.weight)
        bias = leaf(mod.bias) if has_bias else None
        y = F.conv2d(x, w, bias, stride=s, padding=p)
        gy = randn(*y.shape)
        y.backward(gy)
        put("input", x)
        put("weight", w)
        if has_bias:
            put("bias", bias)
        put("output", y)
        put("grad_output", gy)
        put("grad_input", x.grad)
        put("grad_weight", w.grad)
        if has_bias:
            put("grad_bias", bias.grad)
    return b


# ---------------------------------------------------------------------------
# 2. norms
# ---------------------------------------------------------------------------

def make_norms():
    b = Builder()
    mom, eps = 0.1, 1e-5

    # batch norm, affine, train and eval
    for name, training in (("bn_train", True), ("bn_eval", False)):
        seed()
        put = b.case(name, {"training": training, "momentum": mom, "eps": eps,
                            "affine": True})
        x = leaf(randn(4, 3, 5, 5))
        w = leaf(uniform(0.5, 1.5, 3))
        bias = leaf(randn(3))
        rm = randn(3)
        rv = uniform(0.5, 2.0, 3)
        rm0, rv0 = rm.clone(), rv.clone()
        y = F.batch_norm(x, rm, rv, w, bias, training=training,
                         momentum=mom, eps=eps)
        gy = randn(*y.shape)
        y.backward(gy)
        put("input", x)
        put("weight", w)
        put("bias", bias)
        put("running_mean", rm0)
        put("running_var", rv0)
        if training:
            put("running_mean_after", rm)
            put("running_var_after", rv)
        else:
            assert torch.equal(rm, rm0) and torch.equal(rv, rv0)
        put("output", y)
        put("grad_output", gy)
        put("grad_input", x.grad)
        put("grad_weight", w.grad)
        put("grad_bias", bias.grad)

    # batch norm, no affine, train
    seed()
    put = b.case("bn_train_noaffine", {"training": True, "momentum": mom,
                                       "eps": eps, "affine": False})
    x = leaf(randn(4, 3, 5, 5))
    rm = randn(3)
    rv = uniform(0.5, 2.0, 3)
    rm0, rv0 = rm.clone(), rv.clone()
    y = F.batch_norm(x, rm, rv, None, None, training=True, momentum=mom, eps=eps)
    gy = randn(*y.shape)
    y.backward(gy)
    put("input", x)
    put("running_mean", rm0)
    put("running_var", rv0)
    put("running_mean_after", rm)
    put("running_var_after", rv)
    put("output", y)
    put("grad_output", gy)
    put("grad_input", x.grad)

    # group norm, affine
    seed()
    put = b.case("gn", {"groups": 4, "eps": eps, "affine": True})
    x = leaf(randn(2, 8, 4, 4))
    w = leaf(uniform(0.5, 1.5, 8))
    bias = leaf(randn(8))
    y = F.group_norm(x, 4, w, bias, eps=eps)
    gy = randn(*y.shape)
    y.backward(gy)
    put("input", x)
    put("weight", w)
    put("bias", bias)
    put("output", y)
    put("grad_output", gy)
    put("grad_input", x.grad)
    put("grad_weight", w.grad)
    put("grad_bias", bias.grad)

    # group norm, no affine
    seed()
    put = b.case("gn_noaffine", {"groups": 2, "eps": eps, "affine": False})
    x = leaf(randn(2, 4, 3, 5))
    y = F.group_norm(x, 2, None, None, eps=eps)
    gy = randn(*y.shape)
    y.backward(gy)
    put("input", x)
    put("output", y)
    put("grad_output", gy)
    put("grad_input", x.grad)

    # instance norm (nn.InstanceNorm2d defaults: no affine, no running stats)
    seed()
    put = b.case("in", {"eps": eps, "affine": False})
    x = leaf(randn(2, 3, 5, 5))
    y = F.instance_norm(x, eps=eps)
    gy = randn(*y.shape)
    y.backward(gy)
    put("input", x)
    put("output", y)
    put("grad_output", gy)
    put("grad_input", x.grad)

    # instance norm, affine
    seed()
    put = b.case("in_affine", {"eps": eps, "affine": True})
    x = leaf(randn(2, 3, 5, 5))
    w = leaf(uniform(0.5, 1.5, 3))
    bias = leaf(randn(3))
    y = F.instance_norm(x, weight=w, bias=bias, eps=eps)
    gy = randn(*y.shape)
    y.backward(gy)
    put("input", x)
    put("weight", w)
    put("bias", bias)
    put("output", y)
    put("grad_output", gy)
    put("grad_input", x.grad)
    put("grad_weight", w.grad)
    put("grad_bias", bias.grad)
    return b


# ---------------------------------------------------------------------------
# 3. pools
# ---------------------------------------------------------------------------

def distinct(*shape):
    n = int(np.prod(shape))
    return torch.randperm(n).to(torch.float32).div_(n).reshape(*shape)


POOL_CASES = [
    # name, input shape, fn, metadata
    ("max_k2s2", (2, 3, 8, 8), lambda x: F.max_pool2d(x, 2, 2),
     {"kernel": 2, "stride": 2, "padding": 0}),
    ("max_k3s2p1", (2, 3, 9, 9), lambda x: F.max_pool2d(x, 3, 2, 1),
     {"kernel": 3, "stride": 2, "padding": 1}),
    ("max_k3s2", (2, 2, 13, 13), lambda x: F.max_pool2d(x, 3, 2),
     {"kernel": 3, "stride": 2, "padding": 0}),
    ("avg_k2s2", (2, 3, 8, 8), lambda x: F.avg_pool2d(x, 2, 2),
     {"kernel": 2, "stride": 2, "padding": 0, "count_include_pad": True}),
    ("avg_k3s2p1", (2, 3, 9, 9), lambda x: F.avg_pool2d(x, 3, 2, 1),
     {"kernel": 3, "stride": 2, "padding": 1, "count_include_pad": True}),
    ("adaptive_3x3", (2, 3, 7, 7), lambda x: F.adaptive_avg_pool2d(x, (3, 3)),
     {"output": [3, 3]}),
    ("adaptive_1x1", (2, 4, 5, 5), lambda x: F.adaptive_avg_pool2d(x, 1),
     {"output": [1, 1]}),
    ("adaptive_6x6", (1, 2, 13, 13), lambda x: F.adaptive_avg_pool2d(x, 6),
     {"output": [6, 6]}),
]


def make_pools():
    b = Builder()
    for name, ishape, fn, params in POOL_CASES:
        seed()
        put = b.case(name, params)
        x = leaf(distinct(*ishape))
        y = fn(x)
        gy = randn(*y.shape)
        y.backward(gy)
        put("input", x)
        put("output", y)
        put("grad_output", gy)
        put("grad_input", x.grad)
    return b


# ---------------------------------------------------------------------------
# 4. linear / matmul
# ---------------------------------------------------------------------------

def make_linear():
    b = Builder()
    seed()
    put = b.case("linear", {"in_features": 7, "out_features": 5, "bias": True})
    x = leaf(randn(4, 7))
    w = leaf(randn(5, 7))
    bias = leaf(randn(5))
    y = F.linear(x, w, bias)
    gy = randn(*y.shape)
    y.backward(gy)
    put("input", x)
    put("weight", w)
    put("bias", bias)
    put("output", y)
    put("grad_output", gy)
    put("grad_input", x.grad)
    put("grad_weight", w.grad)
    put("grad_bias", bias.grad)

    seed()
    put = b.case("matmul", {})
    a = leaf(randn(3, 4))
    m = leaf(randn(4, 5))
    y = a @ m
    gy = randn(*y.shape)
    y.backward(gy)
    put("a", a)
    put("b", m)
    put("output", y)
    put("grad_output", gy)
    put("grad_a", a.grad)
    put("grad_b", m.grad)
    return b


# ---------------------------------------------------------------------------
# 5. losses
# ---------------------------------------------------------------------------

def make_losses():
    b = Builder()
    for name, reduction in (("ce_mean", "mean"), ("ce_sum", "sum")):
        seed()
        put = b.case(name, {"reduction": reduction, "classes": 10})
        logits = leaf(randn(6, 10) * 3)
        labels = torch.randint(0, 10, (6,), dtype=torch.int64)
        y = F.cross_entropy(logits, labels, reduction=reduction)
        y.backward()
        put("logits", logits)
        put("labels", labels)
        put("output", y)
        put("grad_logits", logits.grad)

    seed()
    put = b.case("log_softmax", {"dim": 1})
    x = leaf(randn(4, 7))
    y = F.log_softmax(x, dim=1)
    gy = randn(*y.shape)
    y.backward(gy)
    put("input", x)
    put("output", y)
    put("grad_output", gy)
    put("grad_input", x.grad)

    seed()
    put = b.case("mse", {"reduction": "mean"})
    a = leaf(randn(3, 5))
    m = leaf(randn(3, 5))
    y = F.mse_loss(a, m)
    y.backward()
    put("a", a)
    put("b", m)
    put("output", y)
    put("grad_a", a.grad)
    put("grad_b", m.grad)

    seed()
    put = b.case("cosine", {"dim": 1, "eps": 1e-8})
    a = leaf(randn(4, 8))
    m = leaf(randn(4, 8))
    y = F.cosine_similarity(a, m, dim=1, eps=1e-8)
    gy = randn(*y.shape)
    y.backward(gy)
    put("a", a)
    put("b", m)
    put("output", y)
    put("grad_output", gy)
    put("grad_a", a.grad)
    put("grad_b", m.grad)
    return b


# ---------------------------------------------------------------------------
# 6. SGD + grad clipping
# ---------------------------------------------------------------------------

SGD_CASES = [
    ("momentum_wd", dict(lr=0.1, momentum=0.9, dampening=0.0,
                         weight_decay=5e-4, nesterov=False)),
    ("nesterov", dict(lr=0.05, momentum=0.9, dampening=0.0,
                      weight_decay=1e-4, nesterov=True)),
    ("dampening", dict(lr=0.1, momentum=0.5, dampening=0.1,
                       weight_decay=0.0, nesterov=False)),
    ("plain", dict(lr=0.2, momentum=0.0, dampening=0.0,
                   weight_decay=0.01, nesterov=False)),
]


def make_sgd():
    b = Builder()
    for name, hp in SGD_CASES:
        seed()
        put = b.case(name, hp)
        p0 = randn(5, 4)
        grads = [randn(5, 4) for _ in range(3)]
        p = nn.Parameter(p0.clone())
        opt = torch.optim.SGD([p], foreach=False, **hp)
        put("param0", p0)
        for k, g in enumerate(grads):
            put(f"grad{k}", g)
        for k, g in enumerate(grads):
            p.grad = g.clone()
            opt.step()
            put(f"param{k + 1}", p)

    seed()
    put = b.case("clip", {"max_norm": 1.0})
    g1 = randn(3, 4) * 2
    g2 = randn(5) * 2
    p1 = nn.Parameter(torch.zeros(3, 4))
    p2 = nn.Parameter(torch.zeros(5))
    p1.grad = g1.clone()
    p2.grad = g2.clone()
    total = torch.nn.utils.clip_grad_norm_([p1, p2], max_norm=1.0)
    assert total.item() > 1.0, "clip case must actually clip"
    put("grad_a", g1)
    put("grad_b", g2)
    put("clipped_a", p1.grad)
    put("clipped_b", p2.grad)
    put("total_norm", total.reshape(()))
    return b


# ---------------------------------------------------------------------------
# 7. conv -> BN(train) -> ReLU -> maxpool block
# ---------------------------------------------------------------------------

def make_stack():
    b = Builder()
    seed()
    put = b.case("stack", {
        "conv": {"in": 3, "out": 8, "kernel": 3, "stride": 1, "padding": 1,
                 "bias": False},
        "bn": {"training": True, "momentum": 0.1, "eps": 1e-5,
               "running_mean0": 0.0, "running_var0": 1.0},
        "relu": True,
        "maxpool": {"kernel": 2, "stride": 2, "padding": 0},
    })
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    bn = nn.BatchNorm2d(8)
    bn.train()
    x = leaf(randn(4, 3, 8, 8))
    y = F.max_pool2d(F.relu(bn(conv(x))), 2, 2)
    gy = randn(*y.shape)
    y.backward(gy)
    put("input", x)
    put("conv_weight", conv.weight)
    put("bn_weight", bn.weight)
    put("bn_bias", bn.bias)
    put("output", y)
    put("grad_output", gy)
    put("grad_input", x.grad)
    put("grad_conv_weight", conv.weight.grad)
    put("grad_bn_weight", bn.weight.grad)
    put("grad_bn_bias", bn.bias.grad)
    put("bn_running_mean_after", bn.running_mean)
    put("bn_running_var_after", bn.running_var)
    return b


FILES = [
    ("conv2d", make_conv2d),
    ("norms", make_norms),
    ("pools", make_pools),
    ("linear", make_linear),
    ("losses", make_losses),
    ("sgd", make_sgd),
    ("stack", make_stack),
]


def build_all():
    torch.set_num_threads(1)
    return {name: fn().encode() for name, fn in FILES}


# ---------------------------------------------------------------------------
# --check: parse every file, print its tensors, re-verify a few values with
# plain numpy, and confirm that regenerating gives identical bytes.
# ---------------------------------------------------------------------------

def numpy_spot_checks(tensors):
    """Independent numpy re-derivations of a few stored outputs."""
    t = {name: arr.astype(np.float64) for name, _, _, arr in tensors}
    errs = []

    def close(label, got, want, tol=1e-4):
        err = float(np.max(np.abs(np.asarray(got) - np.asarray(want))))
        if err > tol:
            errs.append(f"{label}: max abs diff {err:.3g}")

    if "linear.output" in t:
        close("linear.output", t["linear.output"],
              t["linear.input"] @ t["linear.weight"].T + t["linear.bias"])
        close("linear.grad_weight", t["linear.grad_weight"],
              t["linear.grad_output"].T @ t["linear.input"])
    if "mse.output" in t:
        d = t["mse.a"] - t["mse.b"]
        close("mse.output", t["mse.output"], np.mean(d * d))
        close("mse.grad_a", t["mse.grad_a"], 2 * d / d.size)
    if "log_softmax.output" in t:
        x = t["log_softmax.input"]
        m = x.max(1, keepdims=True)
        close("log_softmax.output", t["log_softmax.output"],
              x - m - np.log(np.exp(x - m).sum(1, keepdims=True)))
    if "ce_mean.output" in t:
        x = t["ce_mean.logits"]
        lab = t["ce_mean.labels"].astype(np.int64)
        ls = x - x.max(1, keepdims=True)
        ls = ls - np.log(np.exp(ls).sum(1, keepdims=True))
        close("ce_mean.output", t["ce_mean.output"],
              -ls[np.arange(len(lab)), lab].mean())
    if "clip.total_norm" in t:
        ga, gb = t["clip.grad_a"], t["clip.grad_b"]
        n = np.sqrt((ga ** 2).sum() + (gb ** 2).sum())
        close("clip.total_norm", t["clip.total_norm"], n)
        close("clip.clipped_a", t["clip.clipped_a"], ga * min(1.0, 1.0 / (n + 1e-6)))
    if "plain.param1" in t:
        p, g = t["plain.param0"], t["plain.grad0"]
        close("plain.param1", t["plain.param1"], p - 0.2 * (g + 0.01 * p))
    if "max_k2s2.output" in t:
        x = t["max_k2s2.input"]
        n, c, h, w = x.shape
        close("max_k2s2.output", t["max_k2s2.output"],
              x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5)))
    if "k3s1p1.output" in t:
        x, w, bias = t["k3s1p1.input"], t["k3s1p1.weight"], t["k3s1p1.bias"]
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        n, c, h, wd = x.shape
        y = np.zeros((n, w.shape[0], h, wd))
        for i in range(3):
            for j in range(3):
                y += np.einsum("nchw,oc->nohw", xp[:, :, i:i + h, j:j + wd], w[:, :, i, j])
        close("k3s1p1.output", t["k3s1p1.output"], y + bias[None, :, None, None])
    if "bn_train.output" in t:
        x = t["bn_train.input"]
        mu = x.mean(axis=(0, 2, 3))
        var = x.var(axis=(0, 2, 3))
        cnt = x.size // x.shape[1]
        y = (x - mu[None, :, None, None]) / np.sqrt(var + 1e-5)[None, :, None, None]
        y = y * t["bn_train.weight"][None, :, None, None] + t["bn_train.bias"][None, :, None, None]
        close("bn_train.output", t["bn_train.output"], y)
        close("bn_train.running_var_after", t["bn_train.running_var_after"],
              0.9 * t["bn_train.running_var"] + 0.1 * var * cnt / (cnt - 1))
        close("bn_train.running_mean_after", t["bn_train.running_mean_after"],
              0.9 * t["bn_train.running_mean"] + 0.1 * mu)
    return errs


def check():
    fresh = build_all()
    ok = True
    total = 0
    for name, _ in FILES:
        path = os.path.join(OUT_DIR, f"{name}.safetensors")
        size = os.path.getsize(path)
        total += size
        tensors, metadata, problems = read_safetensors(path)
        (hlen,) = struct.unpack("<Q", open(path, "rb").read(8))
        print(f"== {os.path.relpath(path, ROOT)}  ({size} bytes, header {hlen}, "
              f"{len(tensors)} tensors, {len(metadata)} cases)")
        for case in metadata:
            print(f"  [{case}] {metadata[case]}")
        for tname, dt, shape, arr in tensors:
            finite = bool(np.all(np.isfinite(arr)))
            if not finite:
                problems.append(f"{tname}: non-finite values")
            print(f"  {tname:36s} {dt} {shape}")
        problems += numpy_spot_checks(tensors)
        with open(path, "rb") as f:
            if f.read() != fresh[name]:
                problems.append("file differs from a fresh regeneration")
        for p in problems:
            print(f"  PROBLEM: {p}")
        ok = ok and not problems
    print(f"total {total} bytes; {'OK' if ok else 'FAILED'}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="re-read and verify the files instead of writing them")
    args = ap.parse_args()
    if args.check:
        sys.exit(0 if check() else 1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, blob in build_all().items():
        path = os.path.join(OUT_DIR, f"{name}.safetensors")
        with open(path, "wb") as f:
            f.write(blob)
        print(f"wrote {os.path.relpath(path, ROOT)} ({len(blob)} bytes)")


if __name__ == "__main__":
    main()
