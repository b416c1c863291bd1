#!/usr/bin/python3
"""Trains the phantom segmentation demo's U-Net and exports it to ONNX for simdcnn.

A demonstration, not a clinical tool: the data are synthetic slices from
examples/phantom/generate.mjs, whose masks say which pixels are background, body, organ and lesion.

Needs Debian's PyTorch and ONNX (PyPI is not needed):
    apt-get update && apt-get install -y python3-torch python3-onnx
    /usr/bin/python3 examples/phantom-seg/train.py        # from the repository root

It generates training slices (indices 100000..100000+TRAIN-1) and a validation set (120000..120249),
both disjoint from the classifier demo's and from evaluate.mjs's test set (150000..150499), trains
on the CPU with fixed seeds, and writes next to this file:
    phantom-seg.onnx   opset 13, input 'slice' [N,1,128,128] (0..1), output 'scores' [N,4,128,128]
                       (logits), ConvTranspose up-path; metadata_props simdcnn:labels/colors/
                       background/resize/normalize/output
    reference/         PyTorch's masks of the sample slices (examples/phantom/samples), as 8-bit
                       PNGs, and reference.json: for each, the pixels where PyTorch's best two
                       scores are closer than TIE (there float rounding may pick either class)
"""

import argparse
import json
import os
import struct
import sys
import tempfile
import time
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "phantom"))
from phantom_training import export, generate_indices, generate_range, one_cycle, read_masks, read_slices, start_torch  # noqa: E402
SAMPLES = os.path.join(HERE, "..", "phantom", "samples", "samples.json")
SIZE = 128
TRAIN_START = 100000
VAL_START, VAL_COUNT = 120000, 250
LABELS = ["background", "body", "organ", "lesion"]
COLORS = ["#000000", "#4f8fd6", "#3cb371", "#ff3b30"]
TIE = 1e-3
SUPPORTED = {"Concat", "Conv", "ConvTranspose", "MaxPool", "Relu"}


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Encoder: a double 3x3 conv block per level, 2x2 max-pool between levels. Decoder: a 2x2
    stride-2 ConvTranspose up, concatenated with the encoder's map of that level, a double conv
    block. A 1x1 conv to one score per class."""

    def __init__(self, widths, classes=len(LABELS)):
        super().__init__()
        self.down = nn.ModuleList()
        c = 1
        for w in widths:
            self.down.append(block(c, w))
            c = w
        self.ups = nn.ModuleList()
        self.up_blocks = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.ups.append(nn.ConvTranspose2d(c, w, 2, stride=2))
            self.up_blocks.append(block(2 * w, w))
            c = w
        self.head = nn.Conv2d(c, classes, 1)

    def forward(self, x):
        skips = []
        for i, b in enumerate(self.down):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = b(x)
            skips.append(x)
        for up, b, skip in zip(self.ups, self.up_blocks, reversed(skips[:-1])):
            x = b(torch.cat([up(x), skip], 1))
        return self.head(x)


def crops(rng, x, masks, lesion_at, size):
    """A size x size crop of each slice: around its lesion (anywhere in the crop) for 3 in 4 lesion
    slices, else anywhere. A fully convolutional net learns the same from a crop as from the
    slice, at a quarter of the cost; the lesion-biased choice keeps lesions as frequent as in
    whole slices."""
    n, s = len(x), x.shape[-1]
    xs = np.empty((n, 1, size, size), np.float32)
    ms = np.empty((n, size, size), np.int64)
    for i in range(n):
        if lesion_at[i] is not None and rng.random() < 0.75:
            cy, cx = lesion_at[i]
            y0 = int(np.clip(cy - rng.integers(8, size - 8), 0, s - size))
            x0 = int(np.clip(cx - rng.integers(8, size - 8), 0, s - size))
        else:
            y0, x0 = rng.integers(0, s - size + 1, 2)
        xs[i] = x[i, :, y0:y0 + size, x0:x0 + size]
        ms[i] = masks[i, y0:y0 + size, x0:x0 + size]
    return xs, ms


def dice_loss(logits, target, classes):
    """1 - soft Dice, averaged over the non-background classes, pooled over the batch."""
    p = F.softmax(logits, 1)
    onehot = F.one_hot(target, len(LABELS)).permute(0, 3, 1, 2).float()
    inter = (p * onehot).sum((0, 2, 3))
    denom = p.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    return 1 - ((2 * inter + 1) / (denom + 1))[classes].mean()


def dice(pred, truth, cls):
    a, b = pred == cls, truth == cls
    s = a.sum() + b.sum()
    return 2 * (a & b).sum() / s if s else 1.0


def predict(model, x, batch=50):
    model.eval()
    with torch.no_grad():
        return np.concatenate([model(torch.from_numpy(x[i:i + batch])).numpy() for i in range(0, len(x), batch)])


def png_grey8(path, pixels):
    """An 8-bit greyscale PNG, written with zlib (no image library needed)."""
    h, w = pixels.shape
    raw = b"".join(b"\0" + pixels[y].astype(np.uint8).tobytes() for y in range(h))
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def references(model, out_dir):
    """PyTorch's masks of the sample PNGs, from exactly what simdcnn feeds the model: the 16-bit
    value / 65535, in float32."""
    with open(SAMPLES) as f:
        files = json.load(f)["files"]
    indices = [v["index"] for v in files.values()]
    with tempfile.TemporaryDirectory() as tmp:
        v = np.rint(read_slices(generate_indices(indices, tmp, SIZE), SIZE).astype(np.float64) * 4095)
    x = (np.rint(v * 65535 / 4095) / 65535).astype(np.float32)
    scores = predict(model, x)
    os.makedirs(out_dir, exist_ok=True)
    ties = {}
    for name, s in zip(files, scores):
        stem = name[:-len(".png")]
        png_grey8(os.path.join(out_dir, f"{stem}.mask.png"), s.argmax(0))
        top = np.sort(s, 0)
        ties[stem] = [int(i) for i in np.flatnonzero((top[-1] - top[-2]).ravel() < TIE)]
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump({"note": f"PyTorch's masks of examples/phantom/samples (input: 16-bit value / 65535); 'ties': pixels "
                           f"(row * {SIZE} + column) whose best two scores differ by less than {TIE}",
                   "labels": LABELS, "ties": ties}, f, indent=1)
        f.write("\n")
    return len(files)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=3000, help="training slices")
    ap.add_argument("--epochs", type=int, default=7)
    ap.add_argument("--crop", type=int, default=64, help="side of the random crops trained on (the slices are 128)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--widths", default="8,16,32,48", help="channels per level, top to bottom")
    # One thread: on a shared machine, a second one mostly waits for the first at every layer.
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(HERE, "phantom-seg.onnx"))
    args = ap.parse_args()

    start_torch(args.threads)

    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        train = generate_range(TRAIN_START, args.train, tmp, "train", SIZE)
        val = generate_range(VAL_START, VAL_COUNT, tmp, "val", SIZE)
        xtr, mtr = read_slices(train, SIZE), read_masks(train, SIZE)
        xva, mva = read_slices(val, SIZE), read_masks(val, SIZE)
    lesion_at = [tuple(np.argwhere(m == 3).mean(0).round().astype(int)) if (m == 3).any() else None for m in mtr]
    print(f"data: {len(xtr)} training slices, {len(xva)} validation; {time.time() - t0:.0f} s", flush=True)

    widths = [int(w) for w in args.widths.split(",")]
    model = UNet(widths)
    print(f"U-Net {widths}: {sum(p.numel() for p in model.parameters())} parameters", flush=True)
    opt, sched = one_cycle(model, args.lr, args.epochs, len(xtr), args.batch)
    rng = np.random.default_rng(0)
    t1 = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(xtr))
        total, seen = 0.0, 0
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            xb, mb = crops(rng, xtr[idx], mtr[idx], [lesion_at[j] for j in idx], args.crop)
            if rng.random() < 0.5:
                xb, mb = xb[..., ::-1], mb[..., ::-1]
            if rng.random() < 0.5:
                xb, mb = xb[..., ::-1, :], mb[..., ::-1, :]
            xb = torch.from_numpy(np.ascontiguousarray(xb))
            mb = torch.from_numpy(np.ascontiguousarray(mb))
            logits = model(xb)
            # Lesions cover a fraction of a percent of the pixels: the Dice terms keep them from being ignored.
            loss = F.cross_entropy(logits, mb) + dice_loss(logits, mb, [1, 2, 3]) + dice_loss(logits, mb, [3])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        pred = predict(model, xva).argmax(1)
        d = [dice(pred, mva, c) for c in (1, 2, 3)]
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / seen:.4f}, validation Dice body {d[0]:.4f} organ {d[1]:.4f} "
              f"lesion {d[2]:.4f}, {time.time() - t1:.0f} s", flush=True)
    train_seconds = time.time() - t1

    meta = {
        "simdcnn:labels": json.dumps(LABELS),
        "simdcnn:colors": json.dumps(COLORS),
        "simdcnn:background": "0",
        "simdcnn:resize": "bilinear",
        "simdcnn:normalize": "unit",
        "simdcnn:output": "softmax",
    }
    doc = "simdcnn phantom segmentation demo: background, body, organ, lesion on synthetic MR-like slices. A demonstration, not a clinical tool."
    ops = export(model, args.out, SIZE, ["scores"], meta, doc, SUPPORTED)
    print(f"wrote {args.out}: {os.path.getsize(args.out)} bytes, ops {ops}; training took {train_seconds:.0f} s, "
          f"{time.time() - t0:.0f} s in all")
    n = references(model, os.path.join(os.path.dirname(os.path.abspath(args.out)), "reference"))
    print(f"wrote reference/ masks for {n} sample slices")


if __name__ == "__main__":
    main()
