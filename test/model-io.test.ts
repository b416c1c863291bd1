// Zero-copy model I/O: outputs written into the caller's arrays (run's `into`), outputs left
// resident as Tensors (runToTensors), Tensors fed as inputs, and models chained through them.
// Every expected value is the copying path's own result (run without options), compared bit for
// bit: the same steps run on the same inputs, only where the outputs go differs.
import { beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, DisposedError, type Engine, type Model, ShapeError, init, layers } from "../src/index.js";
import { Rng } from "./reference.js";

let e: Engine;
beforeAll(async () => {
  e = await init();
});

const rng = new Rng(31);

/** A branching network with two outputs: logits [N, 5] and a feature map [N, 8, 8, 6]. */
function twoOutputs(): Model {
  const x = layers.input([8, 8, 3]);
  const f = layers.conv2d({ filters: 6, kernel: 3, padding: "same", weights: rng.f32(6 * 9 * 3, -0.3, 0.3), activation: "relu" }).apply(x);
  const g = layers.globalAvgPool2d().apply(f);
  const logits = layers.dense({ units: 5, weights: rng.f32(6 * 5, -0.5, 0.5) }).apply(layers.flatten().apply(g));
  return e.graph({ inputs: [x], outputs: [layers.softmax().apply(logits), f] });
}

/** A second network that reads the first's feature map. */
function head(): Model {
  const x = layers.input([8, 8, 6]);
  const y = layers.maxPool2d({ kernel: 2 }).apply(layers.conv2d({ filters: 4, kernel: 1, weights: rng.f32(4 * 6, -0.5, 0.5) }).apply(x));
  return e.graph({ inputs: [x], outputs: [y] });
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");

describe("model I/O without copies through JS", () => {
  it("run with `into` writes the outputs into the given arrays, equal to the copying path, and allocates nothing after the first run", () => {
    const m = twoOutputs();
    const input = rng.f32(2 * 8 * 8 * 3, -1, 1);
    const expected = m.run({ input });
    const logits = new Float32Array(2 * 5);
    const maps = new Float32Array(2 * 8 * 8 * 6).fill(NaN);
    const first = m.run({ input }, { into: { output_0: logits, output_1: maps } });
    expect(first.output_0).toBe(logits);
    expect(first.output_1).toBe(maps);
    expect(bits(logits)).toBe(bits(expected.output_0));
    expect(bits(maps)).toBe(bits(expected.output_1));
    const held = e.memoryBytes;
    for (let i = 0; i < 3; i++) {
      const other = rng.f32(2 * 8 * 8 * 3, -1, 1);
      m.run({ input: other }, { into: { output_1: maps } });
      expect(e.memoryBytes, "a run with into allocates nothing").toBe(held);
      expect(bits(maps)).toBe(bits(m.run({ input: other }).output_1));
    }
    m.dispose();
  });

  it("runToTensors leaves the outputs resident: into given tensors (no allocation after the first run), or new ones the caller owns", () => {
    const m = twoOutputs();
    const input = rng.f32(1 * 8 * 8 * 3, -1, 1);
    const expected = m.run({ input });
    const shapes = m.outputShapes;
    const base = e.memoryBytes;
    const fresh = m.runToTensors({ input });
    expect([...fresh.output_0.shape]).toEqual(shapes.output_0);
    expect(bits(fresh.output_0.toArray())).toBe(bits(expected.output_0));
    expect(bits(fresh.output_1.toArray())).toBe(bits(expected.output_1));
    for (const t of Object.values(fresh)) t.dispose();
    expect(e.memoryBytes).toBe(base);

    const targets = { output_0: e.tensor(new Float32Array(5), shapes.output_0), output_1: e.tensor(new Float32Array(8 * 8 * 6), shapes.output_1) };
    const held = e.memoryBytes;
    for (let i = 0; i < 3; i++) {
      const r = m.runToTensors({ input }, { into: targets });
      expect(r.output_0).toBe(targets.output_0);
      expect(r.output_1).toBe(targets.output_1);
      expect(e.memoryBytes, "a run into resident tensors allocates nothing").toBe(held);
    }
    expect(bits(targets.output_0.toArray())).toBe(bits(expected.output_0));
    expect(bits(targets.output_1.toArray())).toBe(bits(expected.output_1));
    for (const t of Object.values(targets)) t.dispose();
    m.dispose();
  });

  it("chains two models through a resident tensor: the same bits as copying the array through JS", () => {
    const a = twoOutputs();
    const b = head();
    const input = rng.f32(1 * 8 * 8 * 3, -1, 1);
    const viaJs = b.run({ input: a.run({ input }).output_1 }).output;
    const map = e.tensor(new Float32Array(8 * 8 * 6), a.outputShapes.output_1);
    const probs = e.tensor(new Float32Array(5), a.outputShapes.output_0);
    const out = new Float32Array(viaJs.length);
    a.runToTensors({ input }, { into: { output_0: probs, output_1: map } });
    b.run({ input: map }, { into: { output: out } });
    expect(bits(out)).toBe(bits(viaJs));
    const held = e.memoryBytes;
    a.runToTensors({ input }, { into: { output_0: probs, output_1: map } });
    b.run({ input: map }, { into: { output: out } });
    expect(e.memoryBytes).toBe(held);
    map.dispose();
    probs.dispose();
    a.dispose();
    b.dispose();
  });

  it("bad targets are typed errors raised before anything is written, and the model stays usable", () => {
    const m = twoOutputs();
    const input = rng.f32(8 * 8 * 3, -1, 1);
    const untouched = new Float32Array(5).fill(7);
    const cases: [() => unknown, typeof ArgumentError | typeof ShapeError | typeof DisposedError, RegExp][] = [
      [() => m.run({ input }, { into: { logits: untouched } }), ArgumentError, /'logits', which is not an output.*'output_0', 'output_1'/],
      [() => m.run({ input }, { into: { output_0: new Float32Array(6) } }), ShapeError, /holds 6 floats, the output has 5/],
      [() => m.run({ input }, { into: { output_0: [1, 2, 3, 4, 5] as unknown as Float32Array } }), ArgumentError, /Float32Array, got Array/],
      [() => m.run({ input }, { into: null as unknown as Record<string, Float32Array> }), ArgumentError, /into must be an object/],
      [() => m.run({ input }, { output: {} } as object), ArgumentError, /unknown option 'output'/],
      [() => m.runToTensors({ input }, { into: { output_0: e.tensor(new Float32Array(5), [5]) } }), ShapeError, /is \[5\], the output is \[1, 5\]/],
    ];
    for (const [f, type, message] of cases) {
      expect(f).toThrow(type);
      expect(f).toThrow(message);
    }
    const gone = e.tensor(new Float32Array(5), [1, 5]);
    gone.dispose();
    expect(() => m.runToTensors({ input }, { into: { output_0: gone } })).toThrow(DisposedError);
    const late = new Float32Array(5).fill(7);
    expect(() => m.run({ input }, { into: { output_0: late, output_1: new Float32Array(3) } })).toThrow(ShapeError);
    expect([...late], "a refused run writes no output").toEqual([7, 7, 7, 7, 7]);
    expect(m.run({ input }).output_0.length).toBe(5);
    m.dispose();
  });
});
