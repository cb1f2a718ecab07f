"""Side-by-side accuracy run of the REFERENCE DeepIPR PyTorch code (github.com/kamwoh/DeepIPR) on the same small
CIFAR-10 subset the Swift engine uses, for baseline (AlexNetNormal), V1 (AlexNetPassport) and V2
(AlexNetPassportPrivate). None of the reference code lives in this repository: it is imported at run time from
--reference (a checkout of kamwoh/DeepIPR), and its training steps are the reference's own
`experiments.trainer.Trainer.train` / `experiments.trainer_private.TrainerPrivate.train`.

    .venv/bin/python Tools/reference/deepipr_side_by_side.py --reference /tmp/deepipr \
        --data Fixtures/cifar10_subset --seed 1

Recipe: batch 64 (drop_last, as the reference's loader), SGD lr 0.01 momentum 0.9 weight decay 1e-4 (the
reference's optimizer), MultiStepLR gamma 0.1 at 50 % / 75 % of the epochs (the reference's lr_configs/default.json
is 200 epochs with steps 100/150). Baseline 15 epochs from scratch; V1 and V2 6 epochs each, warm-started from the
baseline's final weights by copying every tensor whose name and shape match (conv weights, BN running stats,
non-passport BN affine, classifier). Passport config passport_configs/alexnet_passport.json (layers 4, 5, 6),
key type random, sign loss 0.1, norm bn. One JSON object per model on stdout; progress on stderr.

torchvision is not needed: the models import `torchvision.models.alexnet` only for ImageNet-pretrained weights,
so a stub module is put into sys.modules before the reference modules are imported.
"""
import argparse
import contextlib
import glob
import json
import os
import random
import sys
import time
import types

import numpy as np
import torch
import torch.nn.functional as F

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(1, 3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(1, 3, 1, 1)


def install_torchvision_stub():
    def alexnet(*_a, **_k):
        raise RuntimeError("torchvision stub: pretrained ImageNet AlexNet is not available (not needed for CIFAR)")

    tv = types.ModuleType("torchvision")
    tvm = types.ModuleType("torchvision.models")
    tvm.alexnet = alexnet
    tv.models = tvm
    sys.modules.setdefault("torchvision", tv)
    sys.modules.setdefault("torchvision.models", tvm)


def read_cifar(path):
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)
    labels = raw[:, 0].astype(np.int64)
    images = raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return images, labels


def normalize(x):
    return (x - MEAN) / STD


def augment(images, rng):
    """RandomCrop(32, padding=4) with zero fill in pixel space + RandomHorizontalFlip, then normalise."""
    n = images.shape[0]
    padded = np.zeros((n, 3, 40, 40), dtype=np.float32)
    padded[:, :, 4:36, 4:36] = images
    out = np.empty_like(images)
    for i in range(n):
        dy, dx = rng.integers(0, 9, size=2)
        crop = padded[i, :, dy:dy + 32, dx:dx + 32]
        out[i] = crop[:, :, ::-1] if rng.random() < 0.5 else crop
    return normalize(out)


class TrainLoader:
    """Shuffled batches, drop_last=True like the reference's CIFAR DataLoader; fresh augmentation every epoch."""

    def __init__(self, images, labels, batch, rng):
        self.images, self.labels, self.batch, self.rng = images, labels, batch, rng

    def __len__(self):
        return len(self.labels) // self.batch

    def __iter__(self):
        order = self.rng.permutation(len(self.labels))
        for b in range(len(self)):
            idx = order[b * self.batch:(b + 1) * self.batch]
            yield (torch.from_numpy(np.ascontiguousarray(augment(self.images[idx], self.rng))),
                   torch.from_numpy(self.labels[idx]))


@torch.no_grad()
def evaluate(model, x, y, batch_stats=False, **kw):
    """Test accuracy in eval mode; batch_stats=True runs a throw-away copy with BN in train mode (batch
    statistics instead of running statistics), a diagnostic only."""
    if batch_stats:
        import copy
        model = copy.deepcopy(model).train()
    else:
        model.eval()
    correct = 0
    for s in range(0, len(y), 128):
        pred = model(x[s:s + 128], **kw).argmax(1)
        correct += (pred == y[s:s + 128]).sum().item()
    return 100.0 * correct / len(y)


