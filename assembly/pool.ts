// Pooling over NHWC, vectorised over channels: 16 channels at a time, then 4, then one (the
// scalar build: 4 channels at a time in scalars, then one). Windows
// are clipped to the image, so padding never wins a max and is never summed.

// First and one-past-last tap index k (0 <= k < kernel) with 0 <= o*s - pad + k*d < size.
@inline export function tapLo(o: i32, s: i32, d: i32, pad: i32): i32 {
  const start = o * s - pad;
  return start >= 0 ? 0 : (-start + d - 1) / d;
}
@inline export function tapHi(o: i32, s: i32, d: i32, pad: i32, size: i32, kernel: i32): i32 {
  const start = o * s - pad;
  if (start >= size) return 0;
  return min(kernel, (size - 1 - start) / d + 1);
}

// wasm's f32.max/f32x4.max propagate NaN and order -0 below +0, which costs V8 several
// instructions; pmax (a < b ? b : a) is one maxps and the same rule in both builds. A NaN input
// therefore does not win a max-pool window.
@inline export function pmaxScalar(a: f32, b: f32): f32 {
  return a < b ? b : a;
}

// maxpool2d_f32: y[b,oy,ox,c] = max over in-image taps, -inf when the window holds none.
export function maxpool2d_f32(
  batch: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32,
  x: usize, y: usize,
): void {
  const rowBytes = <usize>(w * c) << 2;
  const pixBytes = <usize>c << 2;
  for (let b = 0; b < batch; b++) {
    const xb = x + <usize>(b * h) * rowBytes;
    for (let oy = 0; oy < oh; oy++) {
      const ky0 = tapLo(oy, sh, dh, pt);
      const ky1 = tapHi(oy, sh, dh, pt, h, kh);
      const iy0 = oy * sh - pt;
      for (let ox = 0; ox < ow; ox++) {
        const kx0 = tapLo(ox, sw, dw, pl);
        const kx1 = tapHi(ox, sw, dw, pl, w, kw);
        const ix0 = ox * sw - pl;
        const yp = y + <usize>(((b * oh + oy) * ow + ox) * c) * 4;
        let ch = 0;
        if (ASC_FEATURE_SIMD) {
          for (; ch + 16 <= c; ch += 16) {
            const ninf = f32x4.splat(-Infinity);
            let m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
            for (let ky = ky0; ky < ky1; ky++) {
              const row = xb + <usize>(iy0 + ky * dh) * rowBytes + (<usize>ch << 2);
              for (let kx = kx0; kx < kx1; kx++) {
                const p = row + <usize>(ix0 + kx * dw) * pixBytes;
                m0 = f32x4.pmax(m0, v128.load(p));
                m1 = f32x4.pmax(m1, v128.load(p, 16));
                m2 = f32x4.pmax(m2, v128.load(p, 32));
                m3 = f32x4.pmax(m3, v128.load(p, 48));
              }
            }
            const q = yp + (<usize>ch << 2);
            v128.store(q, m0);
            v128.store(q, m1, 16);
            v128.store(q, m2, 32);
            v128.store(q, m3, 48);
          }
          for (; ch + 4 <= c; ch += 4) {
            let m0 = f32x4.splat(-Infinity);
            for (let ky = ky0; ky < ky1; ky++) {
              const row = xb + <usize>(iy0 + ky * dh) * rowBytes + (<usize>ch << 2);
              for (let kx = kx0; kx < kx1; kx++) {
                m0 = f32x4.pmax(m0, v128.load(row + <usize>(ix0 + kx * dw) * pixBytes));
              }
            }
            v128.store(yp + (<usize>ch << 2), m0);
          }
        }
        if (!ASC_FEATURE_SIMD) {
          for (; ch + 4 <= c; ch += 4) {
            let m0: f32 = -Infinity, m1: f32 = -Infinity, m2: f32 = -Infinity, m3: f32 = -Infinity;
            for (let ky = ky0; ky < ky1; ky++) {
              const row = xb + <usize>(iy0 + ky * dh) * rowBytes + (<usize>ch << 2);
              for (let kx = kx0; kx < kx1; kx++) {
                const p = row + <usize>(ix0 + kx * dw) * pixBytes;
                m0 = pmaxScalar(m0, load<f32>(p));
                m1 = pmaxScalar(m1, load<f32>(p, 4));
                m2 = pmaxScalar(m2, load<f32>(p, 8));
                m3 = pmaxScalar(m3, load<f32>(p, 12));
              }
            }
            const q = yp + (<usize>ch << 2);
            store<f32>(q, m0);
            store<f32>(q, m1, 4);
            store<f32>(q, m2, 8);
            store<f32>(q, m3, 12);
          }
        }
        for (; ch < c; ch++) {
          let m0: f32 = -Infinity;
          for (let ky = ky0; ky < ky1; ky++) {
            const row = xb + <usize>(iy0 + ky * dh) * rowBytes + (<usize>ch << 2);
            for (let kx = kx0; kx < kx1; kx++) {
              m0 = pmaxScalar(m0, load<f32>(row + <usize>(ix0 + kx * dw) * pixBytes));
            }
          }
          store<f32>(yp + (<usize>ch << 2), m0);
        }
      }
    }
  }
}

