// Why F(2x2, 3x3) and not F(4x4, 3x3): the rounding error of both Winograd tilings against direct
// float32 summation, each simulated in float32 (Math.fround after every operation; the weight
// transform in float64, rounded once, as assembly/winograd.ts does), on random inputs and weights
// in [-1, 1], against the float64 convolution. Runs no kernel; prints the errors.
import { parseFlags } from "./args.js";

const USAGE = {
  script: "bench/winograd-error.ts",
  synopsis: "npm run bench:winograd-error",
  about:
    "The rounding error of Winograd F(2x2, 3x3) and F(4x4, 3x3) against direct float32 summation,\n" +
    "simulated in float32 over random 3x3 convolutions with 16, 64 and 256 input channels.",
  flags: {},
} as const;
parseFlags(USAGE);

type Matrix = number[][];
interface Tiling {
  name: string;
  m: number;
  BT: Matrix;
  G: Matrix;
  AT: Matrix;
}

const f = Math.fround;
const F2: Tiling = {
  name: "F(2x2, 3x3)", m: 2,
  BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
};
// Points 0, +-1, +-2 and infinity.
const F4: Tiling = {
  name: "F(4x4, 3x3)", m: 4,
  BT: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
  G: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
  AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
};

let seed = 12345;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return f((seed / 0x7fffffff) * 2 - 1);
}

const transpose = (a: Matrix): Matrix => a[0].map((_, j) => a.map((r) => r[j]));

/** L x in float32: each output's terms in order, zero coefficients skipped, +-1 exact. */
function mulF32(l: Matrix, x: Matrix): Matrix {
  return l.map((row) => x[0].map((_, q) => {
    let s: number | undefined;
    row.forEach((a, p) => {
      if (a === 0) return;
      const t = a === 1 ? x[p][q] : a === -1 ? -x[p][q] : f(a * x[p][q]);
      s = s === undefined ? t : f(s + t);
    });
    return s ?? 0;
  }));
}

function mul64(l: Matrix, x: Matrix): Matrix {
  return l.map((row) => x[0].map((_, q) => row.reduce((s, a, p) => s + a * x[p][q], 0)));
}

function trial(t: Tiling, cin: number, tiles: number) {
  const n = t.m + 2;
  const cout = 4;
  const w = Array.from({ length: cout }, () => Array.from({ length: cin }, () => Array.from({ length: 3 }, () => [rnd(), rnd(), rnd()])));
  const u = w.map((wc) => wc.map((g) => mul64(mul64(t.G, g), transpose(t.G)).map((r) => r.map(f))));
  let maxWin = 0, maxDir = 0, sumWin = 0, sumDir = 0, count = 0;
  for (let tile = 0; tile < tiles; tile++) {
    const d = Array.from({ length: cin }, () => Array.from({ length: n }, () => Array.from({ length: n }, rnd)));
    const v = d.map((dc) => transpose(mulF32(t.BT, transpose(mulF32(t.BT, dc)))));
    for (let co = 0; co < cout; co++) {
      const m = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => {
        let s = 0;
        for (let c = 0; c < cin; c++) s = f(s + f(u[co][c][i][j] * v[c][i][j]));
        return s;
      }));
      const y = transpose(mulF32(t.AT, transpose(mulF32(t.AT, m))));
      for (let a = 0; a < t.m; a++) {
        for (let b = 0; b < t.m; b++) {
          let exact = 0;
          let direct = 0;
          for (let ky = 0; ky < 3; ky++) {
            for (let kx = 0; kx < 3; kx++) {
              for (let c = 0; c < cin; c++) {
                const p = d[c][a + ky][b + kx] * w[co][c][ky][kx];
                exact += p;
                direct = f(direct + f(p));
              }
            }
          }
          const ew = Math.abs(y[a][b] - exact);
          const ed = Math.abs(direct - exact);
          maxWin = Math.max(maxWin, ew);
          maxDir = Math.max(maxDir, ed);
          sumWin += ew;
          sumDir += ed;
          count++;
        }
      }
    }
  }
  return { maxWin, maxDir, meanWin: sumWin / count, meanDir: sumDir / count };
}

console.log("| tiling | Cin | max error | direct max | mean error | direct mean | mean / direct |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const cin of [16, 64, 256]) {
  for (const t of [F2, F4]) {
    seed = 777 + cin;
    const r = trial(t, cin, cin >= 256 ? 20 : 60);
    const e = (x: number) => x.toExponential(2);
    console.log(`| ${t.name} | ${cin} | ${e(r.maxWin)} | ${e(r.maxDir)} | ${e(r.meanWin)} | ${e(r.meanDir)} | ${(r.meanWin / r.meanDir).toFixed(1)}x |`);
  }
}
