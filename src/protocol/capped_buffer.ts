/**
 * The one accumulator of capped bodies, behind both readers (`server/read_body.ts` for request
 * bodies, `transport/read_capped.ts` for the router's answers): memory held near the cap
 * whatever the chunking. Chunks are copied into blocks it owns, which double in size but never
 * pass the cap in all, so no platform chunk is kept (Deno's each pin a 64 KiB buffer, Node's a
 * Buffer object: keeping a 1-byte drip's chunks costs far more than its bytes). The first chunk
 * is kept as is until a second arrives, so a one-chunk body is never copied.
 *
 * @module
 */

/** First capacity of an owned block when the length is not known. */
const INITIAL_CAPACITY = 16 * 1024;

/** Bytes gathered up to a cap. */
export interface CappedBuffer {
  /**
   * Adds a chunk (copied, unless it is the first).
   *
   * @param chunk The bytes.
   * @returns `false` when it would take the total past the cap (then nothing is added).
   */
  push(chunk: Uint8Array): boolean;
  /**
   * The bytes gathered, as one buffer: the first chunk itself for a one-chunk body, else an
   * exact copy (the blocks are then wiped when `wipeChunks` is set).
   */
  result(): Uint8Array<ArrayBuffer>;
  /** Zeroes everything held: the blocks and a first chunk kept as is. */
  wipe(): void;
}

/** Options of {@linkcode makeCappedBuffer}. */
export interface CappedBufferOptions {
  /** The declared length, when it is the length to be read: the first block is that size. */
  readonly declared?: number | undefined;
  /** Zero every chunk once copied (request bodies: they hold the prompt). Default `false`. */
  readonly wipeChunks?: boolean;
}

/**
 * Makes an accumulator of at most `cap` bytes.
 *
 * @param cap Most bytes held.
 * @param options The declared length, whether to wipe chunks once copied.
 * @returns The accumulator.
 */
export const makeCappedBuffer = (cap: number, options: CappedBufferOptions = {}): CappedBuffer => {
  const { declared, wipeChunks = false } = options;
  let first: Uint8Array | undefined;
  const blocks: Uint8Array<ArrayBuffer>[] = [];
  let block: Uint8Array<ArrayBuffer> | undefined;
  let used = 0; // bytes in `block`
  let allocated = 0; // bytes in all blocks
  let size = 0;
  const newBlock = (needed: number): void => {
    const wanted = blocks.length === 0 && declared !== undefined && declared >= needed
      ? declared
      : Math.max(needed, INITIAL_CAPACITY, allocated);
    block = new Uint8Array(Math.min(cap - allocated, wanted));
    blocks.push(block);
    allocated += block.length;
    used = 0;
  };
  const copy = (chunk: Uint8Array): void => {
    let offset = 0;
    while (offset < chunk.length) {
      if (block === undefined || used === block.length) newBlock(chunk.length - offset);
      const n = Math.min(block!.length - used, chunk.length - offset);
      block!.set(
        offset === 0 && n === chunk.length ? chunk : chunk.subarray(offset, offset + n),
        used,
      );
      used += n;
      offset += n;
    }
    if (wipeChunks) chunk.fill(0);
  };
  return {
    push: (chunk) => {
      if (size + chunk.length > cap) return false;
      if (first === undefined && blocks.length === 0) {
        first = chunk;
      } else {
        if (first !== undefined) {
          const kept = first;
          first = undefined;
          copy(kept);
        }
        copy(chunk);
      }
      size += chunk.length;
      return true;
    },
    result: () => {
      if (first !== undefined) return first as Uint8Array<ArrayBuffer>;
      if (blocks.length === 0) return new Uint8Array(0);
      if (blocks.length === 1) {
        return size === blocks[0]!.length ? blocks[0]! : blocks[0]!.subarray(0, size);
      }
      const out = new Uint8Array(size);
      let offset = 0;
      for (const b of blocks) {
        const n = Math.min(b.length, size - offset);
        out.set(n === b.length ? b : b.subarray(0, n), offset);
        offset += n;
        if (wipeChunks) b.fill(0);
      }
      return out;
    },
    wipe: () => {
      first?.fill(0);
      for (const b of blocks) b.fill(0);
    },
  };
};
