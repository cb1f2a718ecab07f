"""Side-by-side ATTACK runs of the REFERENCE DeepIPR PyTorch code (github.com/kamwoh/DeepIPR, commit d822634) on
the CIFAR-10 subset: the logic of its pruning_attack.py, flip_attack.py, passport_attack_{1,2,3}.py and of the
--transfer-learning path of train_v1.py, on V1 (AlexNetPassport) and V2 (AlexNetPassportPrivate) models that
the reference's own trainers train here. None of the reference code lives in this repository: it is imported
at run time from --reference (a checkout of kamwoh/DeepIPR). The reference's attack functions are called as
they are (pruning_attack.pruning_resnet / detect_signature / test, flip_attack.flipping / test,
passport_attack_1.load_pretrained / get_passport / test, passport_generator.set_key, passport_attack_2.train /
test, passport_attack_3.train_maximize / test, experiments.utils.load_*_model, experiments.trainer.Trainer,
TesterPrivate.test_signature); only their `main` / `run_attack_*` bodies (which load from disk and need CUDA)
are re-implemented here, each with a comment naming the reference lines it follows.

    .venv/bin/python Tools/reference/deepipr_attacks_side_by_side.py --reference DIR \
        --data Fixtures/cifar10_subset --seed 1 --threads 2 --cache models-seed1.pt
    # a subset, from the cached models:
    .venv/bin/python Tools/reference/deepipr_attacks_side_by_side.py --reference DIR \
        --cache models-seed1.pt --attacks prune,flip --models v1

Models: deepipr_side_by_side.py's recipe and functions, in its order and random streams, so the models are
that script's seed-S models (seed 1: V1 23.0 %, V2 public 26.0 % / private 11.0 %): baseline AlexNetNormal
15 epochs, V1 and V2 6 epochs warm-started from it; batch 64 (drop_last), SGD lr 0.01 momentum 0.9 weight
decay 1e-4, MultiStepLR x0.1 at 50 % / 75 %; passport_configs/alexnet_passport.json (layers 4, 5, 6), random
keys, sign loss 0.1, bn. --cache saves them (torch.save of the state dicts) and reloads them on the next run.

Attacks (each reseeds random / np.random / torch with --seed; one JSON object per attack per model on
stdout, with "seconds"; progress on stderr). Every attacked model is rebuilt from the state dict as the
reference scripts do (attack kwargs: key_type 'shuffle', which only matters for keys that are absent).
Accuracies are on the 200 test images, in %; "detection" is the fraction of all 896 signature bits whose
sign(get_scale(force_passport=True)) equals the block's b (pruning_attack.detect_signature per layer).
  prune   pruning_resnet at 0, 10, ..., 100 %: ONE np.percentile threshold over |every parameter| (1-D ones
          too: BN affine, biases, V2's public scale/bias; the script's weight_prune, which skips 1-D, is
          unused). Accuracy model(d): V2's public path.
  flip    flip_attack.flipping at fraction 0, 0.1, ..., 1: copies the passport's scale/bias into free
          scale/bias parameters (V1: creates them; V2: overwrites the public ones, so even at 0 the 'public'
          path computes the private one) and flips the signs of a random fraction of those scales.
          Accuracy model(d) (V2: that 'public' path); detection through the passport.
  fake1   passport_attack_1.py's default forgery: OTHER IMAGES as passports: 20 random test images (x) and
          20 more (s), sent through load_pretrained('alexnet', 10) = a freshly initialised AlexNetNormal
          without normalisation (its pretrained=True applies only to 1000 classes), one image / one channel
          per passport channel picked at random (passport_selection). --fake1-reps forgeries (the script's
          default 1, attacking.sh 10). Accuracy with the forged passports (V1 model(d); V2 ind=1, as
          run_test does) and the forged signature's BDR (bit agreement) to the owner's b.
  fake2   passport_attack_2.py: AlexNetNormal with the passport model's weights, frozen, except the passport
          layers' BN gamma/beta: gamma := its sign (get_scale(), V2: the public scale) with --flip of the
          bits reversed, beta := 0; then passport_attack_2.train on the attacker's data (the 700 training
          images, RandomCrop+flip as the reference's loader) for --fake-epochs epochs, SGD lr 0.01 momentum
          0.9 weight decay 5e-4, no scheduler (the script's own values). "target kept": sign(gamma) equals
          the flipped signs it started from; BDR: sign(gamma) equals the owner's b.
  fake3   passport_attack_3.py: the owner's passport + N(0, 0.001) noise becomes trainable, weights frozen,
          sign-loss target b with --fake3-flip of its bits reversed; loss CE + sign loss + sum 1/MSE(real,
          fake), grad-norm clip 2, SGD lr 0.01 momentum 0.9 wd 5e-4 on the passports only, --fake-epochs
          epochs. Accuracy V1 model(d), V2 ind=1. target kept / BDR: sign through the fake passport against
          the flipped target / the owner's original b.
  transfer  classification.py transfer_learning (train_v1.py --transfer-learning), V1 only:
          load_passport_model_to_normal_model into an AlexNetNormal, --tl-scheme (ftal: train all layers;
          rtal, the reference's default: reset the classifier first), SGD lr --tl-lr momentum 0.9 wd 5e-4,
          no scheduler (lr_configs/finetune.json has no steps and no lr: the lr is train_v1's --lr 0.01),
          --tl-epochs epochs on Fashion-MNIST (first --tl-limit train / test images, 28 -> 32 zero padding,
          gray -> RGB, ImageNet normalisation; train augmentation RandomHorizontalFlip only, dataset.py's
          is_tl branch); after each epoch load_normal_model_to_passport_model back into V1 and detect.

Where this departs from the reference scripts, and why:
  - CPU, and loaders built here (the scripts build theirs with torchvision and torch.load from disk). The test
    loader is one batch of 200, so the scripts' test() (a mean of per-batch accuracies) is the plain accuracy;
    their 128-image batches would weight the last 72 images more.
  - fake2 / fake3: 10 epochs on 700 images (the scripts: 100 on 50,000). fake3's --fake3-flip defaults to
    0.5 here (the script's default is 0), so fake2 and fake3 run the same flip.
  - norm for V2: flip_attack.py:391 builds the scheme-2 model with GroupNorm passport blocks and
    passport_attack_2.py:144 an AlexNetNormal with GroupNorm, although train_v23.py trains with bn by default
    (and our V2 is bn); on a bn-trained model that swaps the normalisation under the weights, so both use bn
    here. --v2-attack-norm gn runs the scripts literally.
  - transfer: reports both the reference's own check (TesterPrivate.test_signature: for a PassportBlock it
    reads get_scale() WITHOUT force_passport, and after load_normal_model_to_passport_model that is the
    fine-tuned network's BN gamma copied into a free scale, not the passport's output) and the owner's
    passport through the fine-tuned conv weights (detect_signature).
  - fake3: sign_loss.set_b writes into the block's b as well (one shared tensor); BDR uses a copy of b made
    before the flip. The JSON says whether the sharing was seen.

torchvision, pandas and the reference's dataset.py are not needed: stub modules are put into sys.modules
(torchvision.models only for ImageNet weights; pandas only for the CSV logs; dataset.prepare_dataset is
replaced by the loaders here and raises if called).
"""
import argparse
import contextlib
import gzip
import importlib.machinery
import json
import os
import random
import sys
import time
import types

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deepipr_side_by_side import (TrainLoader, copy_matching, evaluate, install_torchvision_stub,  # noqa: E402
                                  normalize, read_cifar, run_epochs)

