export { init, Engine, type InitOptions } from "./engine.js";
export { Tensor } from "./runtime/tensor.js";
export type { Backend, WasmSource } from "./runtime/load.js";
export type { Activation } from "./ops/activation.js";
export type { Conv2d, Conv2dOptions } from "./ops/conv2d.js";
export type { ConvTranspose2d, ConvTranspose2dOptions } from "./ops/deconv2d.js";
export type { Gemm, GemmOptions } from "./ops/gemm.js";
export type { MaxPool2dOptions, AvgPool2dOptions } from "./ops/pool.js";
export type { Padding } from "./ops/options.js";
export type { ResizeOptions, ResizeMode, CoordinateMode, NearestMode } from "./ops/resize.js";
export type { ArgMaxOptions } from "./ops/argmax.js";
export type { Model, ModelIO, OutputData } from "./graph/model.js";
export { asFloats } from "./graph/model.js";
export type { MemoryReport } from "./graph/compile.js";
export type { LoadOnnxOptions } from "./onnx/load.js";
export { SUPPORTED_ONNX_OPS } from "./onnx/ops.js";
export { layers, SymbolicTensor, type Layer } from "./layers/layers.js";
export {
  SimdcnnError, ShapeError, ArgumentError, DisposedError, MemoryError, BackendError, ModelFormatError, UnsupportedError,
  InputFormatError, FileError, DicomwebError,
} from "./errors.js";
