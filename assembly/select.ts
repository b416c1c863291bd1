// TopK and NonMaxSuppression: orderings of float32 scores, plain scalar code (data-dependent
// branches, no arithmetic that a vector build could do differently), so both builds agree.

// Whether the value at i goes before the one at j: larger first (or smaller first when largest
// is 0), NaN before every number when largest and after every number otherwise. Equal values
// keep their order, since the sort below is stable.
@inline function before(vi: f32, vj: f32, largest: i32): bool {
  if (largest != 0) return vi > vj || (vi != vi && vj == vj);
  return vi < vj || (vi == vi && vj != vj);
}

// Stable bottom-up merge sort of n int32 positions at `idx` by the floats at v + pos * strideBytes;
// tmp holds n int32. The sorted positions end at `idx`.
function sortPositions(n: i32, v: usize, strideBytes: usize, idx: usize, tmp: usize, largest: i32): void {
  let src = idx;
  let dst = tmp;
  for (let width = 1; width < n; width <<= 1) {
    for (let lo = 0; lo < n; lo += width << 1) {
      const mid = min(lo + width, n);
      const hi = min(lo + (width << 1), n);
      let a = lo;
      let b = mid;
      let k = lo;
      while (a < mid && b < hi) {
        const pa = load<i32>(src + (<usize>a << 2));
        const pb = load<i32>(src + (<usize>b << 2));
        // b goes first only when strictly before a: ties keep a's earlier position.
        if (before(load<f32>(v + <usize>pb * strideBytes), load<f32>(v + <usize>pa * strideBytes), largest)) {
          store<i32>(dst + (<usize>(k++) << 2), pb);
          b++;
        } else {
          store<i32>(dst + (<usize>(k++) << 2), pa);
          a++;
        }
      }
      while (a < mid) store<i32>(dst + (<usize>(k++) << 2), load<i32>(src + (<usize>(a++) << 2)));
      while (b < hi) store<i32>(dst + (<usize>(k++) << 2), load<i32>(src + (<usize>(b++) << 2)));
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src != idx) memory.copy(idx, src, <usize>n << 2);
}

// topk_f32: x is [outer, axisLen, inner]; y (int32) is [outer, k, inner]: the positions along the
// axis of the k largest (or smallest) values of each line, in order, ties to the lower position.
// scratch holds 2 * axisLen int32.
export function topk_f32(outer: i32, axisLen: i32, inner: i32, k: i32, x: usize, scratch: usize, y: usize, largest: i32): void {
  const idx = scratch;
  const tmp = scratch + (<usize>axisLen << 2);
  const strideBytes = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < inner; c++) {
      const line = x + ((<usize>o * <usize>axisLen * <usize>inner + <usize>c) << 2);
      for (let j = 0; j < axisLen; j++) store<i32>(idx + (<usize>j << 2), j);
      sortPositions(axisLen, line, strideBytes, idx, tmp, largest);
      const out = y + ((<usize>o * <usize>k * <usize>inner + <usize>c) << 2);
      for (let j = 0; j < k; j++) store<i32>(out + <usize>j * strideBytes, load<i32>(idx + (<usize>j << 2)));
    }
  }
}

