/**
 * Strict standard base64 for the `*_b64` fields of an attestation block.
 *
 * `Encoding.decodeBase64` from `effect` drops CR and LF and accepts non-zero padding bits, so
 * two different strings can decode to the same bytes. Here the text must match the standard
 * alphabet with `=` padding and no whitespace, and must be exactly what re-encoding the bytes
 * gives: one canonical spelling per byte string.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Encoding from "effect/Encoding";
import { AttestationError } from "../errors.ts";

/**
 * Longest `*_b64` text accepted: 6 KiB of bytes is far above an RSA-4096 key or signature, so
 * hostile input is refused before any decoding work.
 */
export const MAX_BASE64_LENGTH = 8192;

const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes strict, canonical standard base64.
 *
 * @param text The field's value.
 * @param field The field's name, for the message (never its value).
 * @returns A fresh `Uint8Array<ArrayBuffer>`; fails with reason `"BadBase64"` when the text is
 * not canonical base64 and `"Malformed"` when it is longer than {@linkcode MAX_BASE64_LENGTH}.
 */
export const decodeStrictBase64 = (
  text: string,
  field: string,
): Effect.Effect<Uint8Array<ArrayBuffer>, AttestationError> => {
  if (text.length > MAX_BASE64_LENGTH) {
    return Effect.fail(
      new AttestationError({
        reason: "Malformed",
        message: `Cannot decode ${field}: longer than ${MAX_BASE64_LENGTH} characters`,
      }),
    );
  }
  const badBase64 = Effect.fail(
    new AttestationError({
      reason: "BadBase64",
      message: `Cannot decode ${field}: not canonical standard base64`,
    }),
  );
  if (!STANDARD_BASE64.test(text)) return badBase64;
  const decoded = Encoding.decodeBase64(text);
  if (Either.isLeft(decoded)) return badBase64;
  // Non-zero bits in the last character's padding make a second spelling: refuse it.
  if (Encoding.encodeBase64(decoded.right) !== text) return badBase64;
  return Effect.succeed(new Uint8Array(decoded.right));
};
