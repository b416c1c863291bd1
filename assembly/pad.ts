// pad_f32: y = x (NHWC, batch x h x w x c) surrounded by pt rows above, pb below, pl columns left
// and pr right of `value`; y is batch x (h+pt+pb) x (w+pl+pr) x c.
export function pad_f32(
  batch: i32, h: i32, w: i32, c: i32, pt: i32, pl: i32, pb: i32, pr: i32, x: usize, y: usize,
  value: f32,
): void {
  const wp = w + pl + pr;
  const rowIn = <usize>(w * c) << 2;
  const rowOut = <usize>(wp * c) << 2;
  for (let b = 0; b < batch; b++) {
    for (let yy = 0; yy < h + pt + pb; yy++) {
      const dst = y + (<usize>(b * (h + pt + pb) + yy)) * rowOut;
      const iy = yy - pt;
      if (iy < 0 || iy >= h) {
        fill(dst, wp * c, value);
        continue;
      }
      fill(dst, pl * c, value);
      memory.copy(dst + (<usize>(pl * c) << 2), x + <usize>(b * h + iy) * rowIn, rowIn);
      fill(dst + (<usize>((pl + w) * c) << 2), pr * c, value);
    }
  }
}

@inline function fill(p: usize, n: i32, value: f32): void {
  for (let i = 0; i < n; i++) store<f32>(p + (<usize>i << 2), value);
}
