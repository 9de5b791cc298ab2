// The Toeplitz hash NICs use for receive-side scaling: for every set bit of the input, XOR in the 32-bit window
// of the key that starts at that bit.

/** The 40-byte default key of the RSS specification, which many drivers also use by default. */
export const DEFAULT_RSS_KEY = Uint8Array.from([
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
  0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
]);

export function toeplitzHash(input: Uint8Array, key: Uint8Array = DEFAULT_RSS_KEY): number {
  if (key.length < input.length + 4) throw new RangeError(`RSS key of ${key.length} bytes is too short for ${input.length} input bytes`);
  let hash = 0;
  // window = key bits [i, i+32), kept as a 32-bit value shifted left one bit per input bit.
  let window = ((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0;
  for (let i = 0; i < input.length; i++) {
    const next = key[i + 4] ?? 0;
    for (let b = 7; b >= 0; b--) {
      if ((input[i]! >> b) & 1) hash = (hash ^ window) >>> 0;
      window = ((window << 1) | ((next >> b) & 1)) >>> 0;
    }
  }
  return hash >>> 0;
}
