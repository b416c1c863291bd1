import { ACT_NONE } from "./activation";
import { unary_f32 } from "./elementwise";

// norm_f32: instance, group and layer normalization over x read as [outer, n, groups, cg]: the
// statistics of group g of outer index o are taken over its n * cg floats
// x[((o * n + k) * groups + g) * cg + j], and each of those becomes
//   y = act(((x - mean) * rstd) * scale[s] + bias[s]),  rstd = 1 / sqrt(var + eps),
// with s = g * cg + j (a scale per channel), or with perElement = 1 s = (k * groups + g) * cg + j
// (a scale per element of the normalized block, LayerNormalization's). mean and var are two
// passes: the sum of x, then the sum of (x - mean)^2, each divided by n * cg. A call handles
// `gcount` groups starting at x (and y, scale, bias); `groups` stays the stride.
//
// Order of the sums, the same in both builds:
// - cg == 1 (instance normalization of NHWC: one channel a group): each group's sum runs over k
//   in order; the SIMD build holds 16, then 4 groups in lanes, the scalar build one;
// - cg > 1: four partial sums, lane q taking j = q mod 4 below cg & ~3 for k in order, a tail sum
//   of the j from cg & ~3 on, for k in order; the sum is ((l0 + l1) + (l2 + l3)) + tail.
export function norm_f32(
  outer: i32, n: i32, groups: i32, gcount: i32, cg: i32, x: usize, scale: usize, bias: usize, y: usize,
  perElement: i32, eps: f32, act: i32, p0: f32, p1: f32,
): void {
  if (cg == 1) normChannels(outer, n, groups, gcount, x, scale, bias, y, perElement, eps, act, p0, p1);
  else normGroups(outer, n, groups, gcount, cg, x, scale, bias, y, perElement, eps, act, p0, p1);
}

function normChannels(
  outer: i32, n: i32, groups: i32, gcount: i32, x: usize, scale: usize, bias: usize, y: usize,
  perElement: i32, eps: f32, act: i32, p0: f32, p1: f32,
): void {
  const step = <usize>groups << 2;
  const cnt = <f32>n;
  for (let o = 0; o < outer; o++) {
    const off = <usize>o * <usize>n * <usize>groups << 2;
    const xo = x + off;
    const yo = y + off;
    let g = 0;
    if (ASC_FEATURE_SIMD) {
      const zero = f32x4.splat(0);
      const vc = f32x4.splat(cnt);
      const ve = f32x4.splat(eps);
      const one = f32x4.splat(1);
      for (; g + 16 <= gcount; g += 16) {
        const gb = <usize>g << 2;
        let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        let p = xo + gb;
        for (let k = 0; k < n; k++) {
          a0 = f32x4.add(a0, v128.load(p));
          a1 = f32x4.add(a1, v128.load(p, 16));
          a2 = f32x4.add(a2, v128.load(p, 32));
          a3 = f32x4.add(a3, v128.load(p, 48));
          p += step;
        }
        const m0 = f32x4.div(a0, vc), m1 = f32x4.div(a1, vc), m2 = f32x4.div(a2, vc), m3 = f32x4.div(a3, vc);
        a0 = zero;
        a1 = zero;
        a2 = zero;
        a3 = zero;
        p = xo + gb;
        for (let k = 0; k < n; k++) {
          const d0 = f32x4.sub(v128.load(p), m0);
          const d1 = f32x4.sub(v128.load(p, 16), m1);
          const d2 = f32x4.sub(v128.load(p, 32), m2);
          const d3 = f32x4.sub(v128.load(p, 48), m3);
          a0 = f32x4.add(a0, f32x4.mul(d0, d0));
          a1 = f32x4.add(a1, f32x4.mul(d1, d1));
          a2 = f32x4.add(a2, f32x4.mul(d2, d2));
          a3 = f32x4.add(a3, f32x4.mul(d3, d3));
          p += step;
        }
        const r0 = f32x4.div(one, f32x4.sqrt(f32x4.add(f32x4.div(a0, vc), ve)));
        const r1 = f32x4.div(one, f32x4.sqrt(f32x4.add(f32x4.div(a1, vc), ve)));
        const r2 = f32x4.div(one, f32x4.sqrt(f32x4.add(f32x4.div(a2, vc), ve)));
        const r3 = f32x4.div(one, f32x4.sqrt(f32x4.add(f32x4.div(a3, vc), ve)));
        for (let k = 0; k < n; k++) {
          const e = (<usize>k * step) + gb;
          const s = perElement ? e : gb;
          outVec(xo + e, yo + e, scale + s, bias + s, m0, r0);
          outVec(xo + e + 16, yo + e + 16, scale + s + 16, bias + s + 16, m1, r1);
          outVec(xo + e + 32, yo + e + 32, scale + s + 32, bias + s + 32, m2, r2);
          outVec(xo + e + 48, yo + e + 48, scale + s + 48, bias + s + 48, m3, r3);
        }
        activateRuns(yo + gb, n, step, 16, act, p0, p1);
      }
      for (; g + 4 <= gcount; g += 4) {
        const gb = <usize>g << 2;
        let a0 = zero;
        let p = xo + gb;
        for (let k = 0; k < n; k++) {
          a0 = f32x4.add(a0, v128.load(p));
          p += step;
        }
        const m0 = f32x4.div(a0, vc);
        a0 = zero;
        p = xo + gb;
        for (let k = 0; k < n; k++) {
          const d0 = f32x4.sub(v128.load(p), m0);
          a0 = f32x4.add(a0, f32x4.mul(d0, d0));
          p += step;
        }
        const r0 = f32x4.div(one, f32x4.sqrt(f32x4.add(f32x4.div(a0, vc), ve)));
        for (let k = 0; k < n; k++) {
          const e = (<usize>k * step) + gb;
          const s = perElement ? e : gb;
          outVec(xo + e, yo + e, scale + s, bias + s, m0, r0);
        }
        activateRuns(yo + gb, n, step, 4, act, p0, p1);
      }
    }
    for (; g < gcount; g++) {
      const gb = <usize>g << 2;
      let a: f32 = 0;
      let p = xo + gb;
      for (let k = 0; k < n; k++) {
        a = a + load<f32>(p);
        p += step;
      }
      const m = a / cnt;
      a = 0;
      p = xo + gb;
      for (let k = 0; k < n; k++) {
        const d = load<f32>(p) - m;
        a = a + d * d;
        p += step;
      }
      const r = <f32>1 / sqrt<f32>(a / cnt + eps);
      for (let k = 0; k < n; k++) {
        const e = (<usize>k * step) + gb;
        const s = perElement ? e : gb;
        outScalar(xo + e, yo + e, scale + s, bias + s, m, r);
      }
      activateRuns(yo + gb, n, step, 1, act, p0, p1);
    }
  }
}

