#!/usr/bin/python3
"""bench_torch.py — the PyTorch peer of `make bench`: the same denoiser, data and steps.

    /usr/bin/python3 bench/bench_torch.py [--threads 1,2] [--quick] [--precision fp32|bf16|both]

The network is mcrage's (src/nn/nn.c), layer for layer: a sinusoidal time embedding (dim_t/2
cosines then dim_t/2 sines, period 10000) -> Linear -> SiLU -> Linear, plus SiLU of a label
embedding (ncond + 1 = 3 rows), plus Linear(d, dim_t) of the noisy row; then Linear+ReLU per
hidden width and a Linear back to d = 32 (the predicted noise). dim_t 128, T 1000 cosine
schedule, MSE on the noise, AdamW (lr 2e-3, weight decay 1e-4) with global-norm clipping at 1
and an EMA of the weights (0.999), on random normal rows: the training step `mcrage bench`
times. Configs, batch sizes and step counts are mcrage's (two warm-up steps untimed), and
sampling is DDIM with 100 steps (eta 1) of 2,000 rows with the EMA weights.

Threads: each thread count runs in its own process with OPENBLAS_NUM_THREADS, OMP_NUM_THREADS
and MKL_NUM_THREADS set before torch is imported, and torch.set_num_threads(n) (without the
environment, PyTorch's "1 thread" still runs its BLAS on every core). The script re-executes
itself once per thread count. --precision bf16 runs the matrix products under
torch.autocast("cpu", bfloat16) (PyTorch's mixed precision), for reference only.

One JSON line per (config, threads, precision), with the keys of `make bench`.
"""
import argparse
import json
import os
import subprocess
import sys
import time

CONFIGS = [([256, 256], 256, 300), ([512, 512], 1024, 60), ([256, 1024, 1024, 256], 4096, 12)]


