/**
 * Reads an HTTP body up to a cap, holding memory near the cap whatever the chunking or content
 * encoding: chunks are copied into one owned buffer, which grows geometrically but never beyond
 * the cap, so no chunk of the platform's `fetch` is kept (Deno's each pin a 64 KiB buffer, so
 * keeping a 1-byte drip's chunks costs ~64 KiB per byte).
 *
 * @module
 */
import type * as HttpClientError from "@effect/platform/HttpClientError";
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse";
import { Effect, Stream } from "effect";

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
 * A body of one chunk is returned as is (no copy); otherwise the chunks are copied once into a
 * buffer of the declared length, or one that doubles as needed up to the cap.
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
    let owned: Uint8Array<ArrayBuffer> | undefined;
    let size = 0;
    const reserve = (needed: number): Uint8Array<ArrayBuffer> => {
      if (owned !== undefined && owned.length >= needed) return owned;
      const wanted = owned === undefined && declared !== undefined && declared >= needed
        ? declared
        : Math.max(needed, (owned?.length ?? INITIAL_CAPACITY / 2) * 2);
      const grown = new Uint8Array(Math.min(cap, wanted));
      if (owned !== undefined) grown.set(owned.subarray(0, size));
      else if (first !== undefined) grown.set(first);
      first = undefined;
      owned = grown;
      return grown;
    };
    return response.stream.pipe(
      Stream.runForEach((chunk) => {
        const needed = size + chunk.length;
        if (needed > cap) return Effect.fail(tooLarge());
        if (owned === undefined && first === undefined) first = chunk;
        else reserve(needed).set(chunk, size);
        size = needed;
        return Effect.void;
      }),
      Effect.map(() => {
        if (first !== undefined) return first as Uint8Array<ArrayBuffer>;
        if (owned === undefined) return new Uint8Array(0);
        return owned.length === size ? owned : owned.subarray(0, size);
      }),
    );
  });
};
