/**
 * Turning an opened response plaintext into a {@linkcode ChatCompletion} with `_metadata`.
 *
 * @module
 */
import * as Either from "effect/Either";
import * as Schema from "effect/Schema";
import { SecurityError } from "../errors.ts";
import {
  type ChatCompletion,
  ChatCompletionBody,
  fillNullableFields,
  type ResponseMetadata,
} from "./chat.ts";
import { defineOwn, isJsonObject, MAX_JSON_DEPTH, parseJsonBounded } from "./json.ts";
import type { DecodedPackage } from "./package.ts";
import { decodeUtf8Strict } from "./utf8.ts";

const isChatCompletionBody = Schema.is(ChatCompletionBody);

const malformedPlaintext = (
  payloadId: string,
  detail = "plaintext is not a UTF-8 JSON chat completion object",
): SecurityError =>
  new SecurityError({
    reason: "MalformedPlaintext",
    message: `Cannot open response: ${detail}`,
    payloadId,
  });

/**
 * Parses an opened plaintext and sets `_metadata` as the protocol says, keeping what the router
 * put there. The parsed object is kept as `JSON.parse` made it: a `__proto__` key stays an own
 * data property and never reaches `Object.prototype`.
 *
 * @param plaintext The opened bytes (UTF-8 JSON).
 * @param pkg The package they came from (for `processed_at` and the algorithm).
 * @param payloadId The request's payload id.
 * @returns The completion, or a `SecurityError` (`MalformedPlaintext`).
 */
export const toChatCompletion = (
  plaintext: Uint8Array,
  pkg: Pick<DecodedPackage, "processedAt" | "algorithm">,
  payloadId: string,
): Either.Either<ChatCompletion, SecurityError> => {
  let text: string;
  try {
    text = decodeUtf8Strict(plaintext);
  } catch {
    return Either.left(malformedPlaintext(payloadId));
  }
  // Nesting is bounded (see `MAX_JSON_DEPTH`): nothing the caller does with the answer, or
  // `_metadata`, or the attestation block in it, can overflow the stack.
  const parsed = parseJsonBounded(text);
  if (!parsed.ok) {
    return Either.left(malformedPlaintext(
      payloadId,
      parsed.reason === "depth" ? `plaintext nests deeper than ${MAX_JSON_DEPTH}` : undefined,
    ));
  }
  const body = parsed.value;
  // Absent `logprobs` / `refusal` mean null: set them so the result is what OpenAI's type says.
  fillNullableFields(body);
  if (!isJsonObject(body) || !isChatCompletionBody(body)) {
    return Either.left(malformedPlaintext(payloadId));
  }
  const fromRouter = isJsonObject(body._metadata) ? body._metadata : {};
  const metadata: ResponseMetadata = {
    // Spread defines own data properties (no setters run), so router keys cannot pollute.
    ...fromRouter,
    payload_id: payloadId,
    ...(pkg.processedAt === undefined ? {} : { processed_at: pkg.processedAt }),
    is_encrypted: true,
    encryption_algorithm: pkg.algorithm,
    response_status: "success",
  };
  defineOwn(body, "_metadata", metadata);
  return Either.right(body as unknown as ChatCompletion);
};
