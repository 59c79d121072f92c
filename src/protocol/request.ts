/**
 * Turning a chat completion request into the plaintext that gets sealed.
 *
 * @module
 */
import * as Either from "effect/Either";
import { SecurityError } from "../errors.ts";
import type { ChatCompletionRequest } from "./chat.ts";
import { MAX_PLAINTEXT_BYTES } from "./headers.ts";

const utf8 = new TextEncoder();

/**
 * Encodes a request as UTF-8 JSON, refusing more than the protocol allows (the refused bytes
 * are zeroed: they held the plaintext all the same).
 *
 * @param request The chat completion body.
 * @param action What the caller was doing, for the messages (e.g. `"send request"`).
 * @returns The plaintext, or a `SecurityError` (`PayloadTooLarge`).
 * @throws {TypeError} When `request` is not an object, or cannot be serialized (circular, a
 * BigInt, nested too deep): programming errors.
 */
export const encodeRequest = (
  request: ChatCompletionRequest,
  action: string,
): Either.Either<Uint8Array<ArrayBuffer>, SecurityError> => {
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    throw new TypeError(`Cannot ${action}: the request must be an object`);
  }
  let text: string;
  try {
    text = JSON.stringify(request);
  } catch {
    // A cycle, a BigInt, or nesting deep enough to overflow the stack: the caller's doing.
    throw new TypeError(`Cannot ${action}: the request cannot be serialized as JSON`);
  }
  const bytes = utf8.encode(text);
  if (bytes.length <= MAX_PLAINTEXT_BYTES) return Either.right(bytes);
  const size = bytes.length;
  bytes.fill(0);
  return Either.left(
    new SecurityError({
      reason: "PayloadTooLarge",
      message: `Cannot ${action}: plaintext is ${size} bytes, over the 10 MiB limit`,
    }),
  );
};
