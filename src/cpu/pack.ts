/**
 * Packs codes little-endian into u32 words, element 0 in the lowest bits: four 8-bit codes or
 * eight 4-bit codes (ONNX nibble order) per word. A final partial word is zero-filled.
 */
export function packCodes(codes: Int8Array | Uint8Array, bits: 4 | 8, dst?: Uint32Array): Uint32Array {
  const perWord = 32 / bits;
  const mask = (1 << bits) - 1;
  const words = dst ?? new Uint32Array(Math.ceil(codes.length / perWord));
  words.fill(0);
  for (let i = 0; i < codes.length; i++) {
    const w = Math.floor(i / perWord);
    words[w] = ((words[w] as number) | (((codes[i] as number) & mask) << ((i % perWord) * bits))) >>> 0;
  }
  return words;
}

/** Reverses {@link packCodes}: `count` codes, sign-extended when `signed`. */
export function unpackCodes(words: Uint32Array, bits: 4 | 8, count: number, signed: boolean): Int8Array | Uint8Array {
  const perWord = 32 / bits;
  const mask = (1 << bits) - 1;
  const codes = signed ? new Int8Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const v = ((words[Math.floor(i / perWord)] as number) >>> ((i % perWord) * bits)) & mask;
    codes[i] = signed && v > mask >>> 1 ? v - mask - 1 : v;
  }
  return codes;
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * The codes of `words`, like {@link unpackCodes}, but for 8-bit codes on a little-endian host a
 * view of the words' own bytes (four codes per word, element 0 lowest, are the codes array
 * itself): no copy, and the two share memory.
 */
export function codesOfPacked(words: Uint32Array, bits: 4 | 8, count: number, signed: boolean): Int8Array | Uint8Array {
  if (bits !== 8 || !LITTLE_ENDIAN) return unpackCodes(words, bits, count, signed);
  return signed ? new Int8Array(words.buffer, words.byteOffset, count) : new Uint8Array(words.buffer, words.byteOffset, count);
}
