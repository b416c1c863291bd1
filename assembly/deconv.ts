import { ACT_CLAMP, ACT_LEAKY, ACT_NONE } from "./activation";
import { GEMM_MR, GEMM_NR, igemmTile } from "./igemm";
import { activateRows } from "./tile_store";

// A transposed convolution by sub-pixel decomposition. Output row oy receives input row iy through
// tap ky exactly when oy + pt = iy*sh + ky*dh, so the outputs of one phase (the rows with one
// oy mod sh, the columns with one ox mod sw) each read the same subset of taps, at input offsets
// that advance by one pixel per output step of the phase: an ordinary stride-1 convolution of the
// input. Each phase is one indirect GEMM over its own tap subset and packed weights; its output
// pixels are scattered through a table of row addresses, so no phase is written twice and no
// interleaving pass follows. Taps that fall outside the input read the zero row.
const BLOCK_BYTES: i32 = 512 * 1024;

// deconv2d_indirection: the tables of one phase. The phase's outputs are (b, oy0 + qy*sh,
// ox0 + qx*sw) for qy < qh, qx < qw, numbered m = (b*qh + qy)*qw + qx; its taps are the
// pairs (ky, kx) of taps[0..nty) x taps[nty..nty+ntx), tap t = ty*ntx + tx, each chosen by the
// host so that oy + pt - ky*dh is a multiple of sh (and likewise for x). ind gets, per tile of mr
// pixels, [tap][row] i32 byte offsets of input pixel ((oy + pt - ky*dh) / sh, ...) with
// pixelStride floats per pixel, or -1 outside the input (the layout igemm_f32_4x8 reads); out
// gets, per pixel, the byte offset of its output pixel with outPixelStride floats per pixel.
// Rows past the last pixel repeat the last pixel, so an edge tile reads only valid memory.
export function deconv2d_indirection(
  nty: i32, ntx: i32, batch: i32, h: i32, w: i32, pixelStride: i32, oh: i32, ow: i32, outPixelStride: i32,
  oy0: i32, ox0: i32, qh: i32, qw: i32, sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, mr: i32,
  taps: usize, ind: usize, out: usize,
): void {
  const m = batch * qh * qw;
  const tiles = (m + mr - 1) / mr;
  const ks = nty * ntx;
  const pixelBytes = pixelStride * 4;
  for (let t = 0; t < tiles; t++) {
    for (let r = 0; r < mr; r++) {
      const p = min(t * mr + r, m - 1);
      const qx = p % qw;
      const q = p / qw;
      const qy = q % qh;
      const b = q / qh;
      const oy = oy0 + qy * sh;
      const ox = ox0 + qx * sw;
      store<i32>(out + (<usize>(t * mr + r) << 2), ((b * oh + oy) * ow + ox) * outPixelStride * 4);
      for (let ty = 0; ty < nty; ty++) {
        const iy = (oy + pt - load<i32>(taps + (<usize>ty << 2)) * dh) / sh;
        for (let tx = 0; tx < ntx; tx++) {
          const ix = (ox + pl - load<i32>(taps + (<usize>(nty + tx) << 2)) * dw) / sw;
          const off = iy < 0 || iy >= h || ix < 0 || ix >= w ? -1 : ((b * h + iy) * w + ix) * pixelBytes;
          store<i32>(ind + (<usize>((t * ks + ty * ntx + tx) * mr + r) << 2), off);
        }
      }
    }
  }
}

// deconv_f32_4x8: one phase of a transposed convolution, igemm_f32_4x8 with its output rows
// addressed through a table: row i of the phase (A rows through ind, runs and zero; w packed by
// pack_gemm_f32_8 as [bias][ks*kc rows] per 8-column panel) is stored, n floats, at c + out[i]
// (byte offsets, deconv2d_indirection's out), activation fused. The same tile code as the
// indirect GEMM adds the same terms in the same order in both builds.
export function deconv_f32_4x8(
  m: i32, n: i32, kc: i32, ks: i32,
  a: usize, ind: usize, runs: usize, zero: usize, w: usize, out: usize,
  c: usize,
  act: i32, p0: f32, p1: f32,
): void {
  // The same per-activation copies as igemm_f32_4x8, for the same reasons.
  if (act == ACT_CLAMP) deconvBody(m, n, kc, ks, a, ind, runs, zero, w, c, out, ACT_CLAMP, p0, p1, ACT_NONE);
  else if (act == ACT_NONE) deconvBody(m, n, kc, ks, a, ind, runs, zero, w, c, out, ACT_NONE, p0, p1, ACT_NONE);
  else if (act == ACT_LEAKY) deconvBody(m, n, kc, ks, a, ind, runs, zero, w, c, out, ACT_LEAKY, p0, p1, ACT_NONE);
  else deconvBody(m, n, kc, ks, a, ind, runs, zero, w, c, out, ACT_NONE, p0, p1, act);
}

@inline function deconvBody(
  m: i32, n: i32, kc: i32, ks: i32,
  a: usize, ind: usize, runs: usize, zero: usize, w: usize,
  c: usize, out: usize,
  act: i32, p0: f32, p1: f32, post: i32,
): void {
  const panels = (n + GEMM_NR - 1) / GEMM_NR;
  const panelBytes = (ks * kc + 1) * GEMM_NR * 4;
  const perBlock = max(1, BLOCK_BYTES / panelBytes);
  const tiles = (m + GEMM_MR - 1) / GEMM_MR;
  for (let pb = 0; pb < panels; pb += perBlock) {
    const pe = min(pb + perBlock, panels);
    for (let t = 0; t < tiles; t++) {
      const mr = min(m - t * GEMM_MR, GEMM_MR);
      const indT = ind + <usize>(t * ks * GEMM_MR) * 4;
      const runsT: usize = runs == 0 ? 0 : runs + <usize>(t * ks);
      const outT = out + <usize>(t * GEMM_MR) * 4;
      const c0 = c + <usize>load<i32>(outT);
      const c1 = c + <usize>load<i32>(outT, 4);
      const c2 = c + <usize>load<i32>(outT, 8);
      const c3 = c + <usize>load<i32>(outT, 12);
      for (let p = pb; p < pe; p++) {
        const nr = min(n - p * GEMM_NR, GEMM_NR);
        const colOff = <usize>(p * GEMM_NR) << 2;
        igemmTile(
          mr, nr, kc, ks, a, indT, runsT, zero, w + <usize>p * panelBytes,
          c0 + colOff, c1 + colOff, c2 + colOff, c3 + colOff, 0, 0, 0, 0, act, p0, p1,
        );
      }
      if (post != ACT_NONE) {
        const colOff = <usize>(pb * GEMM_NR) << 2;
        const cols = min(pe * GEMM_NR, n) - pb * GEMM_NR;
        activateRows(c0 + colOff, cols, post, p0, p1);
        if (mr > 1) activateRows(c1 + colOff, cols, post, p0, p1);
        if (mr > 2) activateRows(c2 + colOff, cols, post, p0, p1);
        if (mr > 3) activateRows(c3 + colOff, cols, post, p0, p1);
      }
    }
  }
}
