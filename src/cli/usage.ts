import { SimdcnnError } from "../errors.js";

/** A bad command line (a flag, its value, or a path given for the model or an output): exit code 2. */
export class UsageError extends SimdcnnError {
  override name = "UsageError";
}

const CLASSIFY = `usage: simdcnn classify --model m.onnx [options] <files, folders or globs>

Classifies every slice (every frame of a multi-frame DICOM) and prints one line per slice.

options:
  --model PATH        the ONNX classifier (required); settings from its metadata or PATH.json
  --json | --csv      machine-readable output instead of the table
  --out FILE          write the output to FILE instead of stdout (its folder is created)
  --top-k N           classes listed per slice (default 3)
  --batch N           slices per inference (default 8; the model's batch when it is fixed)
  --backend B         auto | simd | scalar (default auto)
  --threads N         threads, or auto: the machine's cores (default auto); several files run
                      in up to N worker processes, one file on N kernel threads
  --window C,W        intensity window for DICOM slices, e.g. 40,400
  --labels A,B,...    class names (override the model's)
  --output softmax|sigmoid|logits   how outputs become probabilities (override the model's)
  --resize bilinear|nearest         (override the model's)
  --input-size H,W    the size slices are resized to, for a model with symbolic height and width
  --heatmap DIR       write a heat-map overlay PNG per slice into DIR (created), with the
                      heat's peak, and a box around it, in the output; names follow the
                      inputs' paths below their common folder. The heat is the drop of the
                      class's score before the model's final softmax/sigmoid (its logit, or
                      for softmax its log-odds), never of a saturated probability
  --method M          occlusion (patches hidden one by one) or scorecam (Score-CAM over the
                      last convolutional layer's maps); default occlusion
  --baseline B        what hides evidence: mean (default; each channel's mean), blur (the
                      slice blurred, sigma 1/8 of its side) or zero
  --patch N[,N...]    occlusion patch sides in input pixels, one map each, averaged
                      (default: 1/8 and 1/4 of the input size)
  --stride N          occlusion stride (default: half of each patch)
  --skip-existing     skip slices whose heatmap already exists in DIR
  -h, --help          this text

Paths are printed as given: relative to the current folder when given relative, absolute when
given absolute. Exit code: 0 every slice classified; 1 an input could not be read or classified
(the other inputs still are) or the model is malformed, unsupported or not a classifier; 2 a bad
command line, including a model, --out or --heatmap path that is missing or of the wrong kind.`;

const INFO = `usage: simdcnn info <m.onnx> [--backend auto|simd|scalar]

Prints a model's inputs, outputs, metadata, layers, parameters, FLOPs and planned memory, or the
operators simdcnn does not support.

  -h, --help          this text`;

const MAIN = `usage:
  simdcnn classify --model m.onnx [options] <files, folders or globs>
  simdcnn info <m.onnx>
  simdcnn help [command]      a command's options
  simdcnn --version`;

/** The usage text of a command, or of the whole tool. */
export const USAGE: Readonly<Record<string, string>> = { classify: CLASSIFY, info: INFO, "": MAIN };

export const COMMANDS = ["classify", "info", "help"] as const;
