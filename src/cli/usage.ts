import { SimdcnnError } from "../errors.js";

/** A bad command line (a flag, its value, or a path given for the model or an output): exit code 2. */
export class UsageError extends SimdcnnError {
  override name = "UsageError";
}

// Option lines the model commands share, word for word.
const RUN = `  --batch N           slices per inference (default 8; the model's batch when it is fixed)
  --backend B         auto | simd | scalar (default auto)
  --threads N         threads, or auto: the machine's cores (default auto); several files run
                      in up to N worker processes, one file on N kernel threads
  --window C,W        intensity window for DICOM slices, e.g. 40,400`;
const INPUT_SIZE = `  --resize bilinear|nearest         (override the model's)
  --input-size H,W    the size slices are resized to, for a model with symbolic height and width`;
const AXIS = `  --axis A            axial | coronal | sagittal: the patient axis volumes are sliced along
                      (default axial); slices are taken along the volume axis nearest it`;
const DICOMWEB = `  --dicomweb URL      read a study from a DICOMweb service (QIDO-RS to list its series, WADO-RS
                      to fetch them), e.g. http://pacs:8042/dicom-web; lines name each series by URL`;
const STUDY = `  --study UID         the Study Instance UID to read from --dicomweb (required with it)
  --series UID        read only this series of the study`;
/** segment's and detect's --queue, whose outputs (--out, --boxes) are folders. */
const queue = (verb: string, out: string) => `  --queue URL         enqueue the inputs on redis://HOST:PORT/N for \`simdcnn worker\`
                      processes instead of ${verb} here; paths (the inputs, the model and
                      ${out}) must name the same files and folder on every worker (a shared
                      filesystem), or inputs and ${out} be s3://BUCKET/PREFIX; the table (or
                      --json, --csv) goes to stdout`;

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
${RUN}
  --labels A,B,...    class names (override the model's)
  --output softmax|sigmoid|logits   how outputs become probabilities (override the model's)
${INPUT_SIZE}
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
  --skip-existing     skip slices whose heatmap already exists in DIR; with --queue and
                      --out FILE.jsonl, also inputs whose results are already in FILE.jsonl
  --queue URL         enqueue the inputs on redis://HOST:PORT/N for \`simdcnn worker\`
                      processes instead of classifying here; paths must name the same files
                      on every worker (a shared filesystem). With --out FILE.jsonl, each
                      input's results are appended to FILE.jsonl as they arrive, and the
                      table (or --json, --csv) goes to stdout. Each file is a job, each
                      volume's slabs of 32 slices or more, each --dicomweb series. Inputs
                      and --heatmap may be s3://BUCKET/PREFIX (the endpoint from
                      AWS_ENDPOINT_URL_S3 for S3-compatible services)
${AXIS}
${DICOMWEB}
${STUDY}
  --sr DIR            write a DICOM Comprehensive SR per DICOM input (a series, or a file) into
                      DIR: each slice's top class and probability, referencing its image, and
                      the model's name and SHA-256; DIR/<name>.sr.dcm. A non-DICOM input gets
                      a line saying so. A series must be read along its own axis
  --store             also send each --sr report to the --dicomweb service (STOW-RS); a
                      refused one is a DicomwebError line for its input
  -h, --help          this text

Paths are printed as given: relative to the current folder when given relative, absolute when
given absolute. Exit code: 0 every slice classified; 1 an input could not be read or classified
(the other inputs still are) or the model is malformed, unsupported or not a classifier; 2 a bad
command line, including a model, --out or --heatmap path that is missing or of the wrong kind.`;

const SEGMENT = `usage: simdcnn segment --model m.onnx [options] <files, folders or globs>
       simdcnn segment --model m.onnx [options] --dicomweb URL --study UID [--series UID]

Segments every slice (every frame of a multi-frame DICOM): writes its mask, an 8-bit grey PNG of
the slice's own size whose pixels are class indices, and prints one line per slice with each
class's pixels, fraction and area (in mm2 when the slice has a pixel spacing). Volumes (a NIfTI
file, the single-frame DICOM files of a folder that share a Series Instance UID) are segmented
slice by slice along --axis, as \`simdcnn classify\` reads them; their masks are named
<name>-<axis><index>, and each volume's class volumes in mL go to stderr.

options:
  --model PATH        the ONNX segmentation model (required): scores [N,C,H,W] after an NCHW
                      input, [N,H,W,C] after an NHWC one; settings from its metadata or PATH.json
  --out DIR           the folder of the masks (created; default masks): DIR/<name>.mask.png,
                      names following the inputs' paths below their common folder
  --overlay           also write DIR/<name>.overlay.png: the slice in grey, each class but the
                      background in its colour, and a legend
  --threshold T       for one-channel models: a pixel is class 1 when its probability is above
                      T (default 0.5)
  --json | --csv      machine-readable output instead of the table
${RUN}
  --labels A,B,...    class names (override the model's)
  --background N      the background class (default 0; override the model's)
  --colors C,C,...    class colours as #rrggbb (override the model's)
  --output softmax|sigmoid|logits   how scores become probabilities (override the model's)
${INPUT_SIZE}
${AXIS}
${DICOMWEB}
${STUDY}
${queue("segmenting", "--out")}
  --seg DIR           write a DICOM Segmentation (binary, a segment per class but the
                      background) per DICOM input (a series along any --axis, or a file with
                      all its frames) into DIR: DIR/<name>.seg.dcm, in the source's geometry,
                      referencing its images. A non-DICOM input gets a line saying so
  --store             also send each --seg segmentation to the --dicomweb service (STOW-RS); a
                      refused one is a DicomwebError line for its input
  -h, --help          this text

The model's scores are resized back to each slice (bilinear, undoing the stretch to the model's
input) before each pixel takes its best class. Exit code: 0 every slice segmented; 1 an input
could not be read or segmented (the other inputs still are) or the model is malformed,
unsupported or not a segmentation model; 2 a bad command line, including a model or --out path
that is missing or of the wrong kind.`;

