#!/usr/bin/python3
"""bench_torch_image.py — the PyTorch peer of `mcrage bench --image`: the same UNet, step and
sampler, with the same JSON keys.

    /usr/bin/python3 bench/bench_torch_image.py [--threads 1,2] [--sizes 28,64] [--quick]
        [--batch 32] [--sample-steps 10] [--check MCRAGE.jsonl]

The network is mcrage's default image UNet (src/nn/unet.c, as `mcrage image fit` builds it),
layer for layer:
  time: sinusoid of width 32 (16 cosines then 16 sines, period 10000) -> Linear(32, 128) ->
        SiLU -> Linear(128, 128); plus label and attribute embeddings (3 rows each: 2 levels +
        the null row); semb = SiLU(emb)
  conv3x3(in_ch -> 32); down: per level (32, 64, 128) 2 residual blocks (then attention at the
  lowest level), a stride-2 3x3 conv between levels; middle: res, attention, res; up: per level
  3 blocks on cat(h, skip) (attention at the lowest level), then nearest 2x + conv3x3;
  out: GroupNorm -> SiLU -> conv3x3(32 -> in_ch)
  residual block: h = conv3x3(SiLU(GN(x))); (scale, shift) = Linear(128, 2co)(semb);
        h = GN(h) * (1 + scale) + shift; h = conv3x3(SiLU(h)); out = skip(x) + h, skip a 1x1
        conv when the channel count changes
  attention: x + conv1x1(attention(conv1x1_{C->3C}(GN(x)))), one head, softmax(Q^T K / sqrt(C))
  GroupNorm: 8 groups, eps 1e-5, affine
Training step (mcrage's image fit): images uniform in [-1, 1], t uniform in [0, 1000), cosine
schedule, x_t = sqrt(abar) x0 + sqrt(1 - abar) eps, MSE on eps, labels / attributes dropped to
null with p 0.1; AdamW (lr 2e-4, betas 0.9 / 0.999, eps 1e-8, weight decay 0) with global-norm
clipping at 1 and an EMA of the weights (0.999, warmed up). Two warm-up steps, not timed.
Sampling: DDIM (eta 0, x0_hat clipped to [-1, 1] and eps recomputed, as mcrage's ddim_step) on
the grid t_k = (k + 1) T / K - 1, composed guidance 1 + 1 (three network rows per image:
null/null, label/null, null/attribute), batches of 16 images, with the EMA weights.
Flops: the same analytic count as mcrage (convolutions, FiLM projections, attention products;
step = 3 x forward); sgemm_gflops is torch.mm at the 64-channel 3x3 GEMM shape (M 64, K 576,
N batch x H/2 x W/2); conv_gflops times the convolutions alone by forward hooks (forward) and
autograd hooks (backward), as mcrage's per-module profile.

Threads: each (thread count, size) runs in its own process with OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS and MKL_NUM_THREADS set before torch is imported, and torch.set_num_threads(n)
(as bench/bench_torch.py); the script re-executes itself once per pair, so each peak RSS is its
own. The parameter count is printed and checked against mcrage's (PARAMS below, and the lines
of --check FILE, mcrage's JSON output, when given).
"""
import argparse
import json
import os
import subprocess
import sys
import time

# mcrage's count for the default UNet with 2 labels and 2 attributes (mcrage bench --image)
PARAMS = {(28, 1): 4117665, (64, 3): 4118819}
SIZES = {28: (1, 6, 16), 64: (3, 3, 16)}  # size: (channels, timed steps, images sampled)
LABELS, ATTRS, T = 2, 2, 1000


