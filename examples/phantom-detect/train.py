#!/usr/bin/python3
"""Trains the phantom detection demo's lesion detector and exports it to ONNX for simdcnn.

A demonstration, not a clinical tool: the data are synthetic slices from
examples/phantom/generate.mjs, which says where each slice's lesion is (centre x, y and radius r,
pixel (i, j) centred at (i, j)), or that it has none.

Needs Debian's PyTorch and ONNX (PyPI is not needed):
    apt-get update && apt-get install -y python3-torch python3-onnx
    /usr/bin/python3 examples/phantom-detect/train.py        # from the repository root

It generates training slices (indices 200000..200000+TRAIN-1) and a validation set
(220000..220249), disjoint from the other demos' and from evaluate.mjs's test set
(250000..250499), trains on the CPU with fixed seeds, and writes next to this file:
    phantom-detect.onnx   opset 13, input 'slice' [N,1,128,128] (0..1), outputs 'boxes'
                          [N,256,4] (centre x, centre y, width, height in input pixels) and
                          'scores' [N,256,1] (the lesion probability of each of 16 x 16 cells);
                          metadata_props simdcnn:labels/resize/normalize/detection/box_format/box_units

The detector is a single-scale grid detector: a small convolutional backbone down to a 16 x 16
grid of 8-pixel cells; each cell predicts, through sigmoids, whether a lesion's centre lies in it,
where in the cell, and the box's width and height (up to 32 pixels). That decoding is part of the
graph, so the model ends at boxes + scores and simdcnn's non-maximum suppression does the rest.
A lesion's true box is its disc's bounding box in pixel-edge coordinates (pixel i spans i..i+1):
centre (x + 0.5, y + 0.5), side 2r.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "phantom"))
from phantom_training import export, generate_range, one_cycle, read_labels, read_slices, start_torch  # noqa: E402
SIZE = 128
STRIDE = 8
GRID = SIZE // STRIDE
MAX_SIDE = 32.0
TRAIN_START = 200000
VAL_START, VAL_COUNT = 220000, 250
SUPPORTED = {"Add", "Concat", "Constant", "Conv", "MaxPool", "Mul", "Relu", "Reshape", "Sigmoid", "Slice", "Transpose"}


def true_box(lesion):
    """A lesion's box, (x0, y0, x1, y1) in pixel-edge coordinates."""
    cx, cy, r = lesion["x"] + 0.5, lesion["y"] + 0.5, lesion["r"]
    return (cx - r, cy - r, cx + r, cy + r)


