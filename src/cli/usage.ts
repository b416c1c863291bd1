import { SimdcnnError } from "../errors.js";

/** A bad command line: one line of explanation, the usage, exit code 2. */
export class UsageError extends SimdcnnError {
  override name = "UsageError";
}

export const USAGE = `usage:
  simdcnn classify --model m.onnx [options] <files, folders or globs>
  simdcnn info <m.onnx>

classify options:
  --model PATH        the ONNX classifier (required); settings from its metadata or PATH.json
  --json | --csv      machine-readable output instead of the table
  --out FILE          write the output to FILE instead of stdout
  --top-k N           classes listed per slice (default 3)
  --batch N           slices per inference (default 8; 1 when the model's batch is fixed)
  --backend B         auto | simd | scalar (default auto)
  --threads N         threads, or auto: the machine's cores (default auto); several files run
                      in N worker processes, one file on N kernel threads
  --window C,W        intensity window for DICOM slices, e.g. 40,400
  --labels A,B,...    class names (override the model's)
  --output softmax|sigmoid|logits   how outputs become probabilities (override the model's)
  --resize bilinear|nearest         (override the model's)
  --input-size H,W    the size slices are resized to, for a model with symbolic height and width
  --heatmap DIR       write an occlusion-sensitivity overlay PNG per slice into DIR
  --patch N           occlusion patch side in input pixels (default: 1/8 of the input size)
  --stride N          occlusion stride (default: half the patch)
  --skip-existing     skip slices whose heatmap already exists in DIR`;