const DETECT = `usage: simdcnn detect --model m.onnx [options] <files, folders or globs>
       simdcnn detect --model m.onnx [options] --dicomweb URL --study UID [--series UID]

Finds boxes on every slice (every frame of a multi-frame DICOM) with a detector and prints one
line per box: its class, score and corners x0 y0 x1 y1 in the slice's own pixels (pixel i spans
i..i+1; the boxes are mapped back from the model's input, which the slice is stretched to).
Boxes scoring above --score are kept, per-class non-maximum suppression drops those overlapping a
better box of their class by IoU above --iou, and at most --max-boxes remain per slice. Volumes
are read slice by slice along --axis, as \`simdcnn classify\` reads them.

options:
  --model PATH        the ONNX detector (required); settings from its metadata or PATH.json.
                      Its outputs: boxes [N,B,4] and scores [N,B,C] (or [N,B] for one class), or
                      YOLO rows [N,B,5+C] (box, objectness, class scores; score = objectness x
                      the best class's), or boxes, scores and classes it selected itself
  --detection L       boxes-scores | yolo | selected: the outputs' layout (override the model's;
                      default by the output count: 2, 1, 3); given as selected, outputs past
                      the third (NonMaxSuppression's indices) are left unread
  --box-format F      xyxy | cxcywh: corners, or centre and size (override the model's; default
                      cxcywh for yolo, else xyxy)
  --box-units U       pixels | normalized: of the model's input, or fractions of its size
                      (override the model's; default pixels)
  --score S           keep boxes scoring above S, 0..1 (default 0.5)
  --iou T             drop a box overlapping a kept box of its class by IoU above T (default 0.45)
  --max-boxes N       at most N boxes per slice (default 100)
  --boxes DIR         write DIR/<name>.boxes.png: the slice in grey with its boxes, each labelled
                      with its class and score (DIR created; names follow the inputs' paths
                      below their common folder)
  --json | --csv      machine-readable output instead of the table
${RUN}
  --labels A,B,...    class names (override the model's)
  --colors C,C,...    class colours as #rrggbb for the box images (override the model's)
${INPUT_SIZE}
${AXIS}
${DICOMWEB}
${STUDY}
${queue("detecting", "--boxes")}
  -h, --help          this text

Exit code: 0 every slice processed; 1 an input could not be read or run (the other inputs still
are) or the model is malformed, unsupported or not a detector; 2 a bad command line, including a
model or --boxes path that is missing or of the wrong kind.`;