def targets(lesions, grid):
    """Per slice and cell of a grid x grid map: objectness [N,g,g], and the box target (offsets in
    the cell, side / MAX_SIDE) [N,4,g,g]."""
    n = len(lesions)
    obj = np.zeros((n, grid, grid), np.float32)
    box = np.zeros((n, 4, grid, grid), np.float32)
    for i, l in enumerate(lesions):
        if l is None:
            continue
        cx, cy = l["x"] + 0.5, l["y"] + 0.5
        gx, gy = min(int(cx // STRIDE), grid - 1), min(int(cy // STRIDE), grid - 1)
        obj[i, gy, gx] = 1
        box[i, :, gy, gx] = (cx / STRIDE - gx, cy / STRIDE - gy, 2 * l["r"] / MAX_SIDE, 2 * l["r"] / MAX_SIDE)
    return obj, box


def crops(rng, x, lesions, size):
    """A size x size crop of each slice at a cell-aligned offset (so the grid's cells stay the
    model's cells): around its lesion for 3 in 4 lesion slices, else anywhere; the lesions are
    moved into the crop's coordinates (none when the centre falls outside it). A fully
    convolutional backbone learns the same from a crop as from the slice, at a fraction of the cost."""
    n, cells = len(x), (SIZE - size) // STRIDE
    xs = np.empty((n, 1, size, size), np.float32)
    out = []
    for i, l in enumerate(lesions):
        if l is not None and rng.random() < 0.75:
            gx, gy = int((l["x"] + 0.5) // STRIDE), int((l["y"] + 0.5) // STRIDE)
            span = size // STRIDE
            cx0 = int(np.clip(gx - rng.integers(1, span - 1), 0, cells))
            cy0 = int(np.clip(gy - rng.integers(1, span - 1), 0, cells))
        else:
            cx0, cy0 = rng.integers(0, cells + 1, 2)
        x0, y0 = int(cx0) * STRIDE, int(cy0) * STRIDE
        xs[i] = x[i, :, y0:y0 + size, x0:x0 + size]
        inside = l is not None and 0 <= l["x"] + 0.5 - x0 < size and 0 <= l["y"] + 0.5 - y0 < size
        out.append({**l, "x": l["x"] - x0, "y": l["y"] - y0} if inside else None)
    return xs, out


def conv(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Detector(nn.Module):
    """Two 3x3 convolutions per level (8, 16, 32, 32 channels), 2x2 max-pools between levels
    (128 -> 16), a 1x1 convolution to 5 maps (x, y, w, h, objectness), decoded to boxes in input
    pixels and scores."""

    def __init__(self, widths):
        super().__init__()
        layers, c = [], 1
        for i, w in enumerate(widths):
            if i > 0:
                layers.append(nn.MaxPool2d(2))
            layers += [conv(c, w), conv(w, w)]
            c = w
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(c, 5, 1)
        gy, gx = torch.meshgrid(torch.arange(GRID, dtype=torch.float32), torch.arange(GRID, dtype=torch.float32), indexing="ij")
        self.register_buffer("grid", torch.stack([gx, gy]).unsqueeze(0))

    def raw(self, x):
        return self.head(self.body(x))

    def forward(self, x):
        t = torch.sigmoid(self.raw(x))
        centre = (t[:, 0:2] + self.grid) * STRIDE
        side = t[:, 2:4] * MAX_SIDE
        boxes = torch.cat([centre, side], 1).reshape(-1, 4, GRID * GRID).transpose(1, 2)
        scores = t[:, 4:5].reshape(-1, 1, GRID * GRID).transpose(1, 2)
        return boxes, scores


def loss_of(raw, obj, box):
    """Objectness: binary cross-entropy over every cell (mean per slice). Box: binary
    cross-entropy of the sigmoids against the targets, on the cells that hold a lesion's centre."""
    lo = F.binary_cross_entropy_with_logits(raw[:, 4], obj, reduction="sum") / len(raw)
    pos = obj > 0
    if not pos.any():
        return lo
    r = raw[:, :4].permute(0, 2, 3, 1)[pos]
    b = box.permute(0, 2, 3, 1)[pos]
    return lo + 5 * F.binary_cross_entropy_with_logits(r, b)


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def average_precision(model, x, lesions):
    """AP@0.5 of the best-scoring cell per slice (no NMS: a quick check during training; evaluate.mjs measures the real thing)."""
    model.eval()
    with torch.no_grad():
        boxes, scores = model(torch.from_numpy(x))
    dets = []
    for i in range(len(x)):
        k = int(scores[i, :, 0].argmax())
        cx, cy, w, h = boxes[i, k].tolist()
        dets.append((float(scores[i, k, 0]), i, (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)))
    dets.sort(key=lambda d: -d[0])
    positives = sum(l is not None for l in lesions)
    tp, precisions = 0, []
    for rank, (_, i, b) in enumerate(dets, 1):
        if lesions[i] is not None and iou(b, true_box(lesions[i])) >= 0.5:
            tp += 1
            precisions.append(tp / rank)
    # Precision at each recall step, made monotone from the right (all-point interpolation).
    for j in range(len(precisions) - 2, -1, -1):
        precisions[j] = max(precisions[j], precisions[j + 1])
    return sum(precisions) / positives


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=4000, help="training slices")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--crop", type=int, default=64, help="side of the cell-aligned crops trained on (the slices are 128)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--widths", default="8,16,32,32", help="channels per level, top to bottom")
    # One thread: on a shared machine, a second one mostly waits for the first at every layer.
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(HERE, "phantom-detect.onnx"))
    args = ap.parse_args()

    start_torch(args.threads)

    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        train = generate_range(TRAIN_START, args.train, tmp, "train", SIZE)
        val = generate_range(VAL_START, VAL_COUNT, tmp, "val", SIZE)
        xtr, (_, ltr) = read_slices(train, SIZE), read_labels(train)
        xva, (_, lva) = read_slices(val, SIZE), read_labels(val)
    print(f"data: {len(xtr)} training slices, {len(xva)} validation; {time.time() - t0:.0f} s", flush=True)

    widths = [int(w) for w in args.widths.split(",")]
    model = Detector(widths)
    print(f"detector {widths}: {sum(p.numel() for p in model.parameters())} parameters", flush=True)
    opt, sched = one_cycle(model, args.lr, args.epochs, len(xtr), args.batch)
    rng = np.random.default_rng(0)
    t1 = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(xtr))
        total, seen = 0.0, 0
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            xb, lb = crops(rng, xtr[idx], [ltr[j] for j in idx], args.crop)
            # Flips, with the lesions flipped alike (pixel i goes to crop - 1 - i).
            if rng.random() < 0.5:
                xb = xb[..., ::-1]
                lb = [None if l is None else {**l, "x": args.crop - 1 - l["x"]} for l in lb]
            if rng.random() < 0.5:
                xb = xb[..., ::-1, :]
                lb = [None if l is None else {**l, "y": args.crop - 1 - l["y"]} for l in lb]
            obj, box = targets(lb, args.crop // STRIDE)
            raw = model.raw(torch.from_numpy(np.ascontiguousarray(xb)))
            loss = loss_of(raw, torch.from_numpy(obj), torch.from_numpy(box))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        ap50 = average_precision(model, xva, lva)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / seen:.4f}, validation AP@0.5 (best cell) {ap50:.4f}, "
              f"{time.time() - t1:.0f} s", flush=True)
    train_seconds = time.time() - t1

    def fixed_output_sizes(m):
        # The export leaves the reshaped outputs' sizes symbolic; they are fixed, and declared so.
        for o, last in zip(m.graph.output, (4, 1)):
            dims = o.type.tensor_type.shape.dim
            dims[1].ClearField("dim_param")
            dims[1].dim_value = GRID * GRID
            dims[2].ClearField("dim_param")
            dims[2].dim_value = last

    meta = {
        "simdcnn:labels": json.dumps(["lesion"]),
        "simdcnn:resize": "bilinear",
        "simdcnn:normalize": "unit",
        "simdcnn:detection": "boxes-scores",
        "simdcnn:box_format": "cxcywh",
        "simdcnn:box_units": "pixels",
    }
    doc = "simdcnn phantom detection demo: lesion boxes on synthetic MR-like slices. A demonstration, not a clinical tool."
    ops = export(model, args.out, SIZE, ["boxes", "scores"], meta, doc, SUPPORTED, fix=fixed_output_sizes)
    print(f"wrote {args.out}: {os.path.getsize(args.out)} bytes, ops {ops}; training took {train_seconds:.0f} s, "
          f"{time.time() - t0:.0f} s in all")

if __name__ == "__main__":
    main()
