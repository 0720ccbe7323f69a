/** The emscripten codec builds ship no type declarations: each module exports a factory returning the codec. */
declare module '@cornerstonejs/codec-charls/decode' {
  const factory: (opts?: object) => Promise<Record<string, new () => unknown>>;
  export default factory;
}
declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decode' {
  const factory: (opts?: object) => Promise<Record<string, new () => unknown>>;
  export default factory;
}
declare module '@cornerstonejs/codec-openjpeg/decode' {
  const factory: (opts?: object) => Promise<Record<string, new () => unknown>>;
  export default factory;
}