const INFO = `usage: simdcnn info <m.onnx> [--backend auto|simd|scalar]
       simdcnn info --check <m.onnx>...

Prints a model's inputs, outputs, metadata, layers, parameters, FLOPs and planned memory, or
every node and tensor that keeps it from loading, each with its reason. External data files are
read from the model's folder.

  --check             only whether each model loads: "path: ok", or one "path: problem" line
                      per problem; exits 1 when any model would not load, 0 otherwise
  -h, --help          this text`;

const QUANTIZE = `usage: simdcnn quantize --model m.onnx --calibrate PATH --out m.int8.onnx [options]

Writes the model's static int8 version in the standard QDQ format (QuantizeLinear and
DequantizeLinear around each quantized op), which simdcnn runs on its 8-bit kernels and
onnxruntime also runs. Conv, MatMul and Gemm weights become int8, symmetric, one scale per output
channel; their bias int32. Their activations get one scale and zero point each, from the range
the float model's values take on the calibration slices (read and preprocessed as
\`simdcnn classify\` reads them for this model); graph outputs stay float.

options:
  --model PATH        the float ONNX model (required; opset 13 or later)
  --calibrate PATH    calibration slices (required): a file, a folder (read recursively) or a
                      glob; a few hundred slices like those the model will see
  --out PATH          the .onnx file to write (required)
  --percentile P      drop each tensor's largest and smallest (100 - P)% of calibration
                      values (e.g. 99.99), so that rare outliers do not stretch the scale for
                      all other values; default: the full range (min-max)
  --activations T     uint8 (default) or int8
  --batch N           calibration slices per run (default 8)
  --window C,W        the display window for DICOM slices, as in classify
  -h, --help          this text

Exit code: 0 written; 1 a slice could not be read or the model is malformed or unsupported;
2 a bad command line.`;

const WORKER = `usage: simdcnn worker --queue redis://HOST:PORT/N [--threads T] [--stall-seconds S]

Runs the jobs that \`simdcnn classify|segment|detect --queue\` enqueue, until
SIGINT or SIGTERM (then it finishes the jobs it holds). Run one per core, on as many machines as
reach the Redis server and the files.

options:
  --queue URL         the Redis (or Valkey) server and database, redis:// or rediss:// (required)
  --threads T         kernel threads of this worker's engine (default 1; more processes scale
                      better than more threads)
  --stall-seconds S   how long the jobs of a worker that died wait before another worker takes
                      them (default 30); a worker must not block its event loop this long
  -h, --help          this text

Exit code: 0 stopped by a signal; 2 a bad command line.`;

const MAIN = `usage:
  simdcnn classify --model m.onnx [options] <files, folders or globs>
  simdcnn segment --model m.onnx [options] <files, folders or globs>
  simdcnn detect --model m.onnx [options] <files, folders or globs>
  simdcnn info [--check] <m.onnx>...
  simdcnn quantize --model m.onnx --calibrate PATH --out m.int8.onnx
  simdcnn worker --queue redis://HOST:PORT/N
  simdcnn help [command]      a command's options
  simdcnn --version`;

/** The usage text of a command, or of the whole tool. */
export const USAGE: Readonly<Record<string, string>> = { classify: CLASSIFY, segment: SEGMENT, detect: DETECT, info: INFO, quantize: QUANTIZE, worker: WORKER, "": MAIN };

export const COMMANDS = ["classify", "segment", "detect", "info", "quantize", "worker", "help"] as const;
