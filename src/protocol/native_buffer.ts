/**
 * Node's and Bun's `Buffer`, found on `globalThis` and never imported, so that browser builds
 * pull in no `node:` module. Its native codecs (base64, Latin-1, `indexOf` by `memchr`) beat
 * the Web APIs on Node by several times at megabyte sizes.
 *
 * @module
 */

/** The `Buffer` methods the protocol uses. */
export interface NodeBufferView {
  /** `encoding` text of the bytes `[start, end)`. */
  toString(encoding: "base64" | "latin1", start?: number, end?: number): string;
  /** Writes `s` decoded as `encoding` at `offset`, at most `length` bytes; returns the count. */
  write(s: string, offset: number, length: number, encoding: "base64" | "latin1"): number;
  /** The first index of `byte` from `from`, or -1. */
  indexOf(byte: number, from?: number): number;
}

/** The `Buffer` class methods the protocol uses. */
export interface NodeBufferClass {
  /** A view (no copy) of `length` bytes of `buffer` from `byteOffset`. */
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): NodeBufferView;
  /** Bytes of `s` in UTF-8. */
  byteLength(s: string, encoding: "utf8"): number;
}

const found = (globalThis as { Buffer?: Partial<NodeBufferClass> }).Buffer;

/**
 * The runtime's own `Buffer` (Node, Bun); `undefined` in browsers and on Deno, whose `Buffer`
 * is Node's written in JavaScript over the Web APIs (slower than them, e.g. `indexOf`).
 */
export const nativeBuffer: NodeBufferClass | undefined =
  typeof (globalThis as { Deno?: unknown }).Deno === "object" ||
    typeof found?.from !== "function" || typeof found.byteLength !== "function"
    ? undefined
    : found as NodeBufferClass;
