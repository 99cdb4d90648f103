#!/bin/sh
# tools/yardstick/fd.py (Fréchet distance and KID on the shapes classifier's features):
#  - frechet() against hand-derived values: diagonal covariances give
#    |m1 - m2|² + Σ (√a_i - √b_i)², equal Gaussians 0;
#  - the shipped classifier still reads dataset images it never saw (seed 31338,
#    indices 2000-2599; training printed its accuracy on 0-1999): every head at least
#    the floor below (measured accuracy minus 2-5 points, docs/training.md);
#  - the distance separates: 300 dataset images vs the 1000 reference images give
#    a far smaller FD, and a KID inside the noise, than the same 300 images with
#    their red and blue channels swapped (a colour shift every head can see).
# PyTorch is optional (as tests/cli/test_train_smoke.sh): without it, SKIP-OPTIONAL.
set -u
. tests/cli/lib.sh
PY=${HART_TRAIN_PYTHON:-python3}
if ! "$PY" -c "import torch, numpy, safetensors" 2>/dev/null; then
  echo "SKIP-OPTIONAL: pytorch: $PY cannot import torch, numpy and safetensors (pip install torch numpy safetensors pillow, or set HART_TRAIN_PYTHON)"
  exit 0
fi
"$PY" - <<'PYEOF' >"$T/out" 2>&1 || { cat "$T/out"; fail "fd.py checks failed"; }
import sys
import numpy as np
import torch
sys.path.insert(0, "tools/yardstick")
import fd
import shapes
torch.set_num_threads(1)
r = np.random.default_rng(1)


def exact(mean, var, n=50):
    """n samples whose sample mean and covariance (ddof 1) are exactly mean and diag(var)."""
    x = r.standard_normal((n, len(mean)))
    x -= x.mean(0)
    x = x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T
    return x * np.sqrt(var) + mean


m1, a = np.array([0.0, 1.0, 2.0]), np.array([1.0, 4.0, 9.0])
m2, b = np.array([1.0, 1.0, 0.0]), np.array([4.0, 1.0, 1.0])
want = ((m1 - m2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()  # 5 + 1 + 1 + 4 = 11
got = fd.frechet(exact(m1, a), exact(m2, b))
assert abs(got - want) < 1e-9 * want, (got, want)
assert abs(fd.frechet(exact(m1, a), exact(m1, a))) < 1e-9
print(f"frechet: {got:.12f} (hand-derived {want})")

# the shipped classifier on held-out dataset images
FLOOR = dict(shape=0.93, colour=0.97, pos=0.97, size=0.95, bg_top=0.97, bg_bottom=0.97)  # measured 0.977 0.995 1.0 0.988 0.998 1.0
net = fd.load()
imgs, _, _, specs = shapes.batch(fd.TEST_SEED, 2000, 600)
acc = fd.accuracy(net, torch.from_numpy(imgs), fd.labels(specs))
print("held-out accuracy:", {k: round(v, 3) for k, v in acc.items()})
for k, lo in FLOOR.items():
    assert acc[k] >= lo, f"{k}: {acc[k]:.3f} < {lo}"

# separation: real vs real against real vs colour-shifted
ref = fd.feats(net, fd.ref_images(4242, 1000))
real = fd.ref_images(4243, 300)
f_real, f_swap = fd.feats(net, real), fd.feats(net, np.ascontiguousarray(real[..., ::-1]))
d_real, d_swap = fd.frechet(f_real, ref), fd.frechet(f_swap, ref)
k_real, k_swap = fd.kid(f_real, ref)[0], fd.kid(f_swap, ref)[0]
print(f"FD real {d_real:.1f} swapped {d_swap:.1f}; KID x1000 real {1000 * k_real:.1f} swapped {1000 * k_swap:.1f}")
assert d_swap > 3 * d_real, (d_real, d_swap)
assert abs(k_real) < 0.05 and k_swap > 10 * max(abs(k_real), 0.005), (k_real, k_swap)
PYEOF
cat "$T/out"
echo "test_yardstick_fd: ok"