def copy_matching(dst, src):
    """Copy every state-dict tensor whose name and shape match; returns copied / skipped names."""
    sd_src = src.state_dict()
    copied, skipped = [], []
    with torch.no_grad():
        for name, t in dst.state_dict().items():
            if name in sd_src and sd_src[name].shape == t.shape:
                t.copy_(sd_src[name])
                copied.append(name)
            else:
                skipped.append(name)
    return copied, skipped


def run_epochs(trainer, loader, epochs, opt, tag, eval_fn):
    hist = []
    for ep in range(1, epochs + 1):
        lr = opt.param_groups[0]["lr"]
        with contextlib.redirect_stdout(sys.stderr):
            m = trainer.train(ep, loader)
        acc = eval_fn()
        hist.append({"epoch": ep, "lr": lr, "train_loss": round(m["loss"], 4),
                     "sign_loss": round(float(m["sign_loss"]), 4), "sign_acc_train": round(m["sign_acc"], 4),
                     "test_acc": acc})
        print(f"[{tag}] epoch {ep}/{epochs} lr {lr:g} loss {m['loss']:.4f} test {acc}", file=sys.stderr)
    return hist


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", default="/tmp/deepipr")
    ap.add_argument("--data", default="Fixtures/cifar10_subset")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--baseline-epochs", type=int, default=15)
    ap.add_argument("--passport-epochs", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--random-passports", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="baseline,v1,v2")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    install_torchvision_stub()
    ref = os.path.abspath(args.reference)
    sys.path.insert(0, ref)
    from experiments.trainer import Trainer
    from experiments.trainer_private import TrainerPrivate
    from experiments.utils import construct_passport_kwargs_from_dict
    from models.alexnet_normal import AlexNetNormal
    from models.alexnet_passport import AlexNetPassport
    from models.alexnet_passport_private import AlexNetPassportPrivate
    from models.layers.passportconv2d import PassportBlock
    from models.layers.passportconv2d_private import PassportPrivateBlock

    random.seed(args.seed)
    np.random.seed(args.seed)  # the reference's generate_key draws from np.random
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    binroot = glob.glob(os.path.join(args.data, "**", "data_batch_1.bin"), recursive=True)[0]
    binroot = os.path.dirname(binroot)
    tr_x, tr_y = read_cifar(os.path.join(binroot, "data_batch_1.bin"))
    te_x, te_y = read_cifar(os.path.join(binroot, "test_batch.bin"))
    te_x = torch.from_numpy(normalize(te_x))
    te_y = torch.from_numpy(te_y)
    loader = TrainLoader(tr_x, tr_y, args.batch_size, rng)
    dev = torch.device("cpu")

    pconf = json.load(open(os.path.join(ref, "passport_configs", "alexnet_passport.json")))
    pkw = construct_passport_kwargs_from_dict({"passport_config": pconf, "norm_type": "bn",
                                               "key_type": "random", "sl_ratio": 0.1})

    def make_opt(model, epochs):
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
        ms = [m for m in (epochs // 2, epochs * 3 // 4) if m > 0]
        return opt, torch.optim.lr_scheduler.MultiStepLR(opt, ms, 0.1), ms

    common = {"engine": "torch-reference-deepipr", "seed": args.seed, "train": len(tr_y), "test": len(te_y),
              "batch": args.batch_size, "threads": args.threads, "torch": torch.__version__}
    wanted = args.models.split(",")

    # ---------------- baseline ----------------
    t0 = time.time()
    base = AlexNetNormal(3, 10, "bn")
    opt, sch, ms = make_opt(base, args.baseline_epochs)
    hist = run_epochs(Trainer(base, opt, sch, dev), loader, args.baseline_epochs, opt, "baseline",
                      lambda: evaluate(base, te_x, te_y))
    print(json.dumps({**common, "model": "baseline", "epochs": args.baseline_epochs, "milestones": ms,
                      "test_acc": hist[-1]["test_acc"], "best_test_acc": max(h["test_acc"] for h in hist),
                      "seconds": round(time.time() - t0, 1), "history": hist}), flush=True)

    def random_passport_accs(model, blocks, set_fn, **kw):
        saved = [set_fn(b, None) for b in blocks]
        accs = []
        for _ in range(args.random_passports):
            for b in blocks:
                shp = b.get_bias_key().shape
                k = torch.tensor(b.generate_key(*shp), dtype=torch.float32)
                s = torch.tensor(b.generate_key(*shp), dtype=torch.float32)
                b.set_key(k, s)
            accs.append(evaluate(model, te_x, te_y, **kw))
        for b, (k, s) in zip(blocks, saved):
            b.set_key(k, s)
        return accs

    # ---------------- V1 ----------------
    if "v1" in wanted:
        t0 = time.time()
        v1 = AlexNetPassport(3, 10, pkw)
        copied, skipped = copy_matching(v1, base)
        opt, sch, ms = make_opt(v1, args.passport_epochs)
        hist = run_epochs(Trainer(v1, opt, sch, dev), loader, args.passport_epochs, opt, "v1",
                          lambda: evaluate(v1, te_x, te_y))
        blocks = [m for m in v1.modules() if isinstance(m, PassportBlock)]
        with torch.no_grad():
            v1.eval()
            det = [(b.get_scale().view(-1).sign() == b.b).float().mean().item() for b in blocks]
        real = evaluate(v1, te_x, te_y)
        accs = random_passport_accs(v1, blocks, lambda b, _: (b.key.clone(), b.skey.clone()))
        assert evaluate(v1, te_x, te_y) == real
        print(json.dumps({**common, "model": "v1", "epochs": args.passport_epochs, "milestones": ms,
                          "test_acc": real, "sign_detection": float(np.mean(det)),
                          "diagnostics": {"test_acc_bn_batch_stats": evaluate(v1, te_x, te_y, batch_stats=True)},
                          "sign_detection_per_layer": det,
                          "random_passport_acc_mean": float(np.mean(accs)),
                          "random_passport_acc_max": float(np.max(accs)), "random_passport_accs": accs,
                          "warm_start_skipped": skipped, "seconds": round(time.time() - t0, 1),
                          "history": hist}), flush=True)

    # ---------------- V2 ----------------
    if "v2" in wanted:
        t0 = time.time()
        v2 = AlexNetPassportPrivate(3, 10, pkw)
        copied, skipped = copy_matching(v2, base)
        opt, sch, ms = make_opt(v2, args.passport_epochs)
        hist = run_epochs(TrainerPrivate(v2, opt, sch, dev), loader, args.passport_epochs, opt, "v2",
                          lambda: [evaluate(v2, te_x, te_y, ind=0), evaluate(v2, te_x, te_y, ind=1)])
        blocks = [m for m in v2.modules() if isinstance(m, PassportPrivateBlock)]
        with torch.no_grad():
            v2.eval()
            det = [(b.get_scale(ind=1).view(-1).sign() == b.b).float().mean().item() for b in blocks]
        pub = evaluate(v2, te_x, te_y, ind=0)
        priv = evaluate(v2, te_x, te_y, ind=1)
        diag = {"test_acc_public_bn_batch_stats": evaluate(v2, te_x, te_y, batch_stats=True, ind=0),
                "test_acc_private_bn_batch_stats": evaluate(v2, te_x, te_y, batch_stats=True, ind=1)}
        with torch.no_grad():
            diag["mean_abs_scale_public"] = [b.scale.abs().mean().item() for b in blocks]
            diag["mean_abs_scale_private"] = [b.get_scale(ind=1).abs().mean().item() for b in blocks]
        accs = random_passport_accs(v2, blocks,
                                    lambda b, _: (b.key_private.clone(), b.skey_private.clone()), ind=1)
        assert evaluate(v2, te_x, te_y, ind=1) == priv
        print(json.dumps({**common, "model": "v2", "epochs": args.passport_epochs, "milestones": ms,
                          "test_acc_public": pub, "test_acc_private": priv,
                          "sign_detection_private": float(np.mean(det)), "sign_detection_per_layer": det,
                          "diagnostics": diag,
                          "random_passport_acc_mean": float(np.mean(accs)),
                          "random_passport_acc_max": float(np.max(accs)), "random_passport_accs": accs,
                          "warm_start_skipped": skipped, "seconds": round(time.time() - t0, 1),
                          "history": hist}), flush=True)


if __name__ == "__main__":
    main()
