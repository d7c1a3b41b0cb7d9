#!/usr/bin/python3
"""golden_mlp.py — PyTorch reference for the mcrage denoiser (src/nn/nn.h), read by
tests/nn/test_golden.c. Run with Debian's python3-torch (1.13):

    /usr/bin/python3 dev/golden_mlp.py tests/data/golden_mlp.bin

The network is the one nn.h documents (TabDDPM's MLPDiffusion, no dropout):
    te  = sinusoid(t)                  [B, dt]  (dt/2 cosines then dt/2 sines, period 10000)
    tm  = Linear(SiLU(Linear(te)))     [B, dt]
    h0  = Linear(x) + tm + SiLU(E[y])  [B, dt]  (E: [ncond+1, dt], y == ncond is "null")
    h_l = act(Linear(h_{l-1}))         act = ReLU or SiLU
    out = Linear(h_L)                  [B, d]
The sinusoid is computed in float64 and rounded to float32, as nn.c does (TabDDPM computes it in
float32, which at t = 999 moves cos/sin by up to ~1e-4).
Loss: mean squared error of out against a fixed target (F.mse_loss, mean over B*d).
Trajectory: nsteps steps on the same batch; each step = forward, loss (recorded), backward,
gradient clipping with the C trainer's rule (global L2 norm gn over all parameters, in double;
if gn > clip, every gradient *= float32(clip / gn)), then torch.optim.AdamW with the trainer's
settings (lr 2e-3 constant here, betas 0.9/0.999, eps 1e-8, weight decay 1e-4, clip 1; PyTorch's
decoupled decay p *= 1 - lr wd, equal to nn.c's p -= lr (mh/(sqrt(vh)+eps) + wd p)).
Variants: ReLU and SiLU at those settings, then SiLU at lr 1e-2, weight decay 0.1, clip 0.2
(at the defaults decay moves a parameter by ~1e-6 in 10 steps and the gradient norm stays
below 1, so neither would be seen).

Parameters are drawn here (torch.Generator, seed 1234: Linear weights and biases
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), embedding N(0, 1)) and written into the file, so the C side
does not have to reproduce any generator.

File layout (little-endian; i32 = int32, f32 = float32):
    char magic[8] = "MCRGOLD1"
    i32  version = 1
    i32  nvariants
    per variant:
      i32  act (0 ReLU, 1 SiLU), d, dt, ncond, nl, widths[nl], B, nparams, nsteps
      f32  lr, beta1, beta2, eps, weight_decay, grad_clip
      i32  t[B], y[B]
      f32  x[B*d], target[B*d]
      f32  params[nparams]        in mcr_net_layout order: wt1 [dt,dt], bt1 [dt], wt2 [dt,dt],
                                  bt2 [dt], emb [ncond+1,dt], win [dt,d], bin [dt], then per
                                  layer l = 0..nl: w[l] [oc,prev], b[l] [oc] (last oc = d)
      f32  out[B*d]
      f32  loss
      f32  dx[B*d]                d loss / d x
      f32  grad[nparams]          d loss / d params, same order
      f32  losses[nsteps]         loss before each AdamW step (losses[0] == loss)
      f32  params_final[nparams]  after nsteps steps
"""
import math
import struct
import sys

import torch
import torch.nn.functional as F

D, DT, NCOND, WIDTHS, B, NSTEPS = 5, 8, 3, [16, 12], 7, 10
LR, BETA1, BETA2, EPS, WD, CLIP = 2e-3, 0.9, 0.999, 1e-8, 1e-4, 1.0
T = [3, 500, 3, 0, 999, 500, 3]   # duplicates: the C side runs the time MLP on 4 distinct steps
Y = [0, 3, 1, 0, 2, 3, 0]         # 3 = the null condition


def sinusoid(t, dt):
    half = dt // 2
    out = torch.zeros(len(t), dt, dtype=torch.float64)
    for r, tr in enumerate(t):
        for k in range(half):
            a = tr * math.exp(-math.log(10000.0) * k / half)
            out[r, k], out[r, half + k] = math.cos(a), math.sin(a)
    return out.float()


