"""The REFERENCE DeepIPR PyTorch code (github.com/kamwoh/DeepIPR) on the FULL Fashion-MNIST, with the recipe of
our `Tools/bench/real-scale` rows (BENCHMARKS.md, "Protection at real accuracy"), so that the two can be put side
by side. None of the reference code lives in this repository: it is imported at run time from --reference (a
checkout of kamwoh/DeepIPR); the models are its AlexNetNormal / AlexNetPassportPrivate / AlexNetPassport, trained
by its own `experiments.trainer.Trainer.train` / `experiments.trainer_private.TrainerPrivate.train`, and fake2 is
deepipr_attacks_side_by_side.py's `attack_fake2` (passport_attack_2.py's run_attack_2 with its own train / test).

    git clone https://github.com/kamwoh/DeepIPR DIR && git -C DIR checkout d822634   # never copied here
    python3 -m venv .venv && .venv/bin/pip install torch numpy                       # CPU torch is enough
    .venv/bin/python Tools/reference/deepipr_real_scale.py --reference DIR --cache runs/reference-real-scale.pt \
        > runs/reference-real-scale.jsonl
    # quick run (first 2,000 training images, 500 test images, one epoch each):
    .venv/bin/python Tools/reference/deepipr_real_scale.py --reference DIR --threads 1 --limit 2000 \
        --eval-limit 500 --epochs 1 --passport-epochs 1 --attack-epochs 1
    # V1 as well:  --rows baseline,v1,v2,fake1,fake2

Rows (one JSON object each on stdout, with its wall "seconds"; progress on stderr):
  baseline  AlexNetNormal(3, 10, 'bn'), --epochs (4) from scratch, seed 1; the best epoch's weights (by test
            accuracy, later epochs winning ties, as our train's best.safetensors) are what the passport models
            start from.
  v1        (optional) AlexNetPassport, --passport-epochs (2) from the baseline's best weights, seed 5.
  v2        AlexNetPassportPrivate, --passport-epochs (2) from the baseline's best weights, seed 4; best epoch
            by the private (passport) path's test accuracy. Sign accuracy: sign(get_scale(ind=1)) against b.
  fake1     on V2's best weights: --fake1-samples (10) random passports (the reference's generate_key: uniform
            [-1, 1], as the owner's random keys), each claimed with the signature it produces (100 % of its bits
            by construction): accuracy on the private path (ind=1), mean / max, and each signature's bit
            difference rate (BDR) to the owner's b.
  fake2     on V2's best weights: AlexNetNormal with V2's weights frozen except the passport layers' BN gamma /
            beta; gamma := sign of the public scale with --flip (50 %) of the signs reversed, beta := 0; then
            --attack-epochs (3) of passport_attack_2.train (SGD lr 0.01 momentum 0.9 wd 5e-4, no scheduler) on
            a random --attacker-fraction (10 %) of the training images (drawn with --attack-seed). The forger's
            accuracy, and its BDR (fraction of bits that differ) to the owner's signature.

Recipe (ours, `iprtool train --dataset fashion-mnist`): Debian's Fashion-MNIST IDX files (--fashion), each
28x28 grey image zero-padded to 32x32 (2 pixels each side), replicated to 3 channels, /255, ImageNet mean / std
-- no augmentation (our DatasetKind.asIs); batch 64, shuffled every epoch, the last partial batch kept (our
DataLoader; --drop-last drops it, as the reference's loaders do); SGD lr 0.01 momentum 0.9 weight decay 1e-4
(TrainingRequest's defaults); MultiStepLR x0.1 at 50 % and 75 % of the epochs; warm start by copying every
tensor whose name and shape match (deepipr_side_by_side.copy_matching); passport config
passport_configs/alexnet_passport.json (layers 4, 5, 6; the same as Fixtures/), random keys, sign loss 0.1, bn.
Training rows report the test accuracy after every epoch on the whole test split (the first --limit test images
with --limit, as `train --limit` does); the best model's accuracy and the attacks are on the first --eval-limit
(2,000) test images, as the real-scale rows are.

--cache FILE: a torch.save of the finished rows and models, and of the training row in progress after every
epoch (model, optimizer, scheduler, random states), so an interrupted run continues where it stopped: the rows
done are printed again from the cache (with "from_cache": true). A row is reused only while the settings it
depends on are unchanged (e.g. a new --attack-epochs redoes fake2 only).

Cost (torch 2.13 CPU, one thread on a busy 2-vCPU AMD EPYC): AlexNetNormal trains at 45 images/s, V1 at 47,
V2 (two forward passes a step) at 22, and evaluation runs at about 150 images/s; so a full-data baseline epoch
is about 23 min, a V2 epoch about 48 min: the default rows about 3.3 h (V1 another 45 min); --threads 2 on an
idle machine should be faster, not measured.

Each row reseeds random / np.random / torch with its own seed, so a row does not depend on the rows before it
(the reference draws b from torch.rand at construction and the random keys from np.random at the first forward).
torchvision, pandas and dataset.py are stubbed as in deepipr_attacks_side_by_side.py.
"""
import argparse
import copy
import json
import os
import sys
import time
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deepipr_attacks_side_by_side import Ref, agreement, attack_fake2, log, quiet, read_idx, seed_all  # noqa: E402
from deepipr_side_by_side import MEAN, STD, copy_matching  # noqa: E402

