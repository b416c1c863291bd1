// The error bound of conv2d's Winograd F(2x2, 3x3) path (assembly/winograd.ts). With u = 2^-24
// and gamma(k) = k u / (1 - k u), the engine computes, per output,
//   V = B^T d B     two levels of one addition each:           |dV| <= gamma(2) (|B^T| |d| |B|)
//   U = G g G^T     in float64, rounded once:                  |dU| <= u |U| (plus ~1e-16 |U|)
//   M = sum_ci U V  the GEMM from 0, Cin rounded products and sums: a relative gamma(Cin) per term
//   Y = A^T M A     two levels of two additions, then + bias and + residual: 6 more roundings
// so each term of y = sum_{i,j,ci} A^T[a][i] A^T[b][j] U[i][j] V[i][j] + bias + r carries at most
// Cin + 9 roundings, and |got - exact| <= gamma(Cin + 9) * T with
//   T = sum_{i,j,ci} |A^T[a][i] A^T[b][j]| |U[i][j]| (|B^T| |d| |B|)[i][j] + |bias| + |r|,
// computed below in float64 from the exact transforms. Activations then scale that by their slope
// and add their own rounding, as in test/grid.ts. A single wrong, missing or misplaced transformed
// term is ~T / (16 Cin), far above gamma(Cin + 9) T for every Cin here.
import { TINY, U, activationRtol } from "./grid.js";
import { type ConvParams, activate, activationSlope, outSize, padsFor } from "./reference.js";

const BT = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]];
const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
const AT = [[1, 1, 1, 0], [0, 1, -1, -1]];
const gamma = (k: number) => (k * U) / (1 - k * U);

/**
 * The float64 convolution (direct definition) of a 3x3 stride-1 convolution with an optional
 * residual r added before the activation, and per output the bound above on what the Winograd
 * path may differ from it.
 */
export function winogradRef(
  x: ArrayLike<number>, wt: ArrayLike<number>, bias: ArrayLike<number> | undefined, r: ArrayLike<number> | undefined, c: ConvParams,
): { shape: number[]; value: Float64Array; bound: Float64Array } {
  const { n, h, w, cin, cout } = c;
  const [pt, pl, pb, pr] = padsFor(c.padding, h, w, 3, 3, 1, 1, 1, 1);
  const oh = outSize(h, 3, 1, 1, pt, pb);
  const ow = outSize(w, 3, 1, 1, pl, pr);
  const px = (b: number, iy: number, ix: number, ci: number) =>
    iy < 0 || iy >= h || ix < 0 || ix >= w ? 0 : x[((b * h + iy) * w + ix) * cin + ci];
  // |U| per (co, ci, i, j), exact in float64.
  const absU = new Float64Array(cout * cin * 16);
  for (let co = 0; co < cout; co++) {
    for (let ci = 0; ci < cin; ci++) {
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          let s = 0;
          for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) s += G[i][ky] * G[j][kx] * wt[((co * 3 + ky) * 3 + kx) * cin + ci];
          absU[(co * cin + ci) * 16 + i * 4 + j] = Math.abs(s);
        }
      }
    }
  }
  const value = new Float64Array(n * oh * ow * cout);
  const bound = new Float64Array(value.length);
  const absV = new Float64Array(cin * 16);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        // The tile holding this output, its input window and |B^T| |d| |B| over it.
        const ty = oy - (oy % 2);
        const tx = ox - (ox % 2);
        for (let ci = 0; ci < cin; ci++) {
          for (let i = 0; i < 4; i++) {
            for (let j = 0; j < 4; j++) {
              let s = 0;
              for (let p = 0; p < 4; p++) for (let q = 0; q < 4; q++) s += Math.abs(BT[i][p] * BT[j][q] * px(b, ty - pt + p, tx - pl + q, ci));
              absV[ci * 16 + i * 4 + j] = s;
            }
          }
        }
        const a = AT[oy % 2];
        const bb = AT[ox % 2];
        for (let co = 0; co < cout; co++) {
          const o = ((b * oh + oy) * ow + ox) * cout + co;
          let s = bias ? bias[co] : 0;
          let t = Math.abs(s);
          for (let ky = 0; ky < 3; ky++) {
            for (let kx = 0; kx < 3; kx++) {
              for (let ci = 0; ci < cin; ci++) s += px(b, oy - pt + ky, ox - pl + kx, ci) * wt[((co * 3 + ky) * 3 + kx) * cin + ci];
            }
          }
          for (let ci = 0; ci < cin; ci++) {
            for (let k = 0; k < 16; k++) t += Math.abs(a[k >> 2] * bb[k & 3]) * absU[(co * cin + ci) * 16 + k] * absV[ci * 16 + k];
          }
          if (r) {
            s += r[o];
            t += Math.abs(r[o]);
          }
          value[o] = activate(s, c.activation);
          bound[o] = activationSlope(c.activation) * gamma(cin + 9) * t + activationRtol(c.activation) * Math.abs(value[o]) + TINY;
        }
      }
    }
  }
  return { shape: [n, oh, ow, cout], value, bound };
}