DEV = torch.device("cpu")
LEVELS = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]  # pruning_attack.py:137, flip_attack.py:413


def quiet():
    """The reference's functions print progress on stdout; stdout carries the JSON here."""
    return contextlib.redirect_stdout(sys.stderr)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def install_stubs():
    install_torchvision_stub()
    tvm = sys.modules["torchvision.models"]
    if not hasattr(tvm, "resnet18"):  # models/resnet_*.py import it (the attack scripts import those)
        def resnet18(*_a, **_k):
            raise RuntimeError("torchvision stub: pretrained ResNet-18 is not available (not needed for AlexNet)")
        tvm.resnet18 = resnet18

    def no_dataset(*_a, **_k):
        raise RuntimeError("dataset stub: the loaders are built by deepipr_attacks_side_by_side.py")

    ds = types.ModuleType("dataset")
    ds.prepare_dataset = ds.prepare_wm = ds.prepare_imagenet = no_dataset
    sys.modules["dataset"] = ds
    try:
        import pandas  # noqa: F401
    except ImportError:  # bound by the attack scripts, used only by their main(); removed after the import
        pd = types.ModuleType("pandas")
        pd.__spec__ = importlib.machinery.ModuleSpec("pandas", None)  # torch's find_spec looks
        sys.modules["pandas"] = pd


