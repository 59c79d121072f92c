/**
 * Reads the router's answers up to a cap (an Effect over `@effect/platform`'s response stream),
 * holding memory near the cap whatever the chunking or content encoding: the bytes gather in
 * the one capped accumulator (`protocol/capped_buffer.ts`), which keeps no platform chunk.
 * Request bodies are read by `server/read_body.ts` on the same accumulator, wiping chunks.
 *
 * @module
 */
import type * as HttpClientError from "@effect/platform/HttpClientError";
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse";
import * as Effect from "effect/Effect";
import * as Stream from "effect/Stream";
import { makeCappedBuffer } from "../protocol/capped_buffer.ts";

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
    const buffer = makeCappedBuffer(cap, { declared });
    return response.stream.pipe(
      // No body at all (a 204, a 304) is an empty body: bad data for the caller to judge, not
      // a failed connection to retry.
      Stream.catchAll((e) => e.reason === "EmptyBody" ? Stream.empty : Stream.fail(e)),
      Stream.runForEach((chunk) => buffer.push(chunk) ? Effect.void : Effect.fail(tooLarge())),
      Effect.map(() => buffer.result()),
    );
  });
};
