import { ACT_CLAMP, ACT_LEAKY, ACT_NONE, activateScalar, activateVec } from "./activation";
import { activateRows } from "./tile_store";

// Channels per packed weight block: one f32x4. Part of the ABI (the host sizes packed weights by it).
export const DWCONV_CB: i32 = 4;

// dwconv_f32: depthwise convolution (one filter per channel), NHWC, c channels per pixel.
// ind: ks i32 entries per output pixel (conv2d_indirection with mr = 1): byte offsets from `a`,
// or -1 for the zero row (at least c floats). w: per 4-channel block [bias 4][ks x 4] floats,
// zero-padded past c. Each output is bias + taps in order, in both builds.
export function dwconv_f32(
  m: i32, c: i32, ks: i32, a: usize, ind: usize, zero: usize, w: usize, out: usize,
  act: i32, p0: f32, p1: f32,
): void {
  // Inlined copies for 3x3 windows (the weight blocks' distance becomes an immediate offset) and
  // for clamp, none and leaky relu (no branch on the kind per stored vector). The kinds from
  // sigmoid on take the copy without an activation and then go over each pixel's channels while
  // they are in L1 (tile_store.ts's activateRows says why).
  if (ks == 9) {
    if (act == ACT_CLAMP) dwconvBody(m, c, 9, a, ind, zero, w, out, ACT_CLAMP, ACT_NONE, p0, p1);
    else if (act == ACT_NONE) dwconvBody(m, c, 9, a, ind, zero, w, out, ACT_NONE, ACT_NONE, p0, p1);
    else if (act == ACT_LEAKY) dwconvBody(m, c, 9, a, ind, zero, w, out, ACT_LEAKY, ACT_NONE, p0, p1);
    else dwconvBody(m, c, 9, a, ind, zero, w, out, ACT_NONE, act, p0, p1);
  } else if (act == ACT_CLAMP) dwconvBody(m, c, ks, a, ind, zero, w, out, ACT_CLAMP, ACT_NONE, p0, p1);
  else if (act == ACT_NONE) dwconvBody(m, c, ks, a, ind, zero, w, out, ACT_NONE, ACT_NONE, p0, p1);
  else if (act == ACT_LEAKY) dwconvBody(m, c, ks, a, ind, zero, w, out, ACT_LEAKY, ACT_NONE, p0, p1);
  else dwconvBody(m, c, ks, a, ind, zero, w, out, ACT_NONE, act, p0, p1);
}