class Ref:
    """The reference modules, imported from --reference after the stubs are in place."""

    def __init__(self, root):
        install_stubs()
        self.root = os.path.abspath(root)
        sys.path.insert(0, self.root)
        import experiments.utils as eu
        import flip_attack
        import passport_attack_1
        import passport_attack_2
        import passport_attack_3
        import passport_generator
        import pruning_attack
        from experiments.trainer import Trainer
        from experiments.trainer_private import TesterPrivate, TrainerPrivate
        from models.alexnet_normal import AlexNetNormal
        from models.alexnet_passport import AlexNetPassport
        from models.alexnet_passport_private import AlexNetPassportPrivate
        from models.layers.passportconv2d import PassportBlock
        from models.layers.passportconv2d_private import PassportPrivateBlock
        if getattr(sys.modules.get("pandas"), "__file__", None) is None:
            sys.modules.pop("pandas", None)  # the stub: the attack modules keep their reference
        for name, value in list(locals().items()):
            if name not in ("self", "root"):
                setattr(self, name, value)
        self.pconf = json.load(open(os.path.join(self.root, "passport_configs", "alexnet_passport.json")))

    def kwargs(self, key_type="shuffle", norm="bn"):
        """(passport_kwargs, plkeys) as the attack scripts build them (e.g. pruning_attack.py:117-121)."""
        return self.eu.construct_passport_kwargs_from_dict(
            {"passport_config": self.pconf, "norm_type": norm, "sl_ratio": 0.1, "key_type": key_type}, True)

    def load(self, scheme, sd, norm="bn", strict=True):
        """The attacked model, built and loaded from the state dict as every attack script does."""
        pkw, plkeys = self.kwargs(norm=norm)
        cls = self.AlexNetPassport if scheme == 1 else self.AlexNetPassportPrivate
        model = cls(3, 10, pkw)
        model.load_state_dict(sd, strict=strict)
        return model.to(DEV), plkeys

    def blocks(self, model):
        return [m for m in model.modules() if isinstance(m, (self.PassportBlock, self.PassportPrivateBlock))]


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@torch.no_grad()
def passport_signs(R, model):
    """sign(get_scale(force_passport=True)) per passport layer, as pruning_attack.detect_signature reads it."""
    return [m.get_scale(True).detach().view(-1).sign() for m in R.blocks(model)]


def agreement(a, b):
    """Fraction of all bits (over the layers) where two sign lists agree."""
    return sum((x == y).sum().item() for x, y in zip(a, b)) / sum(x.numel() for x in a)


def owner_detection(R, model, owner_b=None):
    owner_b = owner_b or [m.b for m in R.blocks(model)]
    with torch.no_grad():
        per_layer = R.pruning_attack.detect_signature(model)
    return {"detection": agreement(passport_signs(R, model), owner_b),
            "detection_per_layer": [round(v, 4) for v in per_layer.values()]}


# ---------------------------------------------------------------- data

def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def read_fashion(root, split, limit):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"))[:limit]
    y = read_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz"))[:limit].astype(np.int64)
    img = np.zeros((len(x), 3, 32, 32), dtype=np.float32)
    img[:, :, 2:30, 2:30] = (x.astype(np.float32) / 255.0)[:, None]
    return img, y


class FlipLoader(TrainLoader):
    """The reference's transfer-learning train loader: shuffle, drop_last, RandomHorizontalFlip only."""

    def __iter__(self):
        order = self.rng.permutation(len(self.labels))
        for b in range(len(self)):
            idx = order[b * self.batch:(b + 1) * self.batch]
            x = self.images[idx].copy()
            flip = self.rng.random(len(idx)) < 0.5
            x[flip] = x[flip][:, :, :, ::-1]
            yield torch.from_numpy(normalize(x)), torch.from_numpy(self.labels[idx])