def shapes():
    """(name, shape, fan_in or None for N(0,1)) in mcr_net_layout order"""
    s = [("wt1", (DT, DT), DT), ("bt1", (DT,), DT), ("wt2", (DT, DT), DT), ("bt2", (DT,), DT),
         ("emb", (NCOND + 1, DT), None), ("win", (DT, D), D), ("bin", (DT,), D)]
    prev = DT
    for l, oc in enumerate(WIDTHS + [D]):
        s += [("w%d" % l, (oc, prev), prev), ("b%d" % l, (oc,), prev)]
        prev = oc
    return s


def forward(P, x, act):
    te = sinusoid(T, DT)
    tm = F.linear(F.silu(F.linear(te, P["wt1"], P["bt1"])), P["wt2"], P["bt2"])
    h = F.linear(x, P["win"], P["bin"]) + tm + F.silu(P["emb"][torch.tensor(Y)])
    for l in range(len(WIDTHS)):
        z = F.linear(h, P["w%d" % l], P["b%d" % l])
        h = F.silu(z) if act else F.relu(z)
    L = len(WIDTHS)
    return F.linear(h, P["w%d" % L], P["b%d" % L])


def variant(act, gen, lr=LR, wd=WD, clip=CLIP):
    P = {}
    for name, shp, fan in shapes():
        if fan is None:
            v = torch.randn(shp, generator=gen)
        else:
            v = (2 * torch.rand(shp, generator=gen) - 1) / math.sqrt(fan)
        P[name] = v.float().requires_grad_(True)
    names = [s[0] for s in shapes()]
    x = torch.randn(B, D, generator=gen).float()
    target = torch.randn(B, D, generator=gen).float()
    flat = lambda ts: torch.cat([t.detach().reshape(-1) for t in ts])
    params0 = flat([P[n] for n in names])

    xg = x.clone().requires_grad_(True)
    out = forward(P, xg, act)
    loss = F.mse_loss(out, target)
    loss.backward()
    dx, grad = xg.grad.clone(), flat([P[n].grad for n in names])

    opt = torch.optim.AdamW([P[n] for n in names], lr=lr, betas=(BETA1, BETA2), eps=EPS,
                            weight_decay=wd, foreach=False)
    losses, clipped = [], 0
    for _ in range(NSTEPS):
        opt.zero_grad(set_to_none=False)
        l = F.mse_loss(forward(P, x, act), target)
        losses.append(l.item())
        l.backward()
        gn = math.sqrt(sum(float((P[n].grad.double() ** 2).sum()) for n in names))
        if gn > clip:
            clipped += 1
            s = torch.tensor(clip / gn, dtype=torch.float32)
            for n in names:
                P[n].grad.mul_(s)
        opt.step()
    params_final = flat([P[n] for n in names])

    f32 = lambda a: struct.pack("<%df" % len(a), *[float(v) for v in a])
    i32 = lambda a: struct.pack("<%di" % len(a), *a)
    blob = i32([act, D, DT, NCOND, len(WIDTHS)] + WIDTHS + [B, params0.numel(), NSTEPS])
    blob += f32([lr, BETA1, BETA2, EPS, wd, clip]) + i32(T) + i32(Y)
    blob += f32(x.reshape(-1)) + f32(target.reshape(-1)) + f32(params0)
    blob += f32(out.detach().reshape(-1)) + f32([loss.item()]) + f32(dx.reshape(-1)) + f32(grad)
    blob += f32(losses) + f32(params_final)
    print("act %d lr %g wd %g clip %g: nparams %d, loss %.6f -> %.6f, clipped %d of %d steps"
          % (act, lr, wd, clip, params0.numel(), losses[0], losses[-1], clipped, NSTEPS),
          file=sys.stderr)
    return blob


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/golden_mlp.bin"
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(1234)
    # the trainer's defaults, ReLU and SiLU; then a third variant whose larger lr, weight
    # decay and tighter clip make decay and clipping visible above float noise
    blob = b"MCRGOLD1" + struct.pack("<ii", 1, 3) + variant(0, gen) + variant(1, gen)
    blob += variant(1, gen, lr=1e-2, wd=0.1, clip=0.2)
    with open(path, "wb") as f:
        f.write(blob)
    print("wrote %s (%d bytes)" % (path, len(blob)), file=sys.stderr)


if __name__ == "__main__":
    main()
