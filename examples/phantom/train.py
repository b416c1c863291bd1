#!/usr/bin/python3
"""Trains the phantom demo's lesion classifier and exports it to ONNX for simdcnn.

A demonstration, not a clinical tool: the data are synthetic slices from generate.mjs.

Needs Debian's PyTorch and ONNX (not the package's dependencies; PyPI is not needed):
    apt-get update && apt-get install -y python3-torch python3-onnx
    /usr/bin/python3 examples/phantom/train.py            # from the repository root, ~10 min on 2 cores

It runs `node generate.mjs --format raw` for the training slices (indices 0..TRAIN-1) and a
validation set (indices 20000..20999), trains on the CPU with fixed seeds, and writes next to
this file:
    phantom.onnx          opset 13, input 'slice' [N,1,128,128] (0..1), output 'logits' [N,2],
                          metadata_props simdcnn:labels/resize/normalize/output
    reference-logits.json PyTorch's logits for the sample slices' indices, to compare engines
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from phantom_training import export, generate_indices, generate_range, one_cycle, read_labels, read_slices, start_torch

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE = 128
VAL_START, VAL_COUNT = 20000, 1000
# Sample slices (samples/) come from indices 90000 and up; see README.md.
SAMPLE_INDICES_FILE = os.path.join(HERE, "samples", "samples.json")
SUPPORTED = {"Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Constant", "Conv", "Div", "Dropout",
             "Exp", "Flatten", "Gather", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Identity", "LeakyRelu",
             "MatMul", "MaxPool", "Mul", "Pad", "PRelu", "Relu", "Reshape", "Shape", "Sigmoid", "Slice", "Softmax",
             "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze"}  # src/onnx/ops.ts


CELL = 16  # one cell of the 8x8 score map covers 16x16 pixels (four 2x2 max-pools)


def score_targets(lesions):
    """Per-cell targets for the score map: 1 for the cell holding the lesion's centre, 0 for cells
    clear of it, and weight 0 (don't care) for the other cells the lesion (plus 2 px) touches."""
    n, g = len(lesions), SIZE // CELL
    target = np.zeros((n, 1, g, g), np.float32)
    weight = np.ones((n, 1, g, g), np.float32)
    centres = (np.arange(g) * CELL + (CELL - 1) / 2)
    for i, les in enumerate(lesions):
        if les is None:
            continue
        x, y, r = les["x"], les["y"], les["r"] + 2
        # distance from the lesion's centre to each cell's nearest point
        dx = np.maximum(np.abs(x - centres) - (CELL - 1) / 2, 0)
        dy = np.maximum(np.abs(y - centres) - (CELL - 1) / 2, 0)
        weight[i, 0] = (np.hypot(dy[:, None], dx[None, :]) > r).astype(np.float32)
        cx, cy = min(g - 1, int((x + 0.5) // CELL)), min(g - 1, int((y + 0.5) // CELL))
        target[i, 0, cy, cx] = 1
        weight[i, 0, cy, cx] = 1
    return target, weight


class PhantomNet(nn.Module):
    """4 x (conv3x3 + BatchNorm + ReLU + maxpool 2x2), 8/16/32/32 channels, giving a 32-channel 8x8
    map; a 1x1 convolution to an 8x8 lesion score map (one logit per 16x16-pixel cell); global max
    pool; linear (1 -> 2) to the logits [normal, lesion]."""

    def __init__(self, widths=(8, 16, 32, 32)):
        super().__init__()
        layers, c = [], 1
        for w in widths:
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c = w
        self.features = nn.Sequential(*layers)
        self.score = nn.Conv2d(c, 1, 1)
        self.head = nn.Linear(1, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[-0.5], [0.5]]))
            self.head.bias.zero_()

    def forward(self, x, with_map=False):
        m = self.score(self.features(x))
        logits = self.head(torch.flatten(F.adaptive_max_pool2d(m, 1), 1))  # GlobalMaxPool, Flatten, Gemm
        return (logits, m) if with_map else logits


def evaluate(model, x, y, batch=250):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(torch.from_numpy(x[i:i + batch]))
            correct += (logits.argmax(1).numpy() == y[i:i + batch]).sum()
    return correct / len(x)


def global_max_pool(m):
    """torch 1.13 exports adaptive_max_pool2d(x, 1) as an 8x8 MaxPool; make it the GlobalMaxPool it
    is (the same for the 128x128 input)."""
    import onnx
    for i, n in enumerate(m.graph.node):
        if n.op_type == "MaxPool" and any(a.name == "kernel_shape" and list(a.ints) == [SIZE // CELL] * 2 for a in n.attribute):
            m.graph.node.remove(n)
            m.graph.node.insert(i, onnx.helper.make_node("GlobalMaxPool", list(n.input), list(n.output), name=n.name or "GlobalMaxPool"))
            break


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=8000, help="training slices (indices 0..N-1)")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--map-weight", type=float, default=1.0, help="weight of the per-cell score-map loss")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(HERE, "phantom.onnx"))
    args = ap.parse_args()

    start_torch(args.threads)

    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        train = generate_range(0, args.train, tmp, "train", SIZE)
        val = generate_range(VAL_START, VAL_COUNT, tmp, "val", SIZE)
        xtr, (ytr, ltr) = read_slices(train, SIZE), read_labels(train)
        xva, (yva, _) = read_slices(val, SIZE), read_labels(val)
    ttr, wtr = score_targets(ltr)
    print(f"data: {len(xtr)} training slices ({ytr.sum()} with a lesion), {len(xva)} validation; "
          f"{time.time() - t0:.0f} s", flush=True)

    model = PhantomNet()
    opt, sched = one_cycle(model, args.lr, args.epochs, len(xtr), args.batch)
    rng = np.random.default_rng(0)
    t1 = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(xtr))
        total, seen = 0.0, 0
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            xb, tb, wb = xtr[idx], ttr[idx], wtr[idx]
            # Flips keep the label and the lesion inside the body; they quadruple the anatomy seen.
            # (128 = 8 cells of 16 pixels, so a flipped image's cells are the flipped cells.)
            if rng.random() < 0.5:
                xb, tb, wb = xb[..., ::-1], tb[..., ::-1], wb[..., ::-1]
            if rng.random() < 0.5:
                xb, tb, wb = xb[..., ::-1, :], tb[..., ::-1, :], wb[..., ::-1, :]
            xb = torch.from_numpy(np.ascontiguousarray(xb))
            yb = torch.from_numpy(ytr[idx])
            logits, m = model(xb, with_map=True)
            # Image-level loss, plus a per-cell loss on the score map: the generator knows where
            # each lesion is, and telling the network speeds training up a lot and makes the
            # score map (and occlusion heatmaps) point at the lesion.
            wt = torch.from_numpy(np.ascontiguousarray(wb))
            map_loss = (F.binary_cross_entropy_with_logits(m, torch.from_numpy(np.ascontiguousarray(tb)), reduction="none") * wt).sum() / wt.sum()
            loss = F.cross_entropy(logits, yb) + args.map_weight * map_loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        acc = evaluate(model, xva, yva)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / seen:.4f}, validation accuracy {acc:.4f}, "
              f"{time.time() - t1:.0f} s", flush=True)
    train_seconds = time.time() - t1

    meta = {
        "simdcnn:labels": json.dumps(["normal", "lesion"]),
        "simdcnn:resize": "bilinear",
        "simdcnn:normalize": "unit",
        "simdcnn:output": "softmax",
    }
    doc = "simdcnn phantom demo: lesion / normal on synthetic MR-like slices. A demonstration, not a clinical tool."
    ops = export(model, args.out, SIZE, ["logits"], meta, doc, SUPPORTED, fix=global_max_pool)
    print(f"wrote {args.out}: {os.path.getsize(args.out)} bytes, ops {ops}; training took {train_seconds:.0f} s")

    # PyTorch's logits on the sample slices, for evaluate.mjs to compare simdcnn's against.
    if os.path.exists(SAMPLE_INDICES_FILE):
        with open(SAMPLE_INDICES_FILE) as f:
            files = json.load(f)["files"]
        indices = [v["index"] for v in files.values()]
        with tempfile.TemporaryDirectory() as tmp:
            xs = read_slices(generate_indices(indices, tmp, SIZE), SIZE)
        with torch.no_grad():
            logits = model(torch.from_numpy(xs)).numpy()
        ref = {str(i): [float(v) for v in l] for i, l in zip(indices, logits)}
        with open(os.path.join(os.path.dirname(os.path.abspath(args.out)), "reference-logits.json"), "w") as f:
            json.dump({"note": "PyTorch logits for the sample slices' indices (raw value/4095 input)", "logits": ref}, f, indent=1)
            f.write("\n")
        print(f"wrote reference-logits.json for {len(indices)} sample indices")


if __name__ == "__main__":
    main()
