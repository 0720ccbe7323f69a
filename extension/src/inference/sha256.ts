/** SHA-256 with WebCrypto (browsers on https/localhost, Node >= 20): the artifact is verified before use. */

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    throw new Error(
      'WebCrypto (crypto.subtle) is unavailable: serve the viewer over https or localhost to verify models',
    );
  }
  const digest = await subtle.digest('SHA-256', bytes as unknown as ArrayBuffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export class IntegrityError extends Error {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`SHA-256 mismatch for ${file}: expected ${expected}, got ${actual}; refusing to use this model`);
    this.name = 'IntegrityError';
  }
}

export async function verifyBytes(file: string, bytes: Uint8Array, expected: string | undefined): Promise<void> {
  if (!expected) throw new IntegrityError(file, '(not listed in the model card)', 'unverifiable');
  const actual = await sha256Hex(bytes);
  if (actual !== expected.toLowerCase()) throw new IntegrityError(file, expected, actual);
}