DEV = torch.device("cpu")
FASHION = "/usr/share/datasets/fashion-mnist"


# ---------------------------------------------------------------- data

def read_fashion_u8(root, split):
    """Images as stored (uint8, N x 28 x 28) and labels; padded and normalised per batch (60,000 float images
    at 32x32x3 would be 737 MB)."""
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz")).astype(np.int64)
    return x, y


def to_input(x):
    """uint8 N x 28 x 28 -> zero-padded to 32 x 32, 3 channels, /255, ImageNet normalisation (our asIs)."""
    img = np.zeros((len(x), 3, 32, 32), dtype=np.float32)
    img[:, :, 2:30, 2:30] = (x.astype(np.float32) / 255.0)[:, None]
    return torch.from_numpy((img - MEAN) / STD)


class FashionLoader:
    """Batches of (normalised images, labels); shuffle draws a fresh order from rng every epoch."""

    def __init__(self, x, y, batch, rng=None, drop_last=False):
        self.x, self.y, self.batch, self.rng, self.drop_last = x, y, batch, rng, drop_last

    def __len__(self):
        n = len(self.y)
        return n // self.batch if self.drop_last else (n + self.batch - 1) // self.batch

    def __iter__(self):
        order = self.rng.permutation(len(self.y)) if self.rng is not None else np.arange(len(self.y))
        for b in range(len(self)):
            idx = order[b * self.batch:(b + 1) * self.batch]
            yield to_input(self.x[idx]), torch.from_numpy(self.y[idx])


@torch.no_grad()
def accuracy(model, x, y, batch_stats=False, **kw):
    """Plain accuracy in % in eval mode; batch_stats=True: a throw-away copy with BN in train mode (each batch
    of 128 normalised by its own statistics), a diagnostic only."""
    model = copy.deepcopy(model).train() if batch_stats else model.eval()
    correct = 0
    for s in range(0, len(y), 128):
        correct += (model(to_input(x[s:s + 128]), **kw).argmax(1) == torch.from_numpy(y[s:s + 128])).sum().item()
    return round(100.0 * correct / len(y), 2)


def divisor_batch(n, most=500):
    """The largest batch <= most that divides n: passport_attack_2.test averages per-batch accuracies, which is
    the plain accuracy only when every batch is full."""
    return max(d for d in range(1, min(n, most) + 1) if n % d == 0)


# ---------------------------------------------------------------- cache