def child(threads, quick, precisions):
    import math

    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    d, dt, ncond, T = 32, 128, 2, 1000

    class Denoiser(torch.nn.Module):
        def __init__(self, widths):
            super().__init__()
            self.t1, self.t2 = torch.nn.Linear(dt, dt), torch.nn.Linear(dt, dt)
            self.emb = torch.nn.Embedding(ncond + 1, dt)
            self.inp = torch.nn.Linear(d, dt)
            layers, prev = [], dt
            for w in widths:
                layers += [torch.nn.Linear(prev, w), torch.nn.ReLU()]
                prev = w
            layers.append(torch.nn.Linear(prev, d))
            self.mlp = torch.nn.Sequential(*layers)
            half = dt // 2
            self.register_buffer("freq", torch.exp(-math.log(10000.0) * torch.arange(half) / half))

        def forward(self, x, t, y):
            a = t.float()[:, None] * self.freq[None, :]
            te = torch.cat([torch.cos(a), torch.sin(a)], dim=1)
            tm = self.t2(torch.nn.functional.silu(self.t1(te)))
            h = self.inp(x) + tm + torch.nn.functional.silu(self.emb(y))
            return self.mlp(h)

    # cosine schedule (Nichol & Dhariwal), betas clipped at 0.999, as mcrage's
    s = 0.008
    f = [math.cos((k / T + s) / (1 + s) * math.pi / 2) ** 2 for k in range(T + 1)]
    betas = [min(1 - f[k + 1] / f[k], 0.999) for k in range(T)]
    abar, acc = [], 1.0
    for b in betas:
        acc *= 1 - b
        abar.append(acc)
    abar_t = torch.tensor(abar, dtype=torch.float32)

    def peak_rss_mb():
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    for widths, batch, steps in CONFIGS:
        if quick:
            steps = 3
        sample_rows = 200 if quick else 2000
        for prec in precisions:
            bf16 = prec == "bf16"
            net = Denoiser(widths)
            ema = [p.detach().clone() for p in net.parameters()]
            opt = torch.optim.AdamW(net.parameters(), lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4)
            nparams = sum(p.numel() for p in net.parameters())
            x0 = torch.randn(batch, d)
            y = torch.randint(0, 3, (batch,))
            t0 = time.perf_counter()
            for step in range(steps + 2):  # the first two: warm-up, not timed
                if step == 2:
                    t0 = time.perf_counter()
                t = torch.randint(0, T, (batch,))
                eps = torch.randn(batch, d)
                a = abar_t[t][:, None]
                xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    out = net(xt, t, y)
                loss = torch.nn.functional.mse_loss(out.float(), eps)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                for g in opt.param_groups:  # TabDDPM's linear decay, as mcrage's
                    g["lr"] = 2e-3 * (1 - step / (steps + 2))
                opt.step()
                with torch.no_grad():
                    decay = min(0.999, (1 + step) / (10 + step))
                    for e, p in zip(ema, net.parameters()):
                        e.mul_(decay).add_(p.detach(), alpha=1 - decay)
            el = time.perf_counter() - t0
            train_rows = steps * batch / el
            # matmul at the largest hidden layer's forward shape, as mcrage's sgemm figure
            K, N = dt, dt
            for l, w in enumerate(widths):
                inn = widths[l - 1] if l else dt
                if inn * w > K * N:
                    K, N = inn, w
            A, Bm = torch.randn(batch, K), torch.randn(N, K)
            if bf16:
                A, Bm = A.bfloat16(), Bm.bfloat16()
            A @ Bm.t()
            reps, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < 0.5:
                A @ Bm.t()
                reps += 1
            gemm = 2.0 * batch * K * N * reps / (time.perf_counter() - t0) / 1e9
            # DDIM-100 (eta 1) with the EMA weights
            with torch.no_grad():
                for e, p in zip(ema, net.parameters()):
                    p.copy_(e)
                x = torch.randn(sample_rows, d)
                ys = torch.zeros(sample_rows, dtype=torch.long)
                K_ = 100
                t0 = time.perf_counter()
                for k in range(K_ - 1, -1, -1):
                    tt, tp = k * T // K_, ((k - 1) * T // K_ if k > 0 else -1)
                    at, ap = abar[tt], (abar[tp] if tp >= 0 else 1.0)
                    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                        ep = net(x, torch.full((sample_rows,), tt, dtype=torch.long), ys)
                    ep = ep.float()
                    x0h = (x - math.sqrt(1 - at) * ep) / math.sqrt(at)
                    sig = math.sqrt((1 - ap) / (1 - at) * (1 - at / ap)) if tp >= 0 else 0.0
                    x = math.sqrt(ap) * x0h + math.sqrt(max(1 - ap - sig * sig, 0.0)) * ep
                    if sig > 0:
                        x = x + sig * torch.randn_like(x)
                sample_rows_s = sample_rows / (time.perf_counter() - t0)
            gflops = 6.0 * nparams * train_rows / 1e9
            print(json.dumps({"impl": "torch", "d": d, "widths": widths, "batch": batch, "threads": threads,
                              "precision": prec, "sampler": "ddim", "sample_steps": 100, "params": nparams,
                              "train_rows_per_s": round(train_rows), "train_gflops": round(gflops, 1),
                              "sgemm_gflops": round(gemm, 1), "ratio": round(gflops / gemm, 3),
                              "sample_rows_per_s": round(sample_rows_s), "peak_rss_mb": round(peak_rss_mb(), 1),
                              "blas_core": "torch " + torch.__version__}, separators=(",", ":")), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (one process each)")
    ap.add_argument("--quick", action="store_true", help="3 steps per config (a smoke run)")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "both"])
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    precisions = ["fp32", "bf16"] if a.precision == "both" else [a.precision]
    if a.child:
        child(a.child, a.quick, precisions)
        return 0
    rc = 0
    for n in [int(v) for v in a.threads.split(",")]:
        env = dict(os.environ)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(n)
        args = [sys.executable, os.path.abspath(__file__), "--child", str(n), "--precision", a.precision]
        if a.quick:
            args.append("--quick")
        rc |= subprocess.call(args, env=env)
    return rc


if __name__ == "__main__":
    sys.exit(main())