// Whether boxes i and j (4 floats each) overlap by more than `iou`: corners [y1, x1, y2, x2] in
// either order (centerPointBox 0) or [x centre, y centre, width, height] (1), as ONNX defines;
// boxes that do not intersect, or of zero area, never suppress.
@inline function overlaps(bi: usize, bj: usize, centerPointBox: i32, iou: f32): bool {
  let ymin1: f32, xmin1: f32, ymax1: f32, xmax1: f32, ymin2: f32, xmin2: f32, ymax2: f32, xmax2: f32;
  if (centerPointBox == 0) {
    ymin1 = min(load<f32>(bi), load<f32>(bi, 8));
    ymax1 = max(load<f32>(bi), load<f32>(bi, 8));
    xmin1 = min(load<f32>(bi, 4), load<f32>(bi, 12));
    xmax1 = max(load<f32>(bi, 4), load<f32>(bi, 12));
    ymin2 = min(load<f32>(bj), load<f32>(bj, 8));
    ymax2 = max(load<f32>(bj), load<f32>(bj, 8));
    xmin2 = min(load<f32>(bj, 4), load<f32>(bj, 12));
    xmax2 = max(load<f32>(bj, 4), load<f32>(bj, 12));
  } else {
    const w1 = load<f32>(bi, 8) / 2;
    const h1 = load<f32>(bi, 12) / 2;
    const w2 = load<f32>(bj, 8) / 2;
    const h2 = load<f32>(bj, 12) / 2;
    xmin1 = load<f32>(bi) - w1;
    xmax1 = load<f32>(bi) + w1;
    ymin1 = load<f32>(bi, 4) - h1;
    ymax1 = load<f32>(bi, 4) + h1;
    xmin2 = load<f32>(bj) - w2;
    xmax2 = load<f32>(bj) + w2;
    ymin2 = load<f32>(bj, 4) - h2;
    ymax2 = load<f32>(bj, 4) + h2;
  }
  const ix0 = max(xmin1, xmin2);
  const ix1 = min(xmax1, xmax2);
  if (ix1 <= ix0) return false;
  const iy0 = max(ymin1, ymin2);
  const iy1 = min(ymax1, ymax2);
  if (iy1 <= iy0) return false;
  const inter = (ix1 - ix0) * (iy1 - iy0);
  const area1 = (xmax1 - xmin1) * (ymax1 - ymin1);
  const area2 = (xmax2 - xmin2) * (ymax2 - ymin2);
  const union = area1 + area2 - inter;
  if (inter <= 0 || area1 <= 0 || area2 <= 0 || union <= 0) return false;
  return inter / union > iou;
}

// nms_f32: boxes [batches, n, 4], scores [batches, classes, n]. For each batch and class, the
// boxes scoring above scoreThreshold (all of them when useScore is 0) are taken by falling score
// (ties: lower box first), each kept unless it overlaps a kept one by more than iou, up to maxOut
// per class. y (int32) gets rows [batch, class, box] in that order, then zero rows up to
// `rows`, then at y + rows * 12 the number of real rows. scratch holds 2 * n int32.
export function nms_f32(
  batches: i32, classes: i32, n: i32, maxOut: i32, rows: i32, boxes: usize, scores: usize, scratch: usize, y: usize,
  centerPointBox: i32, iou: f32, scoreThreshold: f32, useScore: i32,
): void {
  const idx = scratch;
  const tmp = scratch + (<usize>n << 2);
  let count = 0;
  for (let b = 0; b < batches; b++) {
    const bb = boxes + ((<usize>b * <usize>n * 4) << 2);
    for (let c = 0; c < classes; c++) {
      const sc = scores + ((<usize>(b * classes + c) * <usize>n) << 2);
      let m = 0;
      for (let j = 0; j < n; j++) {
        if (useScore == 0 || load<f32>(sc + (<usize>j << 2)) > scoreThreshold) store<i32>(idx + (<usize>(m++) << 2), j);
      }
      sortPositions(m, sc, 4, idx, tmp, 1);
      const first = count;
      for (let q = 0; q < m && count - first < maxOut; q++) {
        const j = load<i32>(idx + (<usize>q << 2));
        const bj = bb + (<usize>j << 4);
        let keep = true;
        for (let r = first; r < count; r++) {
          const kept = load<i32>(y + (<usize>(r * 3 + 2) << 2));
          if (overlaps(bb + (<usize>kept << 4), bj, centerPointBox, iou)) {
            keep = false;
            break;
          }
        }
        if (!keep) continue;
        const row = y + (<usize>(count * 3) << 2);
        store<i32>(row, b);
        store<i32>(row, c, 4);
        store<i32>(row, j, 8);
        count++;
      }
    }
  }
  memory.fill(y + (<usize>(count * 3) << 2), 0, <usize>(rows - count) * 12);
  store<i32>(y + (<usize>rows * 12), count);
}
