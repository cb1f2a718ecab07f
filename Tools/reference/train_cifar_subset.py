"""PyTorch baseline for BENCHMARKS.md: the same recipe as `iprtool train --model alexnet --dataset cifar10`
on the same CIFAR-10 binary files, so accuracies compare like for like.

    .venv/bin/python Tools/reference/train_cifar_subset.py --data Fixtures/cifar10_subset --epochs 15 --seed 1

Recipe (the reference DeepIPR CIFAR recipe, scaled to --epochs): AlexNet-CIFAR with batch norm, SGD lr 0.01,
momentum 0.9, weight decay 1e-4, batch 64, LR ×0.1 at 50 % and 75 % of the epochs; train transform random crop
32 with 4 px zero padding + horizontal flip; ImageNet mean/std normalisation; test accuracy of the best epoch
and of the last. Two threads, like the Swift engine on this machine.
"""
import argparse
import glob
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "golden"))
from make_model_golden import AlexNetCifar  # noqa: E402

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(1, 3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(1, 3, 1, 1)


def read_cifar(paths):
    raw = np.concatenate([np.fromfile(p, dtype=np.uint8) for p in paths]).reshape(-1, 3073)
    return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)


def folder(root):
    sub = os.path.join(root, "cifar-10-batches-bin")
    return sub if os.path.isdir(sub) else root


def augment(images, rng):
    n = len(images)
    padded = np.zeros((n, 3, 40, 40), dtype=np.uint8)
    padded[:, :, 4:36, 4:36] = images
    out = np.empty_like(images)
    for i in range(n):
        y, x = rng.integers(0, 9, size=2)
        crop = padded[i, :, y:y + 32, x:x + 32]
        out[i] = crop[:, :, ::-1] if rng.random() < 0.5 else crop
    return out


def to_tensor(images):
    return torch.from_numpy(((images.astype(np.float32) / 255.0) - MEAN) / STD)


def evaluate(model, images, labels):
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(to_tensor(images[i:i + 256])) for i in range(0, len(images), 256)])
        loss = F.cross_entropy(logits, torch.from_numpy(labels)).item()
        return (logits.argmax(1).numpy() == labels).mean(), loss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.01)
    args = ap.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    root = folder(args.data)
    train_x, train_y = read_cifar(sorted(glob.glob(os.path.join(root, "data_batch_*.bin"))))
    test_x, test_y = read_cifar([os.path.join(root, "test_batch.bin")])

    model = AlexNetCifar()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
    milestones = [m for m in (args.epochs // 2, args.epochs * 3 // 4) if m > 0]
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1)
    best, start = 0.0, time.time()
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(train_x))
        for b in range(0, len(order), args.batch_size):
            idx = order[b:b + args.batch_size]
            x = to_tensor(augment(train_x[idx], rng))
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), torch.from_numpy(train_y[idx])).backward()
            opt.step()
        sched.step()
        acc, loss = evaluate(model, test_x, test_y)
        best = max(best, acc)
        print(f"epoch {epoch + 1}/{args.epochs}  test acc {100 * acc:.1f}%  loss {loss:.4f}", file=sys.stderr)
    print(json.dumps({"engine": "torch", "epochs": args.epochs, "seed": args.seed, "best_accuracy": best,
                      "last_accuracy": acc, "train_samples": len(train_x), "test_samples": len(test_x),
                      "seconds": time.time() - start}))


if __name__ == "__main__":
    main()
