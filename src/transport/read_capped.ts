/**
 * Reads an HTTP body up to a cap, holding memory near the cap whatever the chunking or content
 * encoding: chunks are copied into blocks the reader owns, which double in size but never pass
 * the cap in all, so no chunk of the platform's `fetch` is kept (Deno's each pin a 64 KiB
 * buffer, so keeping a 1-byte drip's chunks costs ~64 KiB per byte).
 *
 * @module
 */
import type * as HttpClientError from "@effect/platform/HttpClientError";
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse";
import * as Effect from "effect/Effect";
import * as Stream from "effect/Stream";

/** First capacity of the owned buffer when the length is not known. */
const INITIAL_CAPACITY = 16 * 1024;

/**
 * The body length the router declared, when it is the length of what we read: a
 * `Content-Length` of digits, without a content encoding (a compressed body's length says
 * nothing about what it expands to).
 */
const declaredLength = (headers: Readonly<Record<string, string>>): number | undefined => {
  const length = headers["content-length"];
  if (length === undefined || !/^\d{1,16}$/.test(length)) return undefined;
  const encoding = headers["content-encoding"];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity") return undefined;
  return Number(length);
};

/**
 * Reads `response`'s body, up to `cap` bytes. A declared length over the cap is refused before
 * reading; a body that grows past it is cut off (the stream is cancelled) with `tooLarge()`.
 *
 * A body of one chunk is returned as is (no copy). Otherwise chunks are copied once into owned
 * blocks: one of the declared length when there is one (and it is then the result), else blocks
 * that double in size, never past the cap in all, joined at the end. Growing never copies what
 * was read, so a body cut off at the cap held at most the cap.
 *
 * @param response The response.
 * @param cap Most bytes read.
 * @param tooLarge The error when the body is over the cap.
 * @returns The body.
 */
export const readCapped = <E>(
  response: HttpClientResponse.HttpClientResponse,
  cap: number,
  tooLarge: () => E,
): Effect.Effect<Uint8Array<ArrayBuffer>, E | HttpClientError.ResponseError> => {
  const declared = declaredLength(response.headers);
  if (declared !== undefined && declared > cap) return Effect.fail(tooLarge());
  return Effect.suspend(() => {
    // The first chunk is kept as is until a second one arrives: one platform chunk at most.
    let first: Uint8Array | undefined;
    const blocks: Uint8Array<ArrayBuffer>[] = [];
    let block: Uint8Array<ArrayBuffer> | undefined;
    let used = 0; // bytes in `block`
    let allocated = 0; // bytes in all blocks
    let size = 0;
    const newBlock = (needed: number) => {
      const wanted = blocks.length === 0 && declared !== undefined && declared >= needed
        ? declared
        : Math.max(needed, INITIAL_CAPACITY, allocated);
      block = new Uint8Array(Math.min(cap - allocated, wanted));
      blocks.push(block);
      allocated += block.length;
      used = 0;
    };
    const copy = (chunk: Uint8Array) => {
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
    };
    return response.stream.pipe(
      // No body at all (a 204, a 304) is an empty body: bad data for the caller to judge, not
      // a failed connection to retry.
      Stream.catchAll((e) => e.reason === "EmptyBody" ? Stream.empty : Stream.fail(e)),
      Stream.runForEach((chunk) => {
        if (size + chunk.length > cap) return Effect.fail(tooLarge());
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
        return Effect.void;
      }),
      Effect.map(() => {
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
        }
        return out;
      }),
    );
  });
};
