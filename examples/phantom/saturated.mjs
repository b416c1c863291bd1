// A hand-built detector whose score saturates, for the pointing game of explanations (pointing.mjs
// and test/explain.test.ts). A demonstration, not a clinical tool.
//
// The image is SIZE x SIZE, grey, NHWC at the model's edge: a faint deterministic texture with two
// bright 5 x 5 squares, the strong one (1.0) and the weaker one (0.5). The model: a 5 x 5
// convolution with two filters (channel 0 sums the window, a bright-spot detector; channel 1 is a
// dark-spot detector the head ignores), relu, a max-pool over the whole map, a dense layer
// (weights [2, 0], bias -5) and a sigmoid. Its logit is 2 x (the brightest window's sum) - 5: 45
// on the image, 20 with the strong square hidden, still 45 with the weak one hidden (the max is
// the strong square's). sigmoid(45) and sigmoid(20) are both 1 in float32: the probability says
// nothing about where the evidence is, the logit does, and only hiding the strong square lowers it.

export const SIZE = 32;
const K = 5;

/** The test image (SIZE * SIZE floats) with the squares' top-left corners at `strong` and `weak` ([x, y]). */
export function saturatedImage(strong, weak) {
  const img = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) img[y * SIZE + x] = 0.1 + 0.02 * Math.sin(0.7 * x + 1.3 * y);
  for (const [[x0, y0], v] of [[strong, 1], [weak, 0.5]]) {
    for (let y = y0; y < y0 + K; y++) for (let x = x0; x < x0 + K; x++) img[y * SIZE + x] = v;
  }
  return img;
}

/** The detector as a Model of `engine`, built with `layers` (the engine's own layers API). */
export function saturatedDetector(engine, layers) {
  const w = new Float32Array(2 * K * K);
  for (let i = 0; i < K * K; i++) {
    w[i] = 1;
    w[K * K + i] = -1;
  }
  const dense = new Float32Array([2, 0]);
  return engine.sequential([
    layers.input([SIZE, SIZE, 1]),
    layers.conv2d({ filters: 2, kernel: K, padding: "same", weights: w, bias: new Float32Array([0, 5]), activation: "relu" }),
    layers.maxPool2d({ kernel: SIZE }),
    layers.flatten(),
    layers.dense({ units: 1, weights: dense, bias: new Float32Array([-5]) }),
    layers.sigmoid(),
  ]);
}
