"""What train_hart.py and train_lpd.py share: the command line's common flags, seeding and device
set-up, the shapes data set, the time- and step-bounded stage loop with its warmup + cosine learning
rate, the training log, and small image helpers."""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "dataset"))
import shapes  # noqa: E402


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------ command line and set-up
def add_common_args(ap, n, stages, cut_stage):
    """The flags both trainers take; stages: (prefix, seconds, batch size, learning rate) per stage,
    each giving --PREFIX-seconds, --PREFIX-bs and --PREFIX-lr; cut_stage: the stage --budget shortens."""
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--n", type=int, default=n, help="training images")
    ap.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1))
    for prefix, seconds, bs, lr in stages:
        ap.add_argument(f"--{prefix}-seconds", type=float, default=seconds)
        ap.add_argument(f"--{prefix}-bs", type=int, default=bs)
        ap.add_argument(f"--{prefix}-lr", type=float, default=lr)
    ap.add_argument("--budget", type=float, default=None, help=f"whole run in seconds: the {cut_stage} stage is cut to fit")
    ap.add_argument("--max-steps", type=int, default=None, help="stop each stage after this many steps")
    ap.add_argument("--smoke", action="store_true", help="tiny run: 16 images, 2 steps per stage, small widths")


def setup(a):
    """Seeds torch and numpy from --seed, allows TF32, makes --out; --smoke: 16 images, batch size 2
    and 2 steps in every stage, 2 threads. Returns the torch device and the run's info dict (the
    log's header)."""
    torch.manual_seed(a.seed)
    np.random.seed(a.seed % (1 << 31))
    dev = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    if a.smoke:
        torch.set_num_threads(min(2, torch.get_num_threads()))
        a.n, a.max_steps = 16, 2
        for k in vars(a):
            if k.endswith("_bs"):
                setattr(a, k, 2)
    os.makedirs(a.out, exist_ok=True)
    info = dict(seed=a.seed, n=a.n, device=str(dev), torch=torch.__version__,
                gpu=torch.cuda.get_device_name(0) if dev.type == "cuda" else None)
    return dev, info


def write_log(out, info, hist):
    json.dump(dict(info=info, history=hist), open(os.path.join(out, "train_log.json"), "w"), indent=1)


def stage_seconds(planned, budget, t_all, reserve):
    """The last stage's time: planned, cut so that the whole run fits --budget (reserve seconds kept
    for saving), at least 10 s."""
    if not budget:
        return planned
    return max(10.0, min(planned, budget - (time.time() - t_all) - reserve))


# ------------------------------------------------------------------ data
def _chunk(args):
    seed, start, count = args
    imgs, caps, labels, _ = shapes.batch(seed, start, count)
    return imgs, caps, labels


def make_data(seed, n, workers):
    """n images of tools/dataset/shapes.py (uint8 [n,64,64,3]), their captions and class labels
    (int64 [n]), made in chunks of 2000 on `workers` processes."""
    chunks = [(seed, s, min(2000, n - s)) for s in range(0, n, 2000)]
    if workers > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_chunk, chunks)
    else:
        parts = [_chunk(c) for c in chunks]
    imgs = np.concatenate([p[0] for p in parts])
    caps = [c for p in parts for c in p[1]]
    labels = np.concatenate([np.asarray(p[2], np.int64) for p in parts])
    return imgs, caps, labels


def to_unit(imgs, dev):
    """uint8 images [B,H,W,3] -> float [B,3,H,W] in [-1, 1] on dev."""
    return imgs.to(dev).permute(0, 3, 1, 2).float() / 127.5 - 1


def psnr(rec, x):
    """PSNR in dB of images in [-1, 1] (peak-to-peak 2)."""
    return (10 * torch.log10(4 / F.mse_loss(rec, x))).item()


# ------------------------------------------------------------------ training loop
def adamw(model, lr0, no_decay):
    """AdamW (betas 0.9, 0.95) with weight decay 0.05 on the matrices; none on vectors and on the
    parameters whose name no_decay(name) accepts."""
    decay, rest = [], []
    for n, p in model.named_parameters():
        (rest if p.ndim < 2 or no_decay(n) else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
                             lr=lr0, betas=(0.9, 0.95))


class Stage:
    """A training stage's loop: iterate to get (step, lr) until `seconds` have passed or max_steps
    steps are done; the learning rate (set on opt before each step) warms up linearly over `warmup`
    steps and follows a cosine over the stage's time from lr0 down to floor * lr0. After the loop,
    .steps is the number of steps done."""

    def __init__(self, name, opt, seconds, max_steps, lr0, warmup, floor, log_every, hist):
        self.name, self.opt, self.seconds, self.max_steps = name, opt, seconds, max_steps
        self.lr0, self.warmup, self.floor, self.log_every, self.hist = lr0, warmup, floor, log_every, hist
        self.steps = 0

    def __iter__(self):
        self.t0 = time.time()
        while True:
            el = time.time() - self.t0
            if el > self.seconds or (self.max_steps and self.steps >= self.max_steps):
                return
            frac = min(el / self.seconds, 1.0)
            lr = self.lr0 * min(1.0, (self.steps + 1) / self.warmup) * (
                self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * frac)))
            for pg in self.opt.param_groups:
                pg["lr"] = lr
            yield self.steps, lr
            self.steps += 1

    def due(self, step):
        """Whether step is one to log."""
        return step % self.log_every == 0

    def record(self, step, lr, **values):
        e = dict(stage=self.name, step=step, t=round(time.time() - self.t0, 1), lr=lr, **values)
        self.hist.append(e)
        log(json.dumps(e))


@torch.no_grad()
def restart_dead_codes(step, usage, weight, rows, hist):
    """Every 100th step: codebook entries (rows of weight) unused since the last restart (usage,
    counts per code, zeroed here) restart from random rows of rows() (recent latents) plus noise."""
    if step % 100 != 99:
        return
    dead = (usage == 0).nonzero().flatten()
    if len(dead):
        r = rows()
        pick = r[torch.randint(0, r.shape[0], (len(dead),), device=r.device)]
        weight.data[dead] = pick + 0.01 * torch.randn_like(pick)
    hist.append(dict(step=step + 1, dead_codes=int(len(dead))))
    usage.zero_()