class Cache:
    """rows: tag -> {"key", "row", "model"}; partial: the training row in progress. Saved atomically."""

    def __init__(self, path):
        self.path = path
        self.data = {"rows": {}, "partial": None}
        if path and os.path.exists(path):
            self.data = torch.load(path, weights_only=False)
            log(f"cache {path}: rows done {sorted(self.data['rows'])}"
                + (f", {self.data['partial']['tag']} at epoch {self.data['partial']['epoch']}"
                   if self.data["partial"] else ""))

    def save(self):
        if self.path:
            tmp = self.path + ".tmp"
            torch.save(self.data, tmp)
            os.replace(tmp, self.path)

    def done(self, tag, key):
        r = self.data["rows"].get(tag)
        return r if r is not None and r["key"] == key else None

    def finish(self, tag, key, row, model_sd=None):
        self.data["rows"][tag] = {"key": key, "row": row, "model": model_sd}
        self.data["partial"] = None
        self.save()

    def partial(self, tag, key):
        p = self.data["partial"]
        return p if p is not None and p["tag"] == tag and p["key"] == key else None

    def checkpoint(self, state):
        self.data["partial"] = state
        self.save()


def rng_states(loader_rng):
    import random
    return {"random": random.getstate(), "np": np.random.get_state(), "torch": torch.get_rng_state(),
            "loader": loader_rng.bit_generator.state}


def set_rng_states(s, loader_rng):
    import random
    random.setstate(s["random"])
    np.random.set_state(s["np"])
    torch.set_rng_state(s["torch"])
    loader_rng.bit_generator.state = s["loader"]


# ---------------------------------------------------------------- training rows

