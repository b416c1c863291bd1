// Messages between the page (main.ts) and its worker (worker.ts). The worker handles requests
// one at a time, in the order they were posted.

export type BuildChoice = "auto" | "simd" | "scalar";

/** What the page does with a slice: classify it (with a heat map), segment it, or box what a detector finds. */
export type Task = "classify" | "segment" | "detect";

export type Request =
  | { type: "init"; backend: BuildChoice }
  /** A model from a URL (the demo model) or the user's bytes, with an optional sidecar JSON text. */
  | { type: "model"; task: Task; name: string; url?: string; bytes?: ArrayBuffer; sidecar?: string }
  /**
   * A file for the loaded model's task. `window`: [center, width] for DICOM slices, overriding the
   * model's and the file's; `method`: how a classified slice's heat map is made.
   */
  | { type: "slices"; id: number; name: string; bytes: ArrayBuffer; window?: [number, number]; method: Method };

/** How the heat map is made (src/explain): occluding patches, or Score-CAM over the last convolutional layer. */
export type Method = "occlusion" | "scorecam";

export interface ModelInfo {
  task: Task;
  name: string;
  input: string;
  output: string;
  labels: string[];
  probabilities: "softmax" | "sigmoid" | "logits";
}

/** What every processed slice carries, whatever the task. */
interface ShownSlice {
  id: number;
  name: string;
  /** 1-based frame number and frame count (a multi-frame DICOM file gives several results). */
  frame: number;
  frames: number;
  source: string;
  width: number;
  height: number;
  /** RGBA bytes of the slice with the task's overlay (heat map, or mask and legend), and of the slice alone. */
  overlay: ArrayBuffer;
  plain: ArrayBuffer;
  /** Median time of one inference (batch of one), and how many were timed. */
  inferenceMs: number;
  timedRuns: number;
  backend: "simd" | "scalar";
}

/** A classified slice. */
export interface SliceResult extends ShownSlice {
  /** Every class, most probable first. */
  classes: { label: string; probability: number }[];
  /**
   * The heat map's making. Occlusion: patches, the patch sides (one map each, averaged; each
   * slides by half its side). Score-CAM: patches = the layer's channels (one masked copy each).
   */
  occlusion: { ms: number; method: Method; patches: number; runs: number; batch: number; patch: number[]; layer?: string };
  /** The most sensitive region, in slice pixels, or null when no patch lowered the score. */
  box: { x: number; y: number; width: number; height: number } | null;
}

/** A segmented slice: every class's pixels, share and (with a pixel spacing) area, and its colour. */
export interface SegmentResult extends ShownSlice {
  classes: { index: number; label: string; pixels: number; fraction: number; area_mm2?: number; color: string }[];
  background: number;
}

/** A slice a detector looked at: its boxes, best first, in the slice's pixels, each with its class's colour. */
export interface DetectResult extends ShownSlice {
  boxes: { label: string; score: number; box: { x0: number; y0: number; x1: number; y1: number }; color: string }[];
}

export type Reply =
  | { type: "ready"; backend: "simd" | "scalar"; threads: number; threadsNote: string }
  | { type: "model"; model: ModelInfo }
  | { type: "model-error"; name: string; message: string }
  | { type: "result"; result: SliceResult }
  | { type: "segmented"; result: SegmentResult }
  | { type: "detected"; result: DetectResult }
  | { type: "done"; id: number }
  | { type: "error"; id?: number; message: string };
