"""Side-by-side accuracy run of the REFERENCE DeepIPR PyTorch code (github.com/kamwoh/DeepIPR) on the same small
CIFAR-10 subset the Swift engine uses, for baseline (AlexNetNormal), V1 (AlexNetPassport), V2
(AlexNetPassportPrivate) and V3 (AlexNetPassportPrivate trained with the trigger set, `train_v23.py
--train-backdoor`). None of the reference code lives in this repository: it is imported at run time from
--reference (a checkout of kamwoh/DeepIPR), and its training steps are the reference's own
`experiments.trainer.Trainer.train` / `experiments.trainer_private.TrainerPrivate.train`.

    .venv/bin/python Tools/reference/deepipr_side_by_side.py --reference DIR \
        --data Fixtures/cifar10_subset --seed 1
    # V3 and trigger-set accuracy for every model (needs Pillow):
    .venv/bin/python Tools/reference/deepipr_side_by_side.py --reference DIR \
        --models baseline,v2,v3 --trigger-set Fixtures/trigger_set --seed 1

Recipe: batch 64 (drop_last, as the reference's loader), SGD lr 0.01 momentum 0.9 weight decay 1e-4 (the
reference's optimizer), MultiStepLR gamma 0.1 at 50 % / 75 % of the epochs (the reference's lr_configs/default.json
is 200 epochs with steps 100/150). Baseline 15 epochs from scratch; V1 and V2 6 epochs each, warm-started from the
baseline's final weights by copying every tensor whose name and shape match (conv weights, BN running stats,
non-passport BN affine, classifier). Passport config passport_configs/alexnet_passport.json (layers 4, 5, 6),
key type random, sign loss 0.1, norm bn. One JSON object per model on stdout; progress on stderr.

V3 is warm-started like V2 (--v3-epochs, default --passport-epochs) and is V2's recipe plus the reference's
trigger loader: `dataset.prepare_wm` gives DataLoader(batch_size=2, shuffle=True, drop_last=True) over images that
went through CenterCrop(32) (no resize), ToTensor and the ImageNet Normalize only, no augmentation; and
`TrainerPrivate.train` concatenates one such batch to every training batch, for both the public (ind=0) and the
private (ind=1) forward, restarting the trigger iterator at each epoch. --trigger-batch changes that 2. Trigger
accuracy is measured as the reference's `TrainerPrivate.test(wm_data)` does it (eval mode, both paths), but over
all 100 triggers whatever --trigger-batch is (the reference's drop_last loader would skip the remainder).

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


def read_trigger_set(root):
    """Trigger images as the reference's WMDataset + prepare_wm see them: PIL decode (by content: two of the
    files are PNGs named .jpg) and convert('RGB'), torchvision CenterCrop(32) offsets, /255, ImageNet normalise.
    Labels: line i of labels-cifar.txt goes with the i-th file in lexicographic name order (1, 10, 100, 11, ...),
    the WatermarkNN pairing. The reference pairs by unsorted os.listdir() order, which depends on the
    filesystem; sorting is the pairing it was meant to have."""
    from PIL import Image

    names = sorted(os.listdir(os.path.join(root, "pics")))
    labels = np.loadtxt(os.path.join(root, "labels-cifar.txt")).astype(np.int64)
    assert len(names) == len(labels), (len(names), len(labels))
    images = np.empty((len(names), 3, 32, 32), dtype=np.float32)
    for i, name in enumerate(names):
        with open(os.path.join(root, "pics", name), "rb") as f:
            img = Image.open(f).convert("RGB")
        w, h = img.size
        top, left = int(round((h - 32) / 2.0)), int(round((w - 32) / 2.0))  # torchvision center_crop
        crop = np.asarray(img.crop((left, top, left + 32, top + 32)), dtype=np.uint8)
        images[i] = crop.transpose(2, 0, 1).astype(np.float32) / 255.0
    return torch.from_numpy(normalize(images)), torch.from_numpy(labels)


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


def run_epochs(trainer, loader, epochs, opt, tag, eval_fn, wm_loader=None, trigger_fn=None):
    hist = []
    for ep in range(1, epochs + 1):
        lr = opt.param_groups[0]["lr"]
        with contextlib.redirect_stdout(sys.stderr):
            m = trainer.train(ep, loader, wm_loader)
        row = {"epoch": ep, "lr": lr, "train_loss": round(m["loss"], 4),
               "sign_loss": round(float(m["sign_loss"]), 4), "sign_acc_train": round(m["sign_acc"], 4),
               "test_acc": eval_fn()}
        if trigger_fn is not None:  # the reference evaluates the wm set after every V3 epoch too
            row["trigger_acc"] = trigger_fn()
        hist.append(row)
        print(f"[{tag}] epoch {ep}/{epochs} lr {lr:g} loss {m['loss']:.4f} test {row['test_acc']}"
              + (f" trigger {row['trigger_acc']}" if trigger_fn is not None else ""), file=sys.stderr)
    return hist


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", required=True)
    ap.add_argument("--data", default="Fixtures/cifar10_subset")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--baseline-epochs", type=int, default=15)
    ap.add_argument("--passport-epochs", type=int, default=6)
    ap.add_argument("--v3-epochs", type=int, default=None, help="default: --passport-epochs")
    ap.add_argument("--trigger-set", default=None,
                    help="trigger set folder (pics/ + labels-cifar.txt); needed for v3, and adds trigger "
                         "accuracy to every model's row")
    ap.add_argument("--trigger-batch", type=int, default=2, help="triggers per training batch (prepare_wm: 2)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--random-passports", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="baseline,v1,v2", help="comma list of baseline, v1, v2, v3")
    args = ap.parse_args()
    wanted = args.models.split(",")
    if "v3" in wanted and not args.trigger_set:
        ap.error("v3 needs --trigger-set")
    if args.v3_epochs is None:
        args.v3_epochs = args.passport_epochs

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
    if args.trigger_set:
        wm_x, wm_y = read_trigger_set(args.trigger_set)

    def trigger_accs(model, both_paths=False):
        """Eval-mode accuracy on all triggers, per path (ind=0 public, ind=1 private) for the private models;
        {} without a trigger set, so that every row can take **trigger_accs(...)."""
        if not args.trigger_set:
            return {}
        if not both_paths:
            return {"trigger_acc": evaluate(model, wm_x, wm_y)}
        return {f"trigger_acc_{p}": evaluate(model, wm_x, wm_y, ind=i) for i, p in enumerate(("public", "private"))}

    pconf = json.load(open(os.path.join(ref, "passport_configs", "alexnet_passport.json")))
    pkw = construct_passport_kwargs_from_dict({"passport_config": pconf, "norm_type": "bn",
                                               "key_type": "random", "sl_ratio": 0.1})

    def make_opt(model, epochs):
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
        ms = [m for m in (epochs // 2, epochs * 3 // 4) if m > 0]
        return opt, torch.optim.lr_scheduler.MultiStepLR(opt, ms, 0.1), ms

    common = {"engine": "torch-reference-deepipr", "seed": args.seed, "train": len(tr_y), "test": len(te_y),
              "batch": args.batch_size, "threads": args.threads, "torch": torch.__version__}

    # ---------------- baseline ----------------
    t0 = time.time()
    base = AlexNetNormal(3, 10, "bn")
    opt, sch, ms = make_opt(base, args.baseline_epochs)
    hist = run_epochs(Trainer(base, opt, sch, dev), loader, args.baseline_epochs, opt, "baseline",
                      lambda: evaluate(base, te_x, te_y))
    print(json.dumps({**common, "model": "baseline", "epochs": args.baseline_epochs, "milestones": ms,
                      "test_acc": hist[-1]["test_acc"], "best_test_acc": max(h["test_acc"] for h in hist),
                      **trigger_accs(base), "seconds": round(time.time() - t0, 1), "history": hist}), flush=True)

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
                          "test_acc": real, **trigger_accs(v1), "sign_detection": float(np.mean(det)),
                          "diagnostics": {"test_acc_bn_batch_stats": evaluate(v1, te_x, te_y, batch_stats=True)},
                          "sign_detection_per_layer": det,
                          "random_passport_acc_mean": float(np.mean(accs)),
                          "random_passport_acc_max": float(np.max(accs)), "random_passport_accs": accs,
                          "warm_start_skipped": skipped, "seconds": round(time.time() - t0, 1),
                          "history": hist}), flush=True)

    # ---------------- V2 / V3 ----------------
    def run_private(tag, epochs, wm_loader=None):
        """V2, or V3 when wm_loader is given: the same warm start, trainer and report; V3 only adds the
        trigger batches to training and the trigger accuracy to each epoch's history."""
        t0 = time.time()
        model = AlexNetPassportPrivate(3, 10, pkw)
        copied, skipped = copy_matching(model, base)
        opt, sch, ms = make_opt(model, epochs)
        hist = run_epochs(TrainerPrivate(model, opt, sch, dev), loader, epochs, opt, tag,
                          lambda: [evaluate(model, te_x, te_y, ind=0), evaluate(model, te_x, te_y, ind=1)],
                          wm_loader, (lambda: trigger_accs(model, both_paths=True)) if wm_loader else None)
        blocks = [m for m in model.modules() if isinstance(m, PassportPrivateBlock)]
        with torch.no_grad():
            model.eval()
            det = [(b.get_scale(ind=1).view(-1).sign() == b.b).float().mean().item() for b in blocks]
        pub = evaluate(model, te_x, te_y, ind=0)
        priv = evaluate(model, te_x, te_y, ind=1)
        trig = trigger_accs(model, both_paths=True)
        diag = {"test_acc_public_bn_batch_stats": evaluate(model, te_x, te_y, batch_stats=True, ind=0),
                "test_acc_private_bn_batch_stats": evaluate(model, te_x, te_y, batch_stats=True, ind=1)}
        with torch.no_grad():
            diag["mean_abs_scale_public"] = [b.scale.abs().mean().item() for b in blocks]
            diag["mean_abs_scale_private"] = [b.get_scale(ind=1).abs().mean().item() for b in blocks]
        accs = random_passport_accs(model, blocks,
                                    lambda b, _: (b.key_private.clone(), b.skey_private.clone()), ind=1)
        assert evaluate(model, te_x, te_y, ind=1) == priv
        extra = {"trigger_batch": args.trigger_batch} if wm_loader else {}
        print(json.dumps({**common, "model": tag, "epochs": epochs, "milestones": ms, **extra,
                          "test_acc_public": pub, "test_acc_private": priv, **trig,
                          "sign_detection_private": float(np.mean(det)), "sign_detection_per_layer": det,
                          "diagnostics": diag,
                          "random_passport_acc_mean": float(np.mean(accs)),
                          "random_passport_acc_max": float(np.max(accs)), "random_passport_accs": accs,
                          "warm_start_skipped": skipped, "seconds": round(time.time() - t0, 1),
                          "history": hist}), flush=True)

    if "v2" in wanted:
        run_private("v2", args.passport_epochs)
    if "v3" in wanted:
        # prepare_wm's loader semantics; its shuffle draws from torch's global RNG, as the reference's does
        wm_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(wm_x, wm_y),
                                                batch_size=args.trigger_batch, shuffle=True, drop_last=True)
        run_private("v3", args.v3_epochs, wm_loader)


if __name__ == "__main__":
    main()