function normGroups(
  outer: i32, n: i32, groups: i32, gcount: i32, cg: i32, x: usize, scale: usize, bias: usize, y: usize,
  perElement: i32, eps: f32, act: i32, p0: f32, p1: f32,
): void {
  const step = <usize>groups * <usize>cg << 2;
  const cg4 = cg & ~3;
  const cnt = <f32>n * <f32>cg;
  for (let o = 0; o < outer; o++) {
    const off = <usize>o * <usize>n * <usize>groups * <usize>cg << 2;
    for (let g = 0; g < gcount; g++) {
      const gb = <usize>g * <usize>cg << 2;
      const xg = x + off + gb;
      const yg = y + off + gb;
      const m = groupSum(n, cg, cg4, xg, step, 0, false) / cnt;
      const r = <f32>1 / sqrt<f32>(groupSum(n, cg, cg4, xg, step, m, true) / cnt + eps);
      for (let k = 0; k < n; k++) {
        const e = <usize>k * step;
        const s = perElement ? e + gb : gb;
        let j = 0;
        if (ASC_FEATURE_SIMD) {
          const vm = f32x4.splat(m);
          const vr = f32x4.splat(r);
          for (; j < cg4; j += 4) {
            const jb = <usize>j << 2;
            outVec(xg + e + jb, yg + e + jb, scale + s + jb, bias + s + jb, vm, vr);
          }
        }
        for (; j < cg; j++) {
          const jb = <usize>j << 2;
          outScalar(xg + e + jb, yg + e + jb, scale + s + jb, bias + s + jb, m, r);
        }
      }
      activateRuns(yg, n, step, cg, act, p0, p1);
    }
  }
}

// The sum of x (or, with centred, of (x - m)^2) over a group, in the order stated above.
@inline function groupSum(n: i32, cg: i32, cg4: i32, xg: usize, step: usize, m: f32, centred: bool): f32 {
  let l0: f32 = 0, l1: f32 = 0, l2: f32 = 0, l3: f32 = 0, t: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    const vm = f32x4.splat(m);
    let acc = f32x4.splat(0);
    for (let k = 0; k < n; k++) {
      const p = xg + <usize>k * step;
      for (let j = 0; j < cg4; j += 4) {
        let v = v128.load(p + (<usize>j << 2));
        if (centred) {
          v = f32x4.sub(v, vm);
          v = f32x4.mul(v, v);
        }
        acc = f32x4.add(acc, v);
      }
    }
    l0 = f32x4.extract_lane(acc, 0);
    l1 = f32x4.extract_lane(acc, 1);
    l2 = f32x4.extract_lane(acc, 2);
    l3 = f32x4.extract_lane(acc, 3);
  } else {
    for (let k = 0; k < n; k++) {
      const p = xg + <usize>k * step;
      for (let j = 0; j < cg4; j += 4) {
        const q = p + (<usize>j << 2);
        l0 = l0 + term(load<f32>(q), m, centred);
        l1 = l1 + term(load<f32>(q, 4), m, centred);
        l2 = l2 + term(load<f32>(q, 8), m, centred);
        l3 = l3 + term(load<f32>(q, 12), m, centred);
      }
    }
  }
  for (let k = 0; k < n; k++) {
    const p = xg + <usize>k * step;
    for (let j = cg4; j < cg; j++) t = t + term(load<f32>(p + (<usize>j << 2)), m, centred);
  }
  return ((l0 + l1) + (l2 + l3)) + t;
}

