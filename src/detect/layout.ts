import { ShapeError } from "../errors.js";
import type { BoxFormat, BoxUnits, DetectionLayout, ModelSettings } from "../io/metadata.js";

/** A detector's output, as its model declares it. */
export interface DetectorOutput {
  readonly name: string;
  readonly shape: readonly (number | string)[];
}

/** Which of a detector's outputs hold what, and how its boxes are written. */
export type DetectorLayout = { format: BoxFormat; units: BoxUnits } & (
  | { kind: "boxes-scores"; boxes: string; scores: string }
  | { kind: "yolo"; rows: string; rowLength: number }
  | { kind: "selected"; boxes: string; scores: string; classes: string }
);

const DEFAULT_LAYOUT: Record<number, DetectionLayout> = { 1: "yolo", 2: "boxes-scores", 3: "selected" };

const show = (o: DetectorOutput) => `'${o.name}' [${o.shape.join(", ")}]`;

/**
 * Reads a detector's layout from its settings (simdcnn:detection, box_format, box_units), or,
 * without them, from its output count (one: YOLO rows, two: boxes and scores, three: selected
 * boxes, scores, classes); boxes are corners in input pixels unless the settings say otherwise,
 * YOLO's centre and size. The boxes are the output whose last dimension is 4 (the first declared,
 * when several are; when none declares its last dimension, the first declared); the others keep
 * their declared order (for a given 'selected' layout, outputs past the third are not read).
 */
export function detectorLayout(outputs: readonly DetectorOutput[], settings: Pick<ModelSettings, "detection" | "boxFormat" | "boxUnits">): DetectorLayout {
  const kind = settings.detection ?? DEFAULT_LAYOUT[outputs.length];
  if (kind === undefined) throw new ShapeError(`a detector has one output (YOLO rows), two (boxes, scores) or three (selected boxes, scores, classes); this model has ${outputs.length}: give its layout with simdcnn:detection`);
  const format = settings.boxFormat ?? (kind === "yolo" ? "cxcywh" : "xyxy");
  const units = settings.boxUnits ?? "pixels";
  const want = { yolo: 1, "boxes-scores": 2, selected: 3 }[kind];
  // A model that selected its boxes itself may also return what it selected them by (NonMaxSuppression's
  // indices): named as such, those outputs go unread; a guessed layout reads every output.
  if (outputs.length < want || (outputs.length > want && !(kind === "selected" && settings.detection !== undefined))) {
    throw new ShapeError(`a '${kind}' detector has ${want} output${want === 1 ? "" : "s"}; this model has ${outputs.length}: ${outputs.map(show).join(", ")}`);
  }
  if (kind === "yolo") {
    const last = outputs[0].shape.at(-1);
    if (typeof last !== "number" || last < 6) throw new ShapeError(`a YOLO detector's output holds rows of a fixed 5 + C numbers (box, objectness, C >= 1 class scores); got ${show(outputs[0])}`);
    return { kind, rows: outputs[0].name, rowLength: last, format, units };
  }
  // Exports often leave every dimension symbolic: then the declared order decides.
  const boxes = outputs.find((o) => o.shape.at(-1) === 4) ?? outputs.find((o) => typeof o.shape.at(-1) !== "number");
  if (!boxes) throw new ShapeError(`a detector's boxes output ends in a dimension of 4; none does: ${outputs.map(show).join(", ")}`);
  const [scores, classes] = outputs.filter((o) => o !== boxes);
  if (kind === "boxes-scores") return { kind, boxes: boxes.name, scores: scores.name, format, units };
  return { kind, boxes: boxes.name, scores: scores.name, classes: classes.name, format, units };
}

/**
 * The class count a detector's outputs declare: the scores' last dimension (1 when the scores
 * have one dimension fewer than the boxes), YOLO's row length minus 5; unknown for selected
 * boxes, whose classes are indices.
 */
export function detectorClasses(outputs: readonly DetectorOutput[], layout: DetectorLayout): number | undefined {
  const shape = (name: string) => outputs.find((o) => o.name === name)!.shape;
  if (layout.kind === "selected") return undefined;
  if (layout.kind === "yolo") return layout.rowLength - 5;
  const scores = shape(layout.scores);
  if (scores.length === shape(layout.boxes).length - 1) return 1;
  const last = scores.at(-1);
  return typeof last === "number" ? last : undefined;
}