def train_row(args, cache, tag, key, seed, epochs, build, trainer_cls, test_fn, select, data):
    """Train `epochs` epochs of the model `build()` makes (after seeding with `seed`) with the reference's
    trainer; resumes from the cache's per-epoch state. Returns (model holding the best weights, best epoch,
    history, seconds, milestones)."""
    seed_all(seed)
    model, extra = build()
    loader_rng = np.random.default_rng(seed)
    loader = FashionLoader(data["train_x"], data["train_y"], args.batch_size, loader_rng, args.drop_last)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=args.weight_decay)
    ms = [m for m in (epochs // 2, epochs * 3 // 4) if m > 0]
    sch = torch.optim.lr_scheduler.MultiStepLR(opt, ms, 0.1)
    trainer = trainer_cls(model, opt, sch, DEV)
    hist, best, best_acc, best_epoch, seconds, start = [], None, -1.0, 0, 0.0, 1
    p = cache.partial(tag, key)
    if p is not None:
        model.load_state_dict(p["model"])
        opt.load_state_dict(p["opt"])
        sch.load_state_dict(p["sched"])
        hist, best, best_acc, best_epoch, seconds = p["hist"], p["best"], p["best_acc"], p["best_epoch"], p["seconds"]
        set_rng_states(p["rng"], loader_rng)
        start = p["epoch"] + 1
        log(f"[{tag}] resuming after epoch {p['epoch']}")
    for ep in range(start, epochs + 1):
        t0 = time.time()
        lr = opt.param_groups[0]["lr"]
        with quiet():
            m = trainer.train(ep, loader)
        train_s = time.time() - t0
        row = {"epoch": ep, "lr": lr, "train_loss": round(m["loss"], 4), **test_fn(model),
               "train_seconds": round(train_s, 1), "images_per_second": round(len(loader.y) / train_s, 1)}
        if tag != "baseline":
            row["sign_acc_train"] = round(m["sign_acc"], 4)
        row["seconds"] = round(time.time() - t0, 1)
        seconds += time.time() - t0
        hist.append(row)
        if row[select] >= best_acc or best is None:  # our Trainer: later epochs win ties
            best, best_acc, best_epoch = copy.deepcopy(model.state_dict()), row[select], ep
        log(f"[{tag}] epoch {ep}/{epochs} lr {lr:g} loss {m['loss']:.4f} "
            + " ".join(f"{k} {v}" for k, v in row.items() if k.startswith("test_acc"))
            + f" ({train_s:.0f} s training, {row['images_per_second']} img/s)")
        cache.checkpoint({"tag": tag, "key": key, "epoch": ep, "model": model.state_dict(), "opt": opt.state_dict(),
                          "sched": sch.state_dict(), "hist": hist, "best": best, "best_acc": best_acc,
                          "best_epoch": best_epoch, "seconds": seconds, "rng": rng_states(loader_rng)})
    model.load_state_dict(best)
    return model, extra, best_epoch, hist, seconds, ms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[1:]))
    ap.add_argument("--reference", required=True, help="checkout of kamwoh/DeepIPR")
    ap.add_argument("--reference-commit", default="d822634", help="recorded in the JSON only")
    ap.add_argument("--fashion", default=FASHION, help="Fashion-MNIST IDX (.gz) folder")
    ap.add_argument("--rows", default="baseline,v2,fake1,fake2", help="comma list of baseline, v1, v2, fake1, fake2")
    ap.add_argument("--limit", type=int, default=None, help="train on the first N training images (and test "
                    "each epoch on the first N test images, as `train --limit`)")
    ap.add_argument("--eval-limit", type=int, default=2000, help="test images the best models and attacks are measured on")
    ap.add_argument("--epochs", type=int, default=4, help="baseline epochs")
    ap.add_argument("--passport-epochs", type=int, default=2, help="V1 / V2 epochs from the baseline")
    ap.add_argument("--attack-epochs", type=int, default=3, help="fake2 epochs")
    ap.add_argument("--seed", type=int, default=1, help="baseline seed")
    ap.add_argument("--v2-seed", type=int, default=4)
    ap.add_argument("--v1-seed", type=int, default=5)
    ap.add_argument("--attack-seed", type=int, default=0, help="fake1 / fake2 seed (attacker subset, flips, passports)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--drop-last", action="store_true", help="drop the last partial batch (the reference's loaders)")
    ap.add_argument("--fake1-samples", type=int, default=10)
    ap.add_argument("--flip", type=float, default=0.5, help="fake2: fraction of gamma's signs flipped")
    ap.add_argument("--attacker-fraction", type=float, default=0.1, help="fake2: the attacker's share of the training images")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", default=None, help="torch.save file of finished rows, models and the epoch in progress")
    args = ap.parse_args()
    rows = [r for r in args.rows.split(",") if r]
    for r in rows:
        if r not in ("baseline", "v1", "v2", "fake1", "fake2"):
            ap.error(f"unknown row {r!r}")
    order = [r for r in ("baseline", "v1", "v2", "fake1", "fake2")
             if r in rows or (r == "baseline" and rows != []) or (r == "v2" and ({"fake1", "fake2"} & set(rows)))]

    torch.set_num_threads(args.threads)
    R = Ref(args.reference)
    cache = Cache(args.cache)

    train_x, train_y = read_fashion_u8(args.fashion, "train")
    test_x, test_y = read_fashion_u8(args.fashion, "test")
    if args.limit:
        train_x, train_y = train_x[:args.limit], train_y[:args.limit]
    n_test = min(args.limit or len(test_y), len(test_y))
    data = {"train_x": train_x, "train_y": train_y}
    tx, ty = test_x[:n_test], test_y[:n_test]          # each epoch's test set (as `train`)
    ex, ey = test_x[:args.eval_limit], test_y[:args.eval_limit]  # the verification / attack set

    common = {"engine": "torch-reference-deepipr", "reference_commit": args.reference_commit, "dataset": "fashion-mnist",
              "train": len(train_y), "test": n_test, "eval": len(ey), "batch": args.batch_size,
              "drop_last": args.drop_last, "threads": args.threads, "torch": torch.__version__}
    recipe = (args.limit, args.batch_size, args.lr, args.weight_decay, args.drop_last)
    keys = {"baseline": ("baseline", recipe, args.epochs, args.seed)}
    keys["v1"] = ("v1", keys["baseline"], args.passport_epochs, args.v1_seed, args.eval_limit)
    keys["v2"] = ("v2", keys["baseline"], args.passport_epochs, args.v2_seed, args.eval_limit)
    keys["fake1"] = ("fake1", keys["v2"], args.eval_limit, args.fake1_samples, args.attack_seed)
    keys["fake2"] = ("fake2", keys["v2"], args.eval_limit, args.attack_epochs, args.flip, args.attacker_fraction,
                     args.attack_seed)

    pconf_path = os.path.join(R.root, "passport_configs", "alexnet_passport.json")
    pkw = R.eu.construct_passport_kwargs_from_dict({"passport_config": json.load(open(pconf_path)), "norm_type": "bn",
                                                    "key_type": "random", "sl_ratio": 0.1})
    models = {}

    def emit(tag, row, from_cache):
        print(json.dumps({**common, "row": tag, "from_cache": from_cache, **row}), flush=True)

    def load_model(tag, sd):
        if tag == "baseline":
            m = R.AlexNetNormal(3, 10, "bn")
        else:
            m = (R.AlexNetPassport if tag == "v1" else R.AlexNetPassportPrivate)(3, 10, pkw)
        m.load_state_dict(sd)
        return m.eval()

    for tag in order:
        key = keys[tag]
        hit = cache.done(tag, key)
        if hit is not None:
            if tag in rows:
                emit(tag, hit["row"], True)
            if hit["model"] is not None:
                models[tag] = load_model(tag, hit["model"])
            continue
        t0 = time.time()
        if tag == "baseline":
            model, _, best_epoch, hist, secs, ms = train_row(
                args, cache, tag, key, args.seed, args.epochs, lambda: (R.AlexNetNormal(3, 10, "bn"), None),
                R.Trainer, lambda m: {"test_acc": accuracy(m, tx, ty)}, "test_acc", data)
            t_trained = time.time()
            row = {"model": "AlexNetNormal", "epochs": args.epochs, "seed": args.seed, "milestones": ms,
                   "test_acc": hist[-1]["test_acc"], "best_epoch": best_epoch,
                   "best_test_acc": hist[best_epoch - 1]["test_acc"], "eval_acc": accuracy(model, ex, ey)}
        elif tag in ("v1", "v2"):
            base = models["baseline"]
            private = tag == "v2"

            def build():
                m = (R.AlexNetPassportPrivate if private else R.AlexNetPassport)(3, 10, pkw)
                _, skipped = copy_matching(m, base)
                return m, skipped

            def test_fn(m):
                if private:
                    return {"test_acc_private": accuracy(m, tx, ty, ind=1), "test_acc_public": accuracy(m, tx, ty, ind=0)}
                return {"test_acc": accuracy(m, tx, ty)}

            select = "test_acc_private" if private else "test_acc"
            model, skipped, best_epoch, hist, secs, ms = train_row(
                args, cache, tag, key, args.v2_seed if private else args.v1_seed, args.passport_epochs, build,
                R.TrainerPrivate if private else R.Trainer, test_fn, select, data)
            t_trained = time.time()
            blocks = R.blocks(model)
            with torch.no_grad():
                model.eval()
                det = [(b.get_scale(ind=1) if private else b.get_scale()).view(-1).sign().eq(b.b).float().mean().item()
                       for b in blocks]
            bits = sum(b.b.numel() for b in blocks)
            row = {"model": "AlexNetPassportPrivate" if private else "AlexNetPassport", "epochs": args.passport_epochs,
                   "seed": args.v2_seed if private else args.v1_seed, "milestones": ms,
                   "warm_start": "baseline best epoch", "warm_start_skipped": skipped, "best_epoch": best_epoch,
                   "best_by": select, "sign_accuracy": sum(d * b.b.numel() for d, b in zip(det, blocks)) / bits,
                   "sign_accuracy_per_layer": [round(d, 4) for d in det], "signature_bits": bits}
            if private:
                row.update({"test_acc_private": hist[-1]["test_acc_private"], "test_acc_public": hist[-1]["test_acc_public"],
                            "best_test_acc_private": hist[best_epoch - 1]["test_acc_private"],
                            "best_test_acc_public": hist[best_epoch - 1]["test_acc_public"],
                            "eval_acc_private": accuracy(model, ex, ey, ind=1),
                            "eval_acc_public": accuracy(model, ex, ey, ind=0),
                            "diagnostics": {
                                "eval_acc_private_bn_batch_stats": accuracy(model, ex, ey, batch_stats=True, ind=1),
                                "eval_acc_public_bn_batch_stats": accuracy(model, ex, ey, batch_stats=True, ind=0),
                                "mean_abs_scale_public": [round(b.scale.abs().mean().item(), 4) for b in blocks],
                                "mean_abs_scale_private": [round(b.get_scale(ind=1).abs().mean().item(), 4)
                                                           for b in blocks]}})
            else:
                row.update({"test_acc": hist[-1]["test_acc"], "best_test_acc": hist[best_epoch - 1]["test_acc"],
                            "eval_acc": accuracy(model, ex, ey)})
        elif tag == "fake1":
            model = models["v2"]
            seed_all(args.attack_seed)
            blocks = R.blocks(model)
            owner_b = [b.b.clone() for b in blocks]
            saved = [(b.key_private.clone(), b.skey_private.clone()) for b in blocks]
            accs, bdrs = [], []
            for k in range(args.fake1_samples):
                for b in blocks:
                    shp = b.get_bias_key().shape
                    b.set_key(torch.tensor(b.generate_key(*shp), dtype=torch.float32),
                              torch.tensor(b.generate_key(*shp), dtype=torch.float32))
                with torch.no_grad():
                    claimed = [b.get_scale(ind=1).view(-1).sign() for b in blocks]  # the forger's signature
                accs.append(accuracy(model, ex, ey, ind=1))
                bdrs.append(round(1 - agreement(claimed, owner_b), 4))
                log(f"[fake1] passport {k + 1}/{args.fake1_samples}: accuracy {accs[-1]} BDR to the owner {bdrs[-1]}")
            for b, (kk, ss) in zip(blocks, saved):
                b.set_key(kk, ss)
            row = {"on": "v2 best weights, private path (ind=1)", "samples": args.fake1_samples,
                   "passports": "random: generate_key, uniform [-1, 1]", "seed": args.attack_seed,
                   "claimed_signature_bits_read": 1.0,
                   "owner_eval_acc_private": accuracy(model, ex, ey, ind=1),
                   "acc_mean": round(float(np.mean(accs)), 2), "acc_max": float(np.max(accs)), "accs": accs,
                   "bdr_to_owner_mean": round(float(np.mean(bdrs)), 4), "bdr_to_owner": bdrs}
        elif tag == "fake2":
            model = models["v2"]
            seed_all(args.attack_seed)
            rng = np.random.default_rng(args.attack_seed)
            n_att = max(1, int(round(len(train_y) * args.attacker_fraction)))
            pick = np.sort(rng.permutation(len(train_y))[:n_att])
            fdata = {"train": FashionLoader(train_x[pick], train_y[pick], args.batch_size, rng, args.drop_last),
                     "val": FashionLoader(ex, ey, divisor_batch(len(ey)))}
            fargs = types.SimpleNamespace(flip=args.flip, fake_epochs=args.attack_epochs, v2_attack_norm="bn")
            res = attack_fake2(fargs, R, 2, model.state_dict(), fdata)
            agree, tagree = res.pop("bdr_to_owner"), res.pop("target_bdr_to_owner")
            row = {"on": "v2 best weights (the public scale as gamma's start, as passport_attack_2.py)",
                   "attacker_images": n_att, "seed": args.attack_seed, **res,
                   "bdr_to_owner": round(1 - agree, 4), "bit_agreement_to_owner": round(agree, 4),
                   "target_bdr_to_owner": round(1 - tagree, 4),
                   "owner_eval_acc_private": accuracy(model, ex, ey, ind=1),
                   "owner_eval_acc_public": accuracy(model, ex, ey, ind=0)}
        if tag in ("baseline", "v1", "v2"):
            secs += time.time() - t_trained  # the epochs (over every resumed session) and the evaluations after them
            row.update({"seconds": round(secs, 1),
                        "seconds_per_epoch": round(float(np.mean([h["seconds"] for h in hist])), 1), "history": hist})
            models[tag] = model
            sd = model.state_dict()
        else:
            row["seconds"] = round(time.time() - t0, 1)
            sd = None
        cache.finish(tag, key, row, sd)
        if tag in rows:
            emit(tag, row, False)


if __name__ == "__main__":
    main()