// avgpool2d_f32: y = (sum of in-image taps, in tap order) / count, where count is the number of
// in-image taps, or with includePad the taps inside the padded extent [-pt, h+pb) x [-pl, w+pr).
// A window with a zero count gives 0.
export function avgpool2d_f32(
  batch: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, pb: i32, pr: i32,
  x: usize, y: usize, includePad: i32,
): void {
  const rowBytes = <usize>(w * c) << 2;
  const pixBytes = <usize>c << 2;
  for (let b = 0; b < batch; b++) {
    const xb = x + <usize>(b * h) * rowBytes;
    for (let oy = 0; oy < oh; oy++) {
      const ky0 = tapLo(oy, sh, dh, pt);
      const ky1 = tapHi(oy, sh, dh, pt, h, kh);
      const iy0 = oy * sh - pt;
      const cy = includePad ? tapHi(oy, sh, dh, 0, h + pt + pb, kh) : ky1 - ky0;
      for (let ox = 0; ox < ow; ox++) {
        const kx0 = tapLo(ox, sw, dw, pl);
        const kx1 = tapHi(ox, sw, dw, pl, w, kw);
        const ix0 = ox * sw - pl;
        const cx = includePad ? tapHi(ox, sw, dw, 0, w + pl + pr, kw) : kx1 - kx0;
        const count = max(cy, 0) * max(cx, 0);
        const scale: f32 = count > 0 ? <f32>count : 0;
        const yp = y + <usize>(((b * oh + oy) * ow + ox) * c) * 4;
        let ch = 0;
        if (ASC_FEATURE_SIMD) {
          const vc = f32x4.splat(scale);
          for (; ch + 16 <= c; ch += 16) {
            let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
            for (let ky = ky0; ky < ky1; ky++) {
              const row = xb + <usize>(iy0 + ky * dh) * rowBytes + (<usize>ch << 2);
              for (let kx = kx0; kx < kx1; kx++) {
                const p = row + <usize>(ix0 + kx * dw) * pixBytes;
                s0 = f32x4.add(s0, v128.load(p));
                s1 = f32x4.add(s1, v128.load(p, 16));
                s2 = f32x4.add(s2, v128.load(p, 32));
                s3 = f32x4.add(s3, v128.load(p, 48));
              }
            }
            const q = yp + (<usize>ch << 2);
            if (count > 0) {
              v128.store(q, f32x4.div(s0, vc));
              v128.store(q, f32x4.div(s1, vc), 16);
              v128.store(q, f32x4.div(s2, vc), 32);
              v128.store(q, f32x4.div(s3, vc), 48);
            } else {
              v128.store(q, s0);
              v128.store(q, s0, 16);
              v128.store(q, s0, 32);
              v128.store(q, s0, 48);
            }
          }
          for (; ch + 4 <= c; ch += 4) {
            let s0 = f32x4.splat(0);
            for (let ky = ky0; ky < ky1; ky++) {
              const row = xb + <usize>(iy0 + ky * dh) * rowBytes + (<usize>ch << 2);
              for (let kx = kx0; kx < kx1; kx++) {
                s0 = f32x4.add(s0, v128.load(row + <usize>(ix0 + kx * dw) * pixBytes));
              }
            }
            v128.store(yp + (<usize>ch << 2), count > 0 ? f32x4.div(s0, vc) : s0);
          }
        }
        if (!ASC_FEATURE_SIMD) {
          for (; ch + 4 <= c; ch += 4) {
            let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
            for (let ky = ky0; ky < ky1; ky++) {
              const row = xb + <usize>(iy0 + ky * dh) * rowBytes + (<usize>ch << 2);
              for (let kx = kx0; kx < kx1; kx++) {
                const p = row + <usize>(ix0 + kx * dw) * pixBytes;
                s0 = s0 + load<f32>(p);
                s1 = s1 + load<f32>(p, 4);
                s2 = s2 + load<f32>(p, 8);
                s3 = s3 + load<f32>(p, 12);
              }
            }
            const q = yp + (<usize>ch << 2);
            store<f32>(q, count > 0 ? s0 / scale : s0);
            store<f32>(q, count > 0 ? s1 / scale : s1, 4);
            store<f32>(q, count > 0 ? s2 / scale : s2, 8);
            store<f32>(q, count > 0 ? s3 / scale : s3, 12);
          }
        }
        for (; ch < c; ch++) {
          let s0: f32 = 0;
          for (let ky = ky0; ky < ky1; ky++) {
            const row = xb + <usize>(iy0 + ky * dh) * rowBytes + (<usize>ch << 2);
            for (let kx = kx0; kx < kx1; kx++) {
              s0 = s0 + load<f32>(row + <usize>(ix0 + kx * dw) * pixBytes);
            }
          }
          store<f32>(yp + (<usize>ch << 2), count > 0 ? s0 / scale : s0);
        }
      }
    }
  }
}

