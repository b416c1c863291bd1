import { SimdcnnError } from "../errors.js";

/** A bad command line (a flag, its value, or a path given for the model or an output): exit code 2. */
export class UsageError extends SimdcnnError {
  override name = "UsageError";
}

const CLASSIFY = `usage: simdcnn classify --model m.onnx [options] <files, folders or globs>
       simdcnn classify --model m.onnx [options] --dicomweb URL --study UID [--series UID]

Classifies every slice (every frame of a multi-frame DICOM) and prints one line per slice.
Volumes are classified slice by slice along --axis: a NIfTI file (.nii, .nii.gz), and the
single-frame DICOM files of a folder that share a Series Instance UID (ordered by position
along the slice normal; a folder of several series gives a volume per series). Their lines
name the series, axis, slice index (from 0, in order of increasing position) and position (mm,
RAS: S for axial, A for coronal, R for sagittal).

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
  --heatmap DIR       write an occlusion-sensitivity overlay PNG per slice into DIR (created);
                      names follow the inputs' paths below their common folder
  --patch N           occlusion patch side in input pixels (default: 1/8 of the input size)
  --stride N          occlusion stride (default: half the patch)
  --skip-existing     skip slices whose heatmap already exists in DIR
  --axis A            axial | coronal | sagittal: the patient axis volumes are sliced along
                      (default axial); slices are taken along the volume axis nearest it
  --dicomweb URL      read a study from a DICOMweb service (QIDO-RS to list its series, WADO-RS
                      to fetch them), e.g. http://pacs:8042/dicom-web; lines name each series by URL
  --study UID         the Study Instance UID to read from --dicomweb (required with it)
  --series UID        read only this series of the study
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
