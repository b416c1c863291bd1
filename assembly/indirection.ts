// conv2d_indirection: the table igemm and dwconv read instead of an im2col copy. For output pixel
// m = (b*oh + y)*ow + x (NHWC) and tap t = ky*kw + kx, the entry is the byte offset of input pixel
// (b, y*sh - pt + ky*dh, x*sw - pl + kx*dw), pixelStride floats per pixel, or -1 where that pixel
// is padding. Entries are grouped per tile of mr pixels: [tile][tap][row]; rows past the last
// pixel repeat the last pixel so that an edge tile reads only valid memory.
export function conv2d_indirection(
  ind: usize, batch: i32, h: i32, w: i32, pixelStride: i32,
  oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, mr: i32,
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
