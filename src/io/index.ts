// The 'simdcnn/io' entry: decoding image slices (PNG, JPEG, DICOM) from their bytes, turning
// them into a model's input, a model's settings from its metadata, heat-map overlays, and label
// maps, class areas and mask overlays of segmentation scores, as PNG.
// It imports no Node module, so browser bundles can use it as they are; reading files from disk
// is the CLI's business, not this entry's.
export { readSlices, type ReadOptions } from "./read.js";
export type { Slice } from "./slice.js";
export { toInput, type InputSpec, type Normalize, type ResizeMode } from "./preprocess.js";
export {
  modelSettings, defaultColor, type ModelDescription, type ModelSettings, type OutputActivation, type SettingName, type SettingsSources,
} from "./metadata.js";
export { overlayHeatmap, type OverlayOptions } from "./heatmap.js";
export { labelMap, classAreas, scoreLayout, scoreMap, type ScoreMap, type ScoreLayout, type LabelMapOptions, type ClassArea } from "./segmentation.js";
export { overlayMask, type MaskOverlayOptions } from "./mask-overlay.js";
export { encodePng } from "./png.js";