@inline function term(v: f32, m: f32, centred: bool): f32 {
  if (!centred) return v;
  const d = v - m;
  return d * d;
}

@inline function outVec(px: usize, py: usize, ps: usize, pb: usize, m: v128, r: v128): void {
  v128.store(py, f32x4.add(f32x4.mul(f32x4.mul(f32x4.sub(v128.load(px), m), r), v128.load(ps)), v128.load(pb)));
}

@inline function outScalar(px: usize, py: usize, ps: usize, pb: usize, m: f32, r: f32): void {
  store<f32>(py, ((load<f32>(px) - m) * r) * load<f32>(ps) + load<f32>(pb));
}

// The activation, over `runs` runs of `len` floats `stride` bytes apart, as a pass of its own
// after a group's stores: with the activation's out-of-line call (sigmoid, tanh) inside the store
// loop, V8 compiled that loop several times slower even when the call was never taken. Each run
// goes through unary_f32, which takes the kinds from sigmoid on in blocks of four vectors.
function activateRuns(p: usize, runs: i32, stride: usize, len: i32, act: i32, p0: f32, p1: f32): void {
  if (act == ACT_NONE) return;
  for (let r = 0; r < runs; r++) {
    const q = p + <usize>r * stride;
    unary_f32(len, q, q, act, p0, p1);
  }
}

// lpnorm_f32: LpNormalization, x read as [outer, n, inner] as in reduce_f32 (a call handles
// `cols` inner positions): y = x / ||x||_p over k, p = 1 or 2, with the norm summed in
// reduce_f32's order for that layout (so it equals ReduceL1 / ReduceL2 to the bit); where the
// norm is 0 the output is 0, as onnxruntime writes it.
export function lpnorm_f32(outer: i32, n: i32, inner: i32, cols: i32, x: usize, y: usize, p: i32): void {
  const two = p == 2;
  if (inner == 1) {
    const n4 = n & ~3;
    for (let o = 0; o < outer; o++) {
      const off = <usize>o * <usize>n << 2;
      const xo = x + off;
      let l0: f32 = 0, l1: f32 = 0, l2: f32 = 0, l3: f32 = 0;
      if (ASC_FEATURE_SIMD) {
        let acc = f32x4.splat(0);
        for (let k = 0; k < n4; k += 4) acc = f32x4.add(acc, lpTermVec(v128.load(xo + (<usize>k << 2)), two));
        l0 = f32x4.extract_lane(acc, 0);
        l1 = f32x4.extract_lane(acc, 1);
        l2 = f32x4.extract_lane(acc, 2);
        l3 = f32x4.extract_lane(acc, 3);
      } else {
        for (let k = 0; k < n4; k += 4) {
          const q = xo + (<usize>k << 2);
          l0 = l0 + lpTerm(load<f32>(q), two);
          l1 = l1 + lpTerm(load<f32>(q, 4), two);
          l2 = l2 + lpTerm(load<f32>(q, 8), two);
          l3 = l3 + lpTerm(load<f32>(q, 12), two);
        }
      }
      let s = (l0 + l1) + (l2 + l3);
      for (let k = n4; k < n; k++) s = s + lpTerm(load<f32>(xo + (<usize>k << 2)), two);
      divideRun(n, xo, y + off, two ? sqrt<f32>(s) : s);
    }
    return;
  }
  const step = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const off = <usize>o * <usize>n * <usize>inner << 2;
    for (let i = 0; i < cols; i++) {
      const xi = x + off + (<usize>i << 2);
      const yi = y + off + (<usize>i << 2);
      let s: f32 = 0;
      for (let k = 0; k < n; k++) s = s + lpTerm(load<f32>(xi + <usize>k * step), two);
      const norm = two ? sqrt<f32>(s) : s;
      for (let k = 0; k < n; k++) {
        const e = <usize>k * step;
        store<f32>(yi + e, norm != 0 ? load<f32>(xi + e) / norm : 0);
      }
    }
  }
}

@inline function lpTerm(v: f32, two: bool): f32 {
  return two ? v * v : abs<f32>(v);
}

@inline function lpTermVec(v: v128, two: bool): v128 {
  return two ? f32x4.mul(v, v) : f32x4.abs(v);
}

// y = x / norm over a contiguous run, 0 where the norm is 0.
@inline function divideRun(n: i32, x: usize, y: usize, norm: f32): void {
  if (norm == 0) {
    memory.fill(y, 0, <usize>n << 2);
    return;
  }
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    const vn = f32x4.splat(norm);
    for (; k + 4 <= n; k += 4) {
      const b = <usize>k << 2;
      v128.store(y + b, f32x4.div(v128.load(x + b), vn));
    }
  }
  for (; k < n; k++) {
    const b = <usize>k << 2;
    store<f32>(y + b, load<f32>(x + b) / norm);
  }
}