def tensor_loader(x, y, batch):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch, shuffle=False)


# ---------------------------------------------------------------- training (deepipr_side_by_side.py's main)

def train_models(args, R, tr_x, tr_y, te_x, te_y):
    """Baseline, V1, V2 exactly as deepipr_side_by_side.py main() trains them (same order of random draws,
    including its 10 random-passport evaluations of V1, which draw from np.random before V2 is built)."""
    seed_all(args.seed)
    rng = np.random.default_rng(args.seed)
    loader = TrainLoader(tr_x, tr_y, 64, rng)
    pkw, _ = R.kwargs(key_type="random")

    def make_opt(model, epochs):
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
        ms = [m for m in (epochs // 2, epochs * 3 // 4) if m > 0]
        return opt, torch.optim.lr_scheduler.MultiStepLR(opt, ms, 0.1)

    def random_passport_accs(model, blocks, names, **kw):
        saved = [(getattr(b, names[0]).clone(), getattr(b, names[1]).clone()) for b in blocks]
        accs = []
        for _ in range(10):
            for b in blocks:
                shp = b.get_bias_key().shape
                b.set_key(torch.tensor(b.generate_key(*shp), dtype=torch.float32),
                          torch.tensor(b.generate_key(*shp), dtype=torch.float32))
            accs.append(evaluate(model, te_x, te_y, **kw))
        for b, (k, s) in zip(blocks, saved):
            b.set_key(k, s)
        return accs

    info = {}
    t0 = time.time()
    base = R.AlexNetNormal(3, 10, "bn")
    opt, sch = make_opt(base, args.baseline_epochs)
    hist = run_epochs(R.Trainer(base, opt, sch, DEV), loader, args.baseline_epochs, opt, "baseline",
                      lambda: evaluate(base, te_x, te_y))
    info["baseline_test_acc"] = hist[-1]["test_acc"]

    v1 = R.AlexNetPassport(3, 10, pkw)
    copy_matching(v1, base)
    opt, sch = make_opt(v1, args.passport_epochs)
    run_epochs(R.Trainer(v1, opt, sch, DEV), loader, args.passport_epochs, opt, "v1", lambda: evaluate(v1, te_x, te_y))
    info["v1_test_acc"] = evaluate(v1, te_x, te_y)
    info["v1_detection"] = owner_detection(R, v1)["detection"]
    accs = random_passport_accs(v1, R.blocks(v1), ("key", "skey"))
    info["v1_random_passport_acc_mean"] = float(np.mean(accs))

    v2 = R.AlexNetPassportPrivate(3, 10, pkw)
    copy_matching(v2, base)
    opt, sch = make_opt(v2, args.passport_epochs)
    run_epochs(R.TrainerPrivate(v2, opt, sch, DEV), loader, args.passport_epochs, opt, "v2",
               lambda: [evaluate(v2, te_x, te_y, ind=0), evaluate(v2, te_x, te_y, ind=1)])
    info["v2_test_acc_public"] = evaluate(v2, te_x, te_y, ind=0)
    info["v2_test_acc_private"] = evaluate(v2, te_x, te_y, ind=1)
    info["v2_detection_private"] = owner_detection(R, v2)["detection"]
    info["train_seconds"] = round(time.time() - t0, 1)
    return {"seed": args.seed, "baseline_epochs": args.baseline_epochs, "passport_epochs": args.passport_epochs,
            "v1": v1.state_dict(), "v2": v2.state_dict(), "info": info}


# ---------------------------------------------------------------- attacks

def attack_prune(args, R, scheme, sd, data):
    # pruning_attack.py main(), lines 117-148
    model, _ = R.load(scheme, sd)
    crit = nn.CrossEntropyLoss()
    rows = []
    for perc in LEVELS:
        model.load_state_dict(sd)
        R.pruning_attack.pruning_resnet(model, perc)
        det = owner_detection(R, model)
        with quiet():
            res = R.pruning_attack.test(model, crit, data["val"], DEV)
        rows.append({"perc": perc, "acc": round(100 * res["acc"], 2), **det})
        log(f"[prune s{scheme}] {perc}%: acc {rows[-1]['acc']} detection {det['detection']:.4f}")
    return {"levels": rows}


def attack_flip(args, R, scheme, sd, data):
    # flip_attack.py main(), lines 390-429 (norm: see the module docstring)
    norm = "bn" if scheme == 1 else args.v2_attack_norm
    model, plkeys = R.load(scheme, sd, norm=norm, strict=False)
    crit = nn.CrossEntropyLoss()
    rows = []
    for perc in LEVELS:
        model.load_state_dict(sd, strict=False)
        with quiet():
            R.flip_attack.flipping(model, perc / 100, plkeys, "alexnet", DEV)
        det = owner_detection(R, model)
        with torch.no_grad():  # what the flipped free scales now say, against b
            free = [model.features[int(k)].scale.detach().view(-1).sign() for k in plkeys]
            free_bdr = agreement(free, [model.features[int(k)].b for k in plkeys])
        with quiet():
            res = R.flip_attack.test(model, crit, data["val"], DEV)
        rows.append({"flip": perc / 100, "acc": round(100 * res["acc"], 2), **det,
                     "free_scale_sign_agreement_with_b": round(free_bdr, 4)})
        log(f"[flip s{scheme}] {perc / 100}: acc {rows[-1]['acc']} detection {det['detection']:.4f}")
    return {"norm": norm, "levels": rows}


def attack_fake1(args, R, scheme, sd, data):
    # passport_attack_1.py run_attack_1(), lines 239-286
    model, _ = R.load(scheme, sd)
    blocks = R.blocks(model)
    owner_b = [m.b.clone() for m in blocks]
    crit = nn.CrossEntropyLoss()
    ind = 1 if scheme != 1 else 0
    passport_data = data["val_shuffled"]
    with quiet():
        pretrained = R.passport_attack_1.load_pretrained("alexnet", 10).to(DEV)
        before = R.passport_attack_1.test(model, crit, data["val"], DEV, ind)
    accs, bdrs = [], []
    for r in range(args.fake1_reps):
        with quiet():
            x, y = R.passport_attack_1.get_passport(passport_data, DEV)
            R.passport_generator.set_key(pretrained, model, x, y)
            res = R.passport_attack_1.test(model, crit, data["val"], DEV, ind)
        accs.append(round(100 * res["acc"], 2))
        bdrs.append(round(agreement(passport_signs(R, model), owner_b), 4))
        log(f"[fake1 s{scheme}] forgery {r}: acc {accs[-1]} BDR {bdrs[-1]}")
    return {"passports": "other images: 20 + 20 random test images through a freshly initialised "
                         "AlexNetNormal(norm 'none'), passport_selection per channel",
            "path": "model(d)" if ind == 0 else "ind=1 (private)", "reps": args.fake1_reps,
            "acc_real_passport": round(100 * before["acc"], 2),
            "acc_forged_mean": float(np.mean(accs)), "acc_forged_max": float(np.max(accs)), "acc_forged": accs,
            "bdr_to_owner_mean": float(np.mean(bdrs)), "bdr_to_owner": bdrs}


def attack_fake2(args, R, scheme, sd, data):
    # passport_attack_2.py run_attack_2(), lines 143-322 (norm for scheme 2: see the module docstring)
    norm = "bn" if scheme == 1 else args.v2_attack_norm
    model = R.AlexNetNormal(3, 10, norm)
    passport_model, plkeys = R.load(scheme, sd)
    model.load_state_dict(sd, strict=False)
    model = model.to(DEV)
    for p in model.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        for fidx in map(int, plkeys):
            model.features[fidx].bn.weight.data.copy_(passport_model.features[fidx].get_scale().view(-1))
            model.features[fidx].bn.bias.data.copy_(passport_model.features[fidx].get_bias().view(-1))
            model.features[fidx].bn.weight.requires_grad_(True)
            model.features[fidx].bn.bias.requires_grad_(True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=0.0005)
    crit = nn.CrossEntropyLoss()
    ws = []
    for fidx in map(int, plkeys):  # lines 228-241
        ws.append(model.features[fidx].bn.weight)
        model.features[fidx].bn.bias.data.zero_()
    total = sum(w.size(0) for w in ws)
    idxs = torch.randperm(total)[:int(total * args.flip)]  # lines 261-285
    for w in ws:
        size = w.size(0)
        widxs = idxs[(idxs - size) < 0]
        newsign = w.data.sign().clone()
        newsign[widxs] *= -1
        w.data.copy_(newsign)
        idxs = idxs[(idxs - size) >= 0] - size
    target = [w.detach().sign().clone() for w in ws]
    owner_b = [passport_model.features[int(k)].b.clone() for k in plkeys]
    with quiet():
        before = R.passport_attack_2.test(model, crit, data["val"], DEV)
    hist = []
    for ep in range(1, args.fake_epochs + 1):  # lines 296-316
        with quiet():
            tr = R.passport_attack_2.train(model, optimizer, crit, data["train"], DEV)
            va = R.passport_attack_2.test(model, crit, data["val"], DEV)
        signs = [w.detach().sign() for w in ws]
        hist.append({"epoch": ep, "train_loss": round(tr["loss"], 4), "acc": round(100 * va["acc"], 2),
                     "target_kept": round(agreement(signs, target), 4)})
        log(f"[fake2 s{scheme}] epoch {ep}: acc {hist[-1]['acc']} target kept {hist[-1]['target_kept']}")
    signs = [w.detach().sign() for w in ws]
    return {"norm": norm, "flip": args.flip, "epochs": args.fake_epochs,
            "optimizer": "SGD lr 0.01 momentum 0.9 wd 5e-4, no scheduler, BN gamma/beta of layers 4-6 only",
            "start_gamma_from": "get_scale() (V1: the passport's; V2: the public scale)",
            "acc_before_training": round(100 * before["acc"], 2), "acc": hist[-1]["acc"],
            "target_kept": agreement(signs, target), "bdr_to_owner": agreement(signs, owner_b),
            "target_bdr_to_owner": agreement(target, owner_b), "history": hist}


def attack_fake3(args, R, scheme, sd, data):
    # passport_attack_3.py run_maximize(), lines 211-357
    model, _ = R.load(scheme, sd)
    for p in model.parameters():
        p.requires_grad_(False)
    passblocks, orig, fake = [], [], []
    keyname, skeyname = ("key", "skey") if scheme == 1 else ("key_private", "skey_private")
    for m in R.blocks(model):
        passblocks.append(m)
        key, skey = getattr(m, keyname).data.clone(), getattr(m, skeyname).data.clone()
        orig += [key, skey]
        m.__delattr__(keyname)
        m.__delattr__(skeyname)
        m.register_parameter(keyname, nn.Parameter(key.clone() + torch.randn(*key.size()) * 0.001))
        m.register_parameter(skeyname, nn.Parameter(skey.clone() + torch.randn(*skey.size()) * 0.001))
        fake += [getattr(m, keyname), getattr(m, skeyname)]
    owner_b = [m.b.clone() for m in passblocks]
    losses = [m.sign_loss if scheme == 1 else m.sign_loss_private for m in passblocks]
    b_shared = all(sl.b.data_ptr() == m.b.data_ptr() for sl, m in zip(losses, passblocks))
    if args.fake3_flip != 0:  # lines 245-263
        for sl in losses:
            oldb = sl.b
            newb = oldb.clone()
            randomidx = np.random.choice(np.arange(len(oldb)), int(oldb.view(-1).size(0) * args.fake3_flip),
                                         replace=False)
            newb[randomidx] = oldb[randomidx] * -1
            sl.set_b(newb)
    target = [sl.b.clone() for sl in losses]
    optimizer = torch.optim.SGD(fake, lr=0.01, momentum=0.9, weight_decay=0.0005)
    crit = nn.CrossEntropyLoss()

    def cs_mse():  # run_cs() and the MSE print, lines 282-307
        with torch.no_grad():
            cs = [F.cosine_similarity(a.view(a.size(0), -1), b.view(b.size(0), -1)).item() for a, b in zip(orig, fake)]
            mse = sum(F.mse_loss(a, b).item() for a, b in zip(orig, fake)) / len(orig)
        return float(np.mean(cs)), mse

    with quiet():
        before = R.passport_attack_3.test(model, crit, data["val"], DEV, scheme)
    hist = []
    for ep in range(1, args.fake_epochs + 1):  # lines 322-352
        with quiet():
            tr = R.passport_attack_3.train_maximize(orig, fake, model, optimizer, crit, data["train"], DEV, scheme)
            va = R.passport_attack_3.test(model, crit, data["val"], DEV, scheme)
        cs, mse = cs_mse()
        signs = passport_signs(R, model)
        hist.append({"epoch": ep, "train_loss": round(tr["loss"], 4), "acc": round(100 * va["acc"], 2),
                     "target_kept": round(agreement(signs, target), 4), "cosine_similarity": round(cs, 6),
                     "mse": round(mse, 6)})
        log(f"[fake3 s{scheme}] epoch {ep}: acc {hist[-1]['acc']} target kept {hist[-1]['target_kept']} "
            f"cs {cs:.5f} mse {mse:.5f}")
    signs = passport_signs(R, model)
    return {"flip": args.fake3_flip, "epochs": args.fake_epochs, "path": "model(d)" if scheme == 1 else "ind=1",
            "optimizer": "SGD lr 0.01 momentum 0.9 wd 5e-4 on the passports, grad-norm clip 2, no scheduler",
            "acc_before_training": round(100 * before["acc"], 2), "acc": hist[-1]["acc"],
            "target_kept": agreement(signs, target), "bdr_to_owner": agreement(signs, owner_b),
            "target_bdr_to_owner": agreement(target, owner_b), "sign_loss_b_is_block_b": b_shared, "history": hist}


def attack_transfer(args, R, scheme, sd, data):
    # classification.py transfer_learning(), lines 142-263, for V1 (train_v1.py --transfer-learning)
    model, plkeys = R.load(scheme, sd)
    tl = R.AlexNetNormal(3, 10, "bn").to(DEV)
    R.eu.load_passport_model_to_normal_model("alexnet", plkeys, model, tl)
    if args.tl_scheme == "rtal":
        tl.classifier.reset_parameters()
    opt = torch.optim.SGD(tl.parameters(), lr=args.tl_lr, momentum=0.9, weight_decay=0.0005)
    trainer = R.Trainer(tl, opt, None, DEV)
    tester_passport = R.TesterPrivate(model, DEV)
    hist = []
    for ep in range(1, args.tl_epochs + 1):
        with quiet():
            tr = trainer.train(ep, data["fm_train"])
            va = trainer.test(data["fm_test"])
            R.eu.load_normal_model_to_passport_model("alexnet", plkeys, model, tl)
            ref_sig = tester_passport.test_signature()
        det = owner_detection(R, model)
        hist.append({"epoch": ep, "train_loss": round(tr["loss"], 4), "acc_fashion": round(va["acc"], 2),
                     "detection_reference_test_signature": round(float(np.mean(list(ref_sig.values()))), 4),
                     "detection_owner_passport": round(det["detection"], 4)})
        log(f"[transfer] epoch {ep}: fashion acc {va['acc']:.2f} reference test_signature "
            f"{hist[-1]['detection_reference_test_signature']} owner passport {det['detection']:.4f}")
    return {"tl_scheme": args.tl_scheme, "epochs": args.tl_epochs, "lr": args.tl_lr,
            "fashion_train": len(data["fm_train"].labels), "fashion_test": len(data["fm_test"].dataset),
            "acc_fashion": hist[-1]["acc_fashion"],
            "detection_owner_passport": hist[-1]["detection_owner_passport"],
            "detection_reference_test_signature": hist[-1]["detection_reference_test_signature"],
            "history": hist}


ATTACKS = {"prune": attack_prune, "flip": attack_flip, "fake1": attack_fake1, "fake2": attack_fake2,
           "fake3": attack_fake3, "transfer": attack_transfer}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", required=True, help="checkout of kamwoh/DeepIPR")
    ap.add_argument("--reference-commit", default="d822634", help="recorded in the JSON only")
    ap.add_argument("--data", default="Fixtures/cifar10_subset")
    ap.add_argument("--fashion", default="/usr/share/datasets/fashion-mnist", help="Fashion-MNIST IDX (.gz)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", default=None, help="torch.save file of the trained models (read if present)")
    ap.add_argument("--models", default="v1,v2")
    ap.add_argument("--attacks", default=",".join(ATTACKS))
    ap.add_argument("--baseline-epochs", type=int, default=15)
    ap.add_argument("--passport-epochs", type=int, default=6)
    ap.add_argument("--fake1-reps", type=int, default=5)
    ap.add_argument("--fake-epochs", type=int, default=10, help="fake2 / fake3 epochs (the reference: 100)")
    ap.add_argument("--flip", type=float, default=0.5, help="fake2 flip fraction (passport_attack_2 --flipperc)")
    ap.add_argument("--fake3-flip", type=float, default=0.5, help="fake3 flip fraction (the script's default: 0)")
    ap.add_argument("--v2-attack-norm", default="bn", choices=["bn", "gn"],
                    help="norm of the V2 flip / fake2 models (the scripts: gn)")
    ap.add_argument("--tl-scheme", default="ftal", choices=["ftal", "rtal"])
    ap.add_argument("--tl-epochs", type=int, default=5)
    ap.add_argument("--tl-lr", type=float, default=0.01)
    ap.add_argument("--tl-limit", type=int, default=2000)
    args = ap.parse_args()
    wanted_models = [m for m in args.models.split(",") if m]
    wanted = [a for a in args.attacks.split(",") if a]
    for a in wanted:
        if a not in ATTACKS:
            ap.error(f"unknown attack {a!r}; choose from {','.join(ATTACKS)}")
    for m in wanted_models:
        if m not in ("v1", "v2"):
            ap.error(f"unknown model {m!r}; choose from v1,v2")

    torch.set_num_threads(args.threads)
    R = Ref(args.reference)

    binroot = None
    for dirpath, _, files in os.walk(args.data):
        if "data_batch_1.bin" in files:
            binroot = dirpath
            break
    tr_x, tr_y = read_cifar(os.path.join(binroot, "data_batch_1.bin"))
    te_x, te_y = read_cifar(os.path.join(binroot, "test_batch.bin"))
    te_x = torch.from_numpy(normalize(te_x))
    te_y = torch.from_numpy(te_y)

    common = {"engine": "torch-reference-deepipr", "reference_commit": args.reference_commit, "seed": args.seed,
              "threads": args.threads, "torch": torch.__version__, "train": len(tr_y), "test": len(te_y)}

    cached = None
    if args.cache and os.path.exists(args.cache):
        cached = torch.load(args.cache, weights_only=False)
        if (cached["seed"], cached["baseline_epochs"], cached["passport_epochs"]) != (
                args.seed, args.baseline_epochs, args.passport_epochs):
            log(f"cache {args.cache} is for other settings; retraining")
            cached = None
    t0 = time.time()
    from_cache = cached is not None
    if cached is None:
        cached = train_models(args, R, tr_x, tr_y, te_x, te_y)
        if args.cache:
            torch.save(cached, args.cache)
    print(json.dumps({**common, "attack": "train", "from_cache": from_cache,
                      "baseline_epochs": cached["baseline_epochs"], "passport_epochs": cached["passport_epochs"],
                      **cached["info"], "seconds": round(time.time() - t0, 1)}), flush=True)

    data = {"val": tensor_loader(te_x, te_y, len(te_y)),
            "val_shuffled": tensor_loader(te_x, te_y, len(te_y))}  # get_key samples indices of .dataset
    if "transfer" in wanted and "v1" in wanted_models:
        fx, fy = read_fashion(args.fashion, "train", args.tl_limit)
        gx, gy = read_fashion(args.fashion, "test", args.tl_limit)
        data["fm_test"] = tensor_loader(torch.from_numpy(normalize(gx)), torch.from_numpy(gy), 128)
        data["fm_train_arrays"] = (fx, fy)

    for tag in wanted_models:
        scheme = 1 if tag == "v1" else 2
        for attack in wanted:
            if attack == "transfer" and scheme != 1:
                log("[transfer] V1 only (the V2 path, classification_private.py, is not run here)")
                continue
            seed_all(args.seed)
            rng = np.random.default_rng(args.seed)
            data["train"] = TrainLoader(tr_x, tr_y, 64, rng)
            if "fm_train_arrays" in data:
                data["fm_train"] = FlipLoader(*data["fm_train_arrays"], 64, rng)
            t1 = time.time()
            res = ATTACKS[attack](args, R, scheme, cached[tag], data)
            print(json.dumps({**common, "attack": attack, "model": tag, **res,
                              "seconds": round(time.time() - t1, 1)}), flush=True)


if __name__ == "__main__":
    main()