def child(threads, size, a):
    import math
    import resource

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    C, steps, nsample = SIZES[size]
    if a.quick:
        steps, nsample, ssteps = 1, 2, 2
    else:
        ssteps = a.sample_steps
    if a.steps:
        steps = a.steps
    if a.sample_images >= 0:
        nsample = a.sample_images
    B, ch, mult, nres, G, tdim = a.batch, 32, (1, 2, 4), 2, 8, 32
    E = 4 * ch
    conv_time = [0.0]

    class Res(nn.Module):
        def __init__(self, ci, co):
            super().__init__()
            self.gn1, self.conv1 = nn.GroupNorm(G, ci), nn.Conv2d(ci, co, 3, 1, 1)
            self.proj = nn.Linear(E, 2 * co)
            self.gn2, self.conv2 = nn.GroupNorm(G, co), nn.Conv2d(co, co, 3, 1, 1)
            self.skip = nn.Conv2d(ci, co, 1) if ci != co else None
            self.co = co

        def forward(self, x, semb):
            h = self.conv1(F.silu(self.gn1(x)))
            ss = self.proj(semb)
            scale, shift = ss[:, : self.co, None, None], ss[:, self.co:, None, None]
            h = self.conv2(F.silu(self.gn2(h) * (1 + scale) + shift))
            return (self.skip(x) if self.skip is not None else x) + h

    class Attn(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.gn, self.qkv, self.out = nn.GroupNorm(G, c), nn.Conv2d(c, 3 * c, 1), nn.Conv2d(c, c, 1)

        def forward(self, x):
            n, c, hh, ww = x.shape
            q, k, v = self.qkv(self.gn(x)).reshape(n, 3, c, hh * ww).unbind(1)  # one head
            att = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(c), dim=-1)  # [n, HW, HW]
            y = torch.bmm(v, att.transpose(1, 2)).reshape(n, c, hh, ww)
            return x + self.out(y)

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.t1, self.t2 = nn.Linear(tdim, E), nn.Linear(E, E)
            self.lab, self.att = nn.Embedding(LABELS + 1, E), nn.Embedding(ATTRS + 1, E)
            half = tdim // 2
            self.register_buffer("freq", torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64) / half))
            self.inp = nn.Conv2d(C, ch, 3, 1, 1)
            self.down, skipc, c = nn.ModuleList(), [ch], ch
            L = len(mult)
            for l in range(L):
                co = ch * mult[l]
                for _ in range(nres):
                    self.down.append(Res(c, co))
                    c = co
                    if l == L - 1:
                        self.down.append(Attn(c))
                    skipc.append(c)
                if l < L - 1:
                    self.down.append(nn.Conv2d(c, c, 3, 2, 1))
                    skipc.append(c)
            self.mid = nn.ModuleList([Res(c, c), Attn(c), Res(c, c)])
            self.up = nn.ModuleList()
            for l in reversed(range(L)):
                co = ch * mult[l]
                for _ in range(nres + 1):
                    self.up.append(Res(c + skipc.pop(), co))
                    c = co
                    if l == L - 1:
                        self.up.append(Attn(c))
                if l > 0:
                    self.up.append(nn.Conv2d(c, c, 3, 1, 1))  # after nearest 2x
            self.gn_out, self.out = nn.GroupNorm(G, c), nn.Conv2d(c, C, 3, 1, 1)

        def forward(self, x, t, y, a):
            ang = t.double()[:, None] * self.freq[None, :]
            te = torch.cat([torch.cos(ang), torch.sin(ang)], dim=1).float()
            semb = F.silu(self.t2(F.silu(self.t1(te))) + self.lab(y) + self.att(a))
            h = self.inp(x)
            skips = [h]
            for m in self.down:
                if isinstance(m, Res):
                    h = m(h, semb)
                    skips.append(h)
                elif isinstance(m, Attn):
                    h = m(h)
                    skips[-1] = h
                else:
                    h = m(h)
                    skips.append(h)
            for m in self.mid:
                h = m(h, semb) if isinstance(m, Res) else m(h)
            for m in self.up:
                if isinstance(m, Res):
                    h = m(torch.cat([h, skips.pop()], dim=1), semb)
                elif isinstance(m, Attn):
                    h = m(h)
                else:
                    h = m(F.interpolate(h, scale_factor=2, mode="nearest"))
            return self.out(F.silu(self.gn_out(h)))

    net = UNet()
    nparams = sum(p.numel() for p in net.parameters())
    want = PARAMS.get((size, C))
    for line in a.check_lines:
        if line.get("H") == size and line.get("C") == C:
            want = line["params"]
    print(f"bench_torch_image: {size}x{size}x{C}: torch {nparams} parameters, mcrage {want}", file=sys.stderr)
    assert nparams == want, f"parameter count {nparams} != mcrage's {want}"

    # analytic flops, as mcr_unet_flops: conv, FiLM projections, attention products
    fconv, fother, shapes = [0.0], [0.0], []

    def count(m, inp, out):
        if isinstance(m, nn.Conv2d):
            fconv[0] += 2.0 * m.out_channels * m.in_channels * m.kernel_size[0] * m.kernel_size[1] * out.shape[2] * out.shape[3]
        elif isinstance(m, Res):  # its FiLM projection
            fother[0] += 2.0 * m.proj.in_features * m.proj.out_features
        elif isinstance(m, Attn):
            hw = out.shape[2] * out.shape[3]
            fother[0] += 4.0 * out.shape[1] * hw * hw

    hs = [m.register_forward_hook(count) for m in net.modules()]
    with torch.no_grad():
        net(torch.zeros(1, C, size, size), torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long),
            torch.zeros(1, dtype=torch.long))
    for h in hs:
        h.remove()
    flops = fconv[0] + fother[0]

    # conv profile: forward by pre/post hooks, backward from its output's gradient hook to the
    # module's full backward hook
    def pre(m, inp):
        m._t0 = time.perf_counter()

    def post(m, inp, out):
        conv_time[0] += time.perf_counter() - m._t0
        if out.requires_grad:  # backward starts when the output's gradient is ready ...
            out.register_hook(lambda g, m=m: setattr(m, "_tb", time.perf_counter()))

    def back(m, gin, gout):  # ... and ends when the module's input gradients are
        conv_time[0] += time.perf_counter() - m._tb

    prof = []
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            prof.append(m.register_forward_pre_hook(pre))
            prof.append(m.register_forward_hook(post))
            prof.append(m.register_full_backward_hook(back))

    s_ = 0.008
    f = [math.cos((k / T + s_) / (1 + s_) * math.pi / 2) ** 2 for k in range(T + 1)]
    abar, acc = [], 1.0
    for k in range(T):
        acc *= 1 - min(1 - f[k + 1] / f[k], 0.999)
        abar.append(acc)
    abar_t = torch.tensor(abar, dtype=torch.float32)
    ema = [p.detach().clone() for p in net.parameters()]
    lr, total = 2e-4, steps + 2
    opt = torch.optim.AdamW(net.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    x0 = torch.rand(B, C, size, size) * 2 - 1
    idx = torch.arange(B)
    warm = max(total // 20, 1)
    t0 = time.perf_counter()
    for step in range(total):
        if step == 2:  # warm-up done
            t0, conv_time[0] = time.perf_counter(), 0.0
        y = torch.where(torch.rand(B) < 0.1, torch.full((B,), LABELS), idx % LABELS)
        at = torch.where(torch.rand(B) < 0.1, torch.full((B,), ATTRS), (idx // LABELS) % ATTRS)
        t = torch.randint(0, T, (B,))
        eps = torch.randn(B, C, size, size)
        ab = abar_t[t][:, None, None, None]
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        # the input's gradient too, as mcrage's UNet computes it (and the conv profile needs it)
        xt.requires_grad_(True)
        loss = F.mse_loss(net(xt, t, y, at), eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        for g in opt.param_groups:  # linear warm-up then linear decay, as mcr_optim_lr
            g["lr"] = lr * ((step + 1) / warm if step < warm else max(0.0, (total - step) / (total - warm)))
        opt.step()
        with torch.no_grad():
            decay = min(0.999, (1 + step) / (10 + step))
            for e, p in zip(ema, net.parameters()):
                e.mul_(decay).add_(p.detach(), alpha=1 - decay)
    el = time.perf_counter() - t0
    ct = conv_time[0]
    for h in prof:
        h.remove()
    train = steps * B / el
    M, K, N = 64, 576, B * (size // 2) * (size // 2)
    A_, B_ = torch.rand(M, K), torch.rand(K, N)
    torch.mm(A_, B_)
    best, ts0, rep = 1e30, time.perf_counter(), 0
    while rep < 3 or time.perf_counter() - ts0 < 0.5:
        t1 = time.perf_counter()
        torch.mm(A_, B_)
        best = min(best, time.perf_counter() - t1)
        rep += 1
    gemm = 2.0 * M * K * N / best * 1e-9

    # DDIM with composed guidance, EMA weights
    rate = 0.0
    if nsample:
        with torch.no_grad():
            for e, p in zip(ema, net.parameters()):
                p.copy_(e)
            grid = [((k + 1) * T) // ssteps - 1 for k in range(ssteps)]
            t0 = time.perf_counter()
            for b0 in range(0, nsample, 16):
                nb = min(16, nsample - b0)
                x = torch.randn(nb, C, size, size)
                yy = torch.tensor([LABELS] * nb + [0] * nb + [LABELS] * nb)
                aa = torch.tensor([ATTRS] * nb + [ATTRS] * nb + [0] * nb)
                for k in range(ssteps - 1, -1, -1):
                    tk = grid[k]
                    o = net(torch.cat([x, x, x]), torch.full((3 * nb,), tk, dtype=torch.long), yy, aa)
                    e0, el_, ea = o[:nb], o[nb:2 * nb], o[2 * nb:]
                    ep = e0 + (el_ - e0) + (ea - e0)
                    ab, abp = abar[tk], (abar[grid[k - 1]] if k > 0 else 1.0)
                    ra, rb = math.sqrt(ab), math.sqrt(1 - ab)
                    x0h = (x - rb * ep) / ra
                    c = x0h.clamp(-1, 1)
                    ep = torch.where(c != x0h, (x - ra * c) / rb, ep)
                    x = math.sqrt(abp) * c + math.sqrt(1 - abp) * ep
            rate = nsample / (time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    g = 3 * flops * train * 1e-9
    cg = 3 * fconv[0] * steps * B / ct * 1e-9 if ct > 0 else 0.0
    print(json.dumps({"impl": "torch", "model": "unet", "H": size, "W": size, "C": C, "batch": B,
                      "threads": threads, "params": nparams, "train_steps": steps,
                      "train_images_per_s": round(train, 2), "train_gflop_per_image": round(3 * flops * 1e-9, 3),
                      "train_gflops": round(g, 2), "sgemm_gflops": round(gemm, 2), "ratio": round(g / gemm, 3),
                      "conv_gflops": round(cg, 2), "conv_ratio": round(cg / gemm, 3),
                      "conv_time_share": round(ct / el, 3), "sampler": "ddim", "sample_steps": ssteps,
                      "guidance_rows": 3, "sample_images": nsample, "sample_images_per_s": round(rate, 3),
                      "peak_rss_mb": round(rss, 1), "loadavg": round(os.getloadavg()[0], 2),
                      "blas_core": "torch " + torch.__version__}, separators=(",", ":")), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--sizes", default="28,64", help="image sizes: 28 (1 channel), 64 (3 channels)")
    ap.add_argument("--quick", action="store_true", help="1 step, 2 images, 2 sampler steps (a smoke run)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=0, help="timed steps (default 6 at 28, 3 at 64)")
    ap.add_argument("--sample-images", type=int, default=-1, help="images sampled (default 16)")
    ap.add_argument("--sample-steps", type=int, default=10)
    ap.add_argument("--check", help="mcrage bench --image output (JSON lines): its parameter counts")
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.check_lines = []
    if a.check:
        with open(a.check) as fh:
            a.check_lines = [json.loads(s) for s in fh if s.startswith("{")]
    if a.child:
        th, size = (int(v) for v in a.child.split(","))
        child(th, size, a)
        return 0
    rc = 0
    for n in [int(v) for v in a.threads.split(",")]:
        for size in [int(v) for v in a.sizes.split(",")]:
            env = dict(os.environ)
            for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = str(n)
            args = [sys.executable, os.path.abspath(__file__), "--child", f"{n},{size}", "--batch", str(a.batch),
                    "--steps", str(a.steps), "--sample-images", str(a.sample_images),
                    "--sample-steps", str(a.sample_steps)]
            if a.quick:
                args.append("--quick")
            if a.check:
                args += ["--check", a.check]
            rc |= subprocess.call(args, env=env)
    return rc


if __name__ == "__main__":
    sys.exit(main())
