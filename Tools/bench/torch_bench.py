"""PyTorch CPU baseline for Tools/bench: the same shapes and passes as `iprbench`, same JSON lines.

Run by Tools/bench/run (needs torch in .venv: python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 numpy).
Two threads, as the engine uses on this 2-core machine.
"""
import json
import sys
import time

import os
import resource

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "golden"))
from make_model_golden import AlexNetCifar, ConvBlock, ResNetCifar  # noqa: E402  (the reference architectures)

torch.set_num_threads(2)
torch.manual_seed(0)

ALEXNET_CONVS = [
    ("conv1 3→64 k5 32×32", 3, 64, 5, 2, 32),
    ("conv2 64→192 k5 16×16", 64, 192, 5, 2, 16),
    ("conv3 192→384 k3 8×8", 192, 384, 3, 1, 8),
    ("conv4 384→256 k3 8×8", 384, 256, 3, 1, 8),
    ("conv5 256→256 k3 8×8", 256, 256, 3, 1, 8),
]


def option(name, default):
    args = sys.argv
    return int(args[args.index(name) + 1]) if name in args else default


def measure(reps, body):
    body()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        body()
        samples.append((time.perf_counter() - t0) * 1e3)
    s = sorted(samples)
    n = len(s)
    return (s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2), samples


def emit(**fields):
    print(json.dumps(fields, sort_keys=True, ensure_ascii=False), flush=True)


def alexnet224():
    """The reference AlexNetNormal's ImageNet branch, as IPRModels builds it at input size 224."""
    model = AlexNetCifar()
    model.features = torch.nn.Sequential(
        ConvBlock(3, 64, 11, 4, 2), torch.nn.MaxPool2d(3, 2), ConvBlock(64, 192, 5, 1, 2), torch.nn.MaxPool2d(3, 2),
        ConvBlock(192, 384), ConvBlock(384, 256), ConvBlock(256, 256), torch.nn.MaxPool2d(3, 2), torch.nn.AdaptiveAvgPool2d(6))
    model.classifier = torch.nn.Sequential(
        torch.nn.Dropout(0.5), torch.nn.Linear(256 * 36, 4096), torch.nn.ReLU(inplace=True),
        torch.nn.Dropout(0.5), torch.nn.Linear(4096, 4096), torch.nn.ReLU(inplace=True), torch.nn.Linear(4096, 10))
    return model


def resnet18_224():
    """ResNet-18 with the ImageNet stem (7x7 stride 2, max-pool 3/2), as IPRModels builds it at 224."""
    model = ResNetCifar([2, 2, 2, 2])
    model.convbnrelu_1 = torch.nn.Sequential(ConvBlock(3, 64, 7, 2, 3), torch.nn.MaxPool2d(3, 2, 1))
    return model


command = sys.argv[1] if len(sys.argv) > 1 else "info"
reps, batch = option("--reps", 10), option("--batch", 64)

if command == "info":
    emit(engine="torch", version=torch.__version__, threads=torch.get_num_threads())
elif command == "conv":
    for name, c, oc, k, pad, hw in ALEXNET_CONVS:
        x = torch.randn(batch, c, hw, hw, requires_grad=True)
        conv = torch.nn.Conv2d(c, oc, k, padding=pad)
        gy = torch.randn(batch, oc, hw, hw)

        def step():
            x.grad = None
            conv.zero_grad(set_to_none=True)
            conv(x).backward(gy)

        med, samples = measure(reps, step)
        flops = 3 * 2 * batch * oc * hw * hw * c * k * k
        emit(engine="torch", bench="conv", name=name, median_ms=med, samples_ms=samples, gflops=flops / med / 1e6)
elif command == "stack":
    layers = []
    for i, (_, c, oc, k, pad, _) in enumerate(ALEXNET_CONVS):
        layers += [torch.nn.Conv2d(c, oc, k, padding=pad, bias=False), torch.nn.BatchNorm2d(oc), torch.nn.ReLU()]
        if i in (0, 1, 4):
            layers.append(torch.nn.MaxPool2d(2))
    net = torch.nn.Sequential(*layers).train()
    x = torch.randn(batch, 3, 32, 32)

    def step():
        net.zero_grad(set_to_none=True)
        net(x).sum().backward()

    med, samples = measure(reps, step)
    emit(engine="torch", bench="stack", name="AlexNet conv→BN→ReLU→pool stack", median_ms=med, samples_ms=samples)
elif command in ("train", "infer"):
    infer_batch = option("--batch", 256) if command == "infer" else batch
    size = option("--input", 32)
    for arch, ctor in (("alexnet", lambda: AlexNetCifar() if size == 32 else alexnet224()),
                       ("resnet18", lambda: ResNetCifar([2, 2, 2, 2]) if size == 32 else resnet18_224())):
        model = ctor()
        x = torch.randn(infer_batch, 3, size, size)
        labels = torch.arange(infer_batch) % 10
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

        def step():
            if command == "train":
                model.train()
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(model(x), labels).backward()
                opt.step()
            else:
                model.eval()
                with torch.no_grad():
                    model(x)

        med, samples = measure(reps, step)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        emit(engine="torch", bench=command, name=f"{arch} batch {infer_batch}" + (f" at {size}" if size != 32 else ""),
             median_ms=med, samples_ms=samples,
             images_per_s=infer_batch / med * 1000, peak_rss_mb=peak)
