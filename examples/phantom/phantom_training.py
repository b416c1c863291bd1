"""What the three phantom demos' training scripts share: running generate.mjs in parallel, reading
its raw output, seeding torch, the optimiser schedule, and the ONNX export with simdcnn's metadata.

Imported by examples/phantom/train.py, examples/phantom-seg/train.py and
examples/phantom-detect/train.py (Debian's python3-torch and python3-onnx).
"""

import json
import os
import subprocess
import sys

import numpy as np
import torch

GENERATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "generate.mjs")


def start_torch(threads):
    """Fixed seeds and deterministic kernels, so that a rerun writes the same model."""
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    torch.set_flush_denormal(True)  # denormals slow CPU training down as weights shrink


def generate_range(start, count, tmp, name, size, parts=2):
    """Generates slices [start, start+count) in `parts` node processes at once (one per core) and
    returns their output folders, in index order."""
    step = (count + parts - 1) // parts
    procs, dirs = [], []
    for p in range(parts):
        s, n = start + p * step, min(step, count - p * step)
        if n <= 0:
            break
        d = os.path.join(tmp, f"{name}-{p}")
        dirs.append(d)
        procs.append(subprocess.Popen(["node", GENERATE, "--out", d, "--format", "raw", "--size", str(size),
                                       "--start", str(s), "--count", str(n)], stdout=subprocess.DEVNULL))
    for pr in procs:
        if pr.wait() != 0:
            sys.exit("generate.mjs failed")
    return dirs


def generate_indices(indices, out_dir, size):
    """Generates the slices of the given indices into out_dir and returns their folder."""
    subprocess.run(["node", GENERATE, "--out", out_dir, "--format", "raw", "--size", str(size),
                    "--indices", ",".join(map(str, indices))], check=True, stdout=subprocess.DEVNULL)
    return [out_dir]


def read_slices(dirs, size):
    """The slices as float32 [N,1,size,size], values 0..1."""
    return np.concatenate([np.fromfile(os.path.join(d, "slices.f32"), dtype="<f4").reshape(-1, 1, size, size) for d in dirs])


def read_masks(dirs, size):
    """The per-pixel classes (background, body, organ, lesion) as int64 [N,size,size]."""
    return np.concatenate([np.fromfile(os.path.join(d, "masks.u8"), dtype=np.uint8).reshape(-1, size, size) for d in dirs]).astype(np.int64)


def read_labels(dirs):
    """(labels [N] int64: 1 where a slice has a lesion, lesions: one dict or None per slice)."""
    labels, lesions = [], []
    for d in dirs:
        with open(os.path.join(d, "labels.json")) as f:
            meta = json.load(f)
        labels += meta["labels"]
        lesions += meta["lesions"]
    return np.asarray(labels, dtype=np.int64), lesions


def one_cycle(model, lr, epochs, count, batch):
    """AdamW under a one-cycle learning-rate schedule over all the steps of the run."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * ((count + batch - 1) // batch)
    return opt, torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)


def export(model, out, size, outputs, meta, doc, supported, fix=None):
    """Exports the model at opset 13 with a dynamic batch, lets `fix` edit the ONNX graph, sets
    simdcnn's metadata keys and the doc string, and refuses operators outside `supported` (the
    subset of src/onnx/ops.ts the demo is meant to use). Returns the sorted op types."""
    import onnx
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, size, size), out, opset_version=13, input_names=["slice"],
                      output_names=outputs, dynamic_axes={name: {0: "N"} for name in ["slice", *outputs]},
                      do_constant_folding=True)
    m = onnx.load(out)
    if fix is not None:
        fix(m)
    del m.metadata_props[:]
    for k, v in meta.items():
        m.metadata_props.add(key=k, value=v)
    m.doc_string = doc
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    bad = [o for o in ops if o not in supported]
    if bad:
        sys.exit(f"the export uses operators this demo does not expect: {bad}")
    onnx.save(m, out)
    return ops
