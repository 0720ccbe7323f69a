// dcmjs 0.52 ships no type declarations; the report module uses its data layer (DicomDict, DicomMessage,
// DicomMetaDictionary) only, through this untyped default export.
declare module 'dcmjs' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const dcmjs: any;
  export default dcmjs;
}