elif command == "loader224":
    # The reference's ImageNet pipeline as torchvision runs it on PIL images (torchvision's
    # transforms call these PIL operations): PIL decode + convert("RGB"), then RandomResizedCrop(224)
    # + flip or Resize(256) + CenterCrop(224), ToTensor, Normalize; batches from torch's DataLoader
    # (num_workers 0: the main thread, one core; 2: two worker processes).
    import math
    import random

    import numpy as np
    from PIL import Image

    photos = sys.argv[sys.argv.index("--photos") + 1]
    files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(photos) for f in fs)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)

    def to_tensor(img):
        return (torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).float().div_(255) - mean) / std

    def resized_crop(img):  # torchvision RandomResizedCrop.get_params, scale (0.08, 1), ratio (3/4, 4/3)
        w, h = img.size
        area = w * h
        for _ in range(10):
            target = area * random.uniform(0.08, 1.0)
            aspect = math.exp(random.uniform(math.log(3 / 4), math.log(4 / 3)))
            cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                top, left = random.randint(0, h - ch), random.randint(0, w - cw)
                break
        else:
            cw, ch, top, left = min(w, h), min(w, h), (h - min(w, h)) // 2, (w - min(w, h)) // 2
        img = img.resize((224, 224), Image.BILINEAR, box=(left, top, left + cw, top + ch))
        return img.transpose(Image.FLIP_LEFT_RIGHT) if random.random() < 0.5 else img

    def center(img):
        w, h = img.size
        img = img.resize((256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256), Image.BILINEAR)
        w, h = img.size
        top, left = int(round((h - 224) / 2.0)), int(round((w - 224) / 2.0))
        return img.crop((left, top, left + 224, top + 224))

    class Photos(torch.utils.data.Dataset):
        def __init__(self, transform):
            self.transform = transform

        def __len__(self):
            return len(files)

        def __getitem__(self, i):
            with open(files[i], "rb") as f:
                img = Image.open(f).convert("RGB")
            return to_tensor(self.transform(img)), 0

    for name, transform in (("train", resized_crop), ("test", center)):
        for workers in (1, 2):
            loader = torch.utils.data.DataLoader(Photos(transform), batch_size=batch, shuffle=True, drop_last=True,
                                                 num_workers=0 if workers == 1 else workers,
                                                 persistent_workers=workers > 1)

            def epoch():
                for x, _ in loader:
                    pass

            median, samples = measure(reps, epoch)
            images = len(loader) * batch
            emit(engine="torch", bench="loader224",
                 name=f"{os.path.basename(os.path.normpath(photos))} imagenet {name}, full decode, {workers} worker{'s' if workers > 1 else ''}",
                 median_ms=median, samples_ms=samples, images_per_s=images / (median / 1000), images_per_rep=images, batch=batch)
elif command == "passport":
    # The reference algorithm (kamwoh/DeepIPR PassportBlock / PassportPrivateBlock), re-implemented:
    # conv (no bias) → BN (no affine) → γ·x + β with γ, β the passports through the same conv.
    class Passport(torch.nn.Module):
        def __init__(self, c, o, hw, private):
            super().__init__()
            self.conv = torch.nn.Conv2d(c, o, 3, 1, 1, bias=False)
            self.bn = torch.nn.BatchNorm2d(o, affine=False)
            self.register_buffer("key", torch.rand(1, c, hw, hw) * 2 - 1)
            self.register_buffer("skey", torch.rand(1, c, hw, hw) * 2 - 1)
            self.register_buffer("b", torch.sign(torch.rand(o) - 0.5))
            self.private = private
            if private:
                self.scale = torch.nn.Parameter(torch.ones(o))
                self.bias = torch.nn.Parameter(torch.zeros(o))
            self.ind, self.scale_cache = 1, None

        def forward(self, x):
            x = self.bn(self.conv(x))
            if self.private and self.ind == 0:
                return F.relu(x * self.scale.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1))
            g = self.conv(self.skey).mean(dim=(0, 2, 3))
            self.scale_cache = g
            return F.relu(x * g.view(1, -1, 1, 1) + self.conv(self.key).mean(dim=(0, 2, 3)).view(1, -1, 1, 1))

    def passport_alexnet(private):
        m = AlexNetCifar()
        for i, (c, o) in zip((4, 5, 6), ((192, 384), (384, 256), (256, 256))):
            m.features[i] = Passport(c, o, 8, private)
        return m

    x = torch.randn(batch, 3, 32, 32)
    labels = torch.arange(batch) % 10
    for name, model, scheme in (("alexnet plain", AlexNetCifar(), 0), ("alexnet v1", passport_alexnet(False), 1),
                                ("alexnet v2", passport_alexnet(True), 2)):
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        blocks = [m for m in model.modules() if isinstance(m, Passport)]

        def sign_loss():
            return sum((0.1 * F.relu(0.1 - b.b * b.scale_cache)).sum() + 1e-5 * b.scale_cache.pow(2).sum() for b in blocks)

        def step():
            model.train()
            opt.zero_grad(set_to_none=True)
            if scheme == 2:
                for b in blocks:
                    b.ind = 0
                loss = F.cross_entropy(model(x), labels)
                for b in blocks:
                    b.ind = 1
                loss = loss + F.cross_entropy(model(x), labels) + sign_loss()
            else:
                loss = F.cross_entropy(model(x), labels) + (sign_loss() if scheme == 1 else 0)
            loss.backward()
            opt.step()

        med, samples = measure(reps, step)
        emit(engine="torch", bench="passport-train", name=f"{name} batch {batch}", median_ms=med, samples_ms=samples)
        if scheme != 2:
            def infer():
                model.eval()
                with torch.no_grad():
                    model(x)
            med, samples = measure(reps, infer)
            emit(engine="torch", bench="passport-infer", name=f"{name} batch {batch}", median_ms=med, samples_ms=samples)
else:
    sys.exit("usage: torch_bench.py info | conv | stack | train | infer | passport [--reps N] [--batch N]")