@inline function dwconvBody(
  m: i32, c: i32, ks: i32, a: usize, ind: usize, zero: usize, w: usize, out: usize,
  act: i32, post: i32, p0: f32, p1: f32,
): void {
  const blockBytes = <usize>(ks + 1) * (DWCONV_CB << 2);
  const c4 = c & ~3;
  for (let p = 0; p < m; p++) {
    const indP = ind + <usize>(p * ks) * 4;
    const outP = out + <usize>(p * c) * 4;
    let cb = 0;
    if (ASC_FEATURE_SIMD) {
      // 16 channels at a time: four independent chains of additions in flight, one tap per
      // iteration, so the loads of a tap are all the loop holds at once.
      for (; cb + 16 <= c4; cb += 16) {
        let wt = w + <usize>(cb >> 2) * blockBytes;
        const off = <usize>cb << 2;
        let acc0 = v128.load(wt);
        let acc1 = v128.load(wt + blockBytes);
        let acc2 = v128.load(wt + 2 * blockBytes);
        let acc3 = v128.load(wt + 3 * blockBytes);
        for (let t = 0; t < ks; t++) {
          const o = load<i32>(indP + (<usize>t << 2));
          const ip = (o < 0 ? zero : a + <usize>o) + off;
          wt += 16;
          acc0 = f32x4.add(acc0, f32x4.mul(v128.load(ip), v128.load(wt)));
          acc1 = f32x4.add(acc1, f32x4.mul(v128.load(ip, 16), v128.load(wt + blockBytes)));
          acc2 = f32x4.add(acc2, f32x4.mul(v128.load(ip, 32), v128.load(wt + 2 * blockBytes)));
          acc3 = f32x4.add(acc3, f32x4.mul(v128.load(ip, 48), v128.load(wt + 3 * blockBytes)));
        }
        v128.store(outP + off, activateVec(acc0, act, p0, p1));
        v128.store(outP + off, activateVec(acc1, act, p0, p1), 16);
        v128.store(outP + off, activateVec(acc2, act, p0, p1), 32);
        v128.store(outP + off, activateVec(acc3, act, p0, p1), 48);
      }
      for (; cb + 8 <= c4; cb += 8) {
        const w0 = w + <usize>(cb >> 2) * blockBytes;
        const w1 = w0 + blockBytes;
        const off = <usize>cb << 2;
        let acc0 = v128.load(w0);
        let acc1 = v128.load(w1);
        for (let t = 0; t < ks; t++) {
          const o = load<i32>(indP + (<usize>t << 2));
          const ip = (o < 0 ? zero : a + <usize>o) + off;
          const wo = <usize>(t + 1) << 4;
          acc0 = f32x4.add(acc0, f32x4.mul(v128.load(ip), v128.load(w0 + wo)));
          acc1 = f32x4.add(acc1, f32x4.mul(v128.load(ip, 16), v128.load(w1 + wo)));
        }
        v128.store(outP + off, activateVec(acc0, act, p0, p1));
        v128.store(outP + off, activateVec(acc1, act, p0, p1), 16);
      }
      for (; cb < c4; cb += 4) {
        const w0 = w + <usize>(cb >> 2) * blockBytes;
        const off = <usize>cb << 2;
        let acc0 = v128.load(w0);
        for (let t = 0; t < ks; t++) {
          const o = load<i32>(indP + (<usize>t << 2));
          const ip = (o < 0 ? zero : a + <usize>o) + off;
          acc0 = f32x4.add(acc0, f32x4.mul(v128.load(ip), v128.load(w0 + (<usize>(t + 1) << 4))));
        }
        v128.store(outP + off, activateVec(acc0, act, p0, p1));
      }
    }
    if (!ASC_FEATURE_SIMD) {
      for (; cb + 4 <= c; cb += 4) {
        const w0 = w + <usize>(cb >> 2) * blockBytes;
        const off = <usize>cb << 2;
        let s0 = load<f32>(w0), s1 = load<f32>(w0, 4), s2 = load<f32>(w0, 8), s3 = load<f32>(w0, 12);
        for (let t = 0; t < ks; t++) {
          const o = load<i32>(indP + (<usize>t << 2));
          const ip = (o < 0 ? zero : a + <usize>o) + off;
          const wt = w0 + (<usize>(t + 1) << 4);
          s0 = s0 + load<f32>(ip) * load<f32>(wt);
          s1 = s1 + load<f32>(ip, 4) * load<f32>(wt, 4);
          s2 = s2 + load<f32>(ip, 8) * load<f32>(wt, 8);
          s3 = s3 + load<f32>(ip, 12) * load<f32>(wt, 12);
        }
        store<f32>(outP + off, activateScalar(s0, act, p0, p1));
        store<f32>(outP + off, activateScalar(s1, act, p0, p1), 4);
        store<f32>(outP + off, activateScalar(s2, act, p0, p1), 8);
        store<f32>(outP + off, activateScalar(s3, act, p0, p1), 12);
      }
    }
    for (; cb < c; cb++) {
      const wl = w + <usize>(cb >> 2) * blockBytes + (<usize>(cb & 3) << 2);
      const off = <usize>cb << 2;
      let acc = load<f32>(wl);
      for (let t = 0; t < ks; t++) {
        const o = load<i32>(indP + (<usize>t << 2));
        const ip = (o < 0 ? zero : a + <usize>o) + off;
        acc = acc + load<f32>(ip) * load<f32>(wl + (<usize>(t + 1) << 4));
      }
      store<f32>(outP + off, activateScalar(acc, act, p0, p1));
    }
    if (post != ACT_NONE) activateRows(outP, c, post, p0, p1);
  }
}

// pack_dwconv_f32: weights [c][ks] (OHWI with one input channel per filter) and bias[c] (0 for none) into
// the 4-channel blocks dwconv_f32 reads.
export function pack_dwconv_f32(ks: i32, c: i32, wsrc: usize, bias: usize, out: usize): void {
  const blocks = (c + 3) >> 2;
  for (let bk = 0; bk < blocks; bk++) {
    for (let j = 0; j < 4; j++) {
      const ch = bk * 4 + j;
      store<f32>(out + (<usize>j << 2), bias != 0 && ch < c ? load<f32>(bias + (<usize>ch << 2)) : 0);
    }
    out += 16;
    for (let t = 0; t < ks; t++) {
      for (let j = 0; j < 4; j++) {
        const ch = bk * 4 + j;
        store<f32>(out + (<usize>j << 2), ch < c ? load<f32>(wsrc + (<usize>(ch * ks + t) << 2)) : 0);
      }
      out += 16;
    }
  }
}
