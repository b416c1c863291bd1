// The part of dcmjs (which ships no types) that src/io/dicom-write.ts uses: reading a Part 10
// header into a data set, naturalized data sets (attributes by keyword), and writing Part 10.
declare module "dcmjs" {
  type DataSet = Record<string, unknown>;
  interface DicomDictInstance {
    dict: DataSet;
    write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
  }
  const dcmjs: {
    data: {
      DicomMessage: { readFile(buffer: ArrayBuffer, options?: { untilTag?: string; includeUntilTagValue?: boolean; ignoreErrors?: boolean }): { meta: DataSet; dict: DataSet } };
      DicomMetaDictionary: {
        naturalizeDataset(dataset: DataSet): DataSet;
        denaturalizeDataset(dataset: DataSet): DataSet;
      };
      DicomDict: new (meta: DataSet) => DicomDictInstance;
      /** sRGB in 0..1 to DICOM's CIELab encoding (each component scaled to 0..65535). */
      Colors: { rgb2DICOMLAB(rgb: number[]): number[] };
    };
  };
  export default dcmjs;
}