// globalpool_f32: y[b,c] = mean (isMax = 0, summed in pixel order) or max (isMax = 1, with the
// same pmax rule as maxpool2d_f32) over the hw pixels of image b.
export function globalpool_f32(batch: i32, hw: i32, c: i32, x: usize, y: usize, isMax: i32): void {
  const pixBytes = <usize>c << 2;
  const n: f32 = <f32>hw;
  for (let b = 0; b < batch; b++) {
    const xb = x + <usize>(b * hw) * pixBytes;
    const yb = y + <usize>b * pixBytes;
    let ch = 0;
    if (ASC_FEATURE_SIMD) {
      const vn = f32x4.splat(n);
      for (; ch + 16 <= c; ch += 16) {
        const init = isMax ? f32x4.splat(-Infinity) : f32x4.splat(0);
        let s0 = init, s1 = init, s2 = init, s3 = init;
        let p = xb + (<usize>ch << 2);
        if (isMax) {
          for (let i = 0; i < hw; i++) {
            s0 = f32x4.pmax(s0, v128.load(p));
            s1 = f32x4.pmax(s1, v128.load(p, 16));
            s2 = f32x4.pmax(s2, v128.load(p, 32));
            s3 = f32x4.pmax(s3, v128.load(p, 48));
            p += pixBytes;
          }
        } else {
          for (let i = 0; i < hw; i++) {
            s0 = f32x4.add(s0, v128.load(p));
            s1 = f32x4.add(s1, v128.load(p, 16));
            s2 = f32x4.add(s2, v128.load(p, 32));
            s3 = f32x4.add(s3, v128.load(p, 48));
            p += pixBytes;
          }
          s0 = f32x4.div(s0, vn);
          s1 = f32x4.div(s1, vn);
          s2 = f32x4.div(s2, vn);
          s3 = f32x4.div(s3, vn);
        }
        const q = yb + (<usize>ch << 2);
        v128.store(q, s0);
        v128.store(q, s1, 16);
        v128.store(q, s2, 32);
        v128.store(q, s3, 48);
      }
      for (; ch + 4 <= c; ch += 4) {
        let s0 = isMax ? f32x4.splat(-Infinity) : f32x4.splat(0);
        let p = xb + (<usize>ch << 2);
        for (let i = 0; i < hw; i++) {
          s0 = isMax ? f32x4.pmax(s0, v128.load(p)) : f32x4.add(s0, v128.load(p));
          p += pixBytes;
        }
        v128.store(yb + (<usize>ch << 2), isMax ? s0 : f32x4.div(s0, vn));
      }
    }
    if (!ASC_FEATURE_SIMD) {
      for (; ch + 4 <= c; ch += 4) {
        let s0: f32 = isMax ? -Infinity : 0, s1 = s0, s2 = s0, s3 = s0;
        let p = xb + (<usize>ch << 2);
        for (let i = 0; i < hw; i++) {
          if (isMax) {
            s0 = pmaxScalar(s0, load<f32>(p));
            s1 = pmaxScalar(s1, load<f32>(p, 4));
            s2 = pmaxScalar(s2, load<f32>(p, 8));
            s3 = pmaxScalar(s3, load<f32>(p, 12));
          } else {
            s0 = s0 + load<f32>(p);
            s1 = s1 + load<f32>(p, 4);
            s2 = s2 + load<f32>(p, 8);
            s3 = s3 + load<f32>(p, 12);
          }
          p += pixBytes;
        }
        const q = yb + (<usize>ch << 2);
        store<f32>(q, isMax ? s0 : s0 / n);
        store<f32>(q, isMax ? s1 : s1 / n, 4);
        store<f32>(q, isMax ? s2 : s2 / n, 8);
        store<f32>(q, isMax ? s3 : s3 / n, 12);
      }
    }
    for (; ch < c; ch++) {
      let s0: f32 = isMax ? -Infinity : 0;
      let p = xb + (<usize>ch << 2);
      for (let i = 0; i < hw; i++) {
        s0 = isMax ? pmaxScalar(s0, load<f32>(p)) : s0 + load<f32>(p);
        p += pixBytes;
      }
      store<f32>(yb + (<usize>ch << 2), isMax ? s0 : s0 / n);
    }
  }
}
