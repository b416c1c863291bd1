// conv2d_indirection: the table igemm and dwconv read instead of an im2col copy. For output pixel
// m = (b*oh + y)*ow + x (NHWC) and tap t = ky*kw + kx, the entry is the byte offset of input pixel
// (b, y*sh - pt + ky*dh, x*sw - pl + kx*dw), pixelStride floats per pixel, or -1 where that pixel
// is padding. Entries are grouped per tile of mr pixels: [tile][tap][row]; rows past the last
// pixel repeat the last pixel so that an edge tile reads only valid memory.
export function conv2d_indirection(
  batch: i32, h: i32, w: i32, pixelStride: i32,
  oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, mr: i32,
  ind: usize,
): void {
  const m = batch * oh * ow;
  const tiles = (m + mr - 1) / mr;
  const pixelBytes = pixelStride * 4;
  for (let t = 0; t < tiles; t++) {
    for (let r = 0; r < mr; r++) {
      const p = min(t * mr + r, m - 1);
      const x = p % ow;
      const q = p / ow;
      const y = q % oh;
      const b = q / oh;
      for (let ky = 0; ky < kh; ky++) {
        const iy = y * sh - pt + ky * dh;
        for (let kx = 0; kx < kw; kx++) {
          const ix = x * sw - pl + kx * dw;
          const tap = ky * kw + kx;
          const off = iy < 0 || iy >= h || ix < 0 || ix >= w ? -1 : ((b * h + iy) * w + ix) * pixelBytes;
          store<i32>(ind + (<usize>((t * kh * kw + tap) * mr + r) << 2), off);
        }
      }
    }
  }
}

// conv2d_tap_runs: for the table above (mr rows per tile, ks taps), runs[tile][t] = how many taps
// from t on continue every row's memory: each row's next entry is its entry + stepBytes (kc
// floats: a 3x3 window's taps along a row at dilation 1 when the kernel reads all of a pixel's
// channels) and no entry is the zero row. igemm_f32_4x8 then reads those taps as one run. At most
// 255, the u8 it is stored in.
export function conv2d_tap_runs(tiles: i32, ks: i32, mr: i32, stepBytes: i32, ind: usize, runs: usize): void {
  for (let t = 0; t < tiles; t++) {
    const tab = ind + <usize>(t * ks * mr) * 4;
    const out = runs + <usize>(t * ks);
    let next = 1;
    store<u8>(out + <usize>(ks - 1), 1);
    for (let k = ks - 2; k >= 0; k--) {
      let joins = true;
      for (let r = 0; r < mr; r++) {
        const o = load<i32>(tab + <usize>((k * mr + r) * 4));
        const p = load<i32>(tab + <usize>(((k + 1) * mr + r) * 4));
        if (o < 0 || p < 0 || p != o + stepBytes) joins = false;
      }
      next = joins && next < 255 ? next + 1 : 1;
      store<u8>(out + <usize>k, <u8>next);
    }
  }
}
