/**
 * Turning an opened response plaintext into the answer: as the router sent it plus `_metadata`
 * ({@linkcode openResponse}, what `decryptResponse()` returns), or as the typed
 * {@linkcode ChatCompletion} of `create()` ({@linkcode toChatCompletion}).
 *
 * @module
 */
import * as Either from "effect/Either";
import * as Schema from "effect/Schema";
import { SecurityError } from "../errors.ts";
import {
  type ChatCompletion,
  ChatCompletionBody,
  type DecryptedResponse,
  fillNullableFields,
  type ResponseMetadata,
} from "./chat.ts";
import { defineOwn, isJsonObject, MAX_JSON_DEPTH, parseJsonBounded } from "./json.ts";
import type { DecodedPackage } from "./package.ts";
import { decodeUtf8Strict } from "./utf8.ts";

const isChatCompletionBody = Schema.is(ChatCompletionBody);

const malformedPlaintext = (payloadId: string, detail: string): SecurityError =>
  new SecurityError({
    reason: "MalformedPlaintext",
    message: `Cannot open response: ${detail}`,
    payloadId,
  });

const NOT_A_JSON_OBJECT = "plaintext is not a UTF-8 JSON object";

/** The package fields `_metadata` records. */
type PackageFacts = Pick<DecodedPackage, "processedAt" | "algorithm">;

/** Parses the plaintext: UTF-8 JSON of an object, nested at most `MAX_JSON_DEPTH` deep. */
const parseObject = (
  plaintext: Uint8Array,
  payloadId: string,
): Either.Either<Record<string, unknown>, SecurityError> => {
  let text: string;
  try {
    text = decodeUtf8Strict(plaintext);
  } catch {
    return Either.left(malformedPlaintext(payloadId, NOT_A_JSON_OBJECT));
  }
  // Nesting is bounded (see `MAX_JSON_DEPTH`): nothing the caller does with the answer, or
  // `_metadata`, or the attestation block in it, can overflow the stack.
  const parsed = parseJsonBounded(text);
  if (!parsed.ok) {
    return Either.left(malformedPlaintext(
      payloadId,
      parsed.reason === "depth"
        ? `plaintext nests deeper than ${MAX_JSON_DEPTH}`
        : NOT_A_JSON_OBJECT,
    ));
  }
  return isJsonObject(parsed.value)
    ? Either.right(parsed.value)
    : Either.left(malformedPlaintext(payloadId, NOT_A_JSON_OBJECT));
};

/** Sets `_metadata` on `body` as the protocol says, keeping what the router put there. */
const setMetadata = (body: Record<string, unknown>, pkg: PackageFacts, payloadId: string): void => {
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
};

/**
 * Parses an opened plaintext and sets `_metadata` as the protocol says, keeping what the router
 * put there; nothing else is added, changed or checked beyond the protocol's rules (a UTF-8
 * JSON object, nested at most `MAX_JSON_DEPTH` deep). The parsed object is kept as `JSON.parse`
 * made it: a `__proto__` key stays an own data property and never reaches `Object.prototype`.
 *
 * @param plaintext The opened bytes (UTF-8 JSON).
 * @param pkg The package they came from (for `processed_at` and the algorithm).
 * @param payloadId The request's payload id.
 * @returns The answer as the router sent it with `_metadata`, or a `SecurityError`
 *   (`MalformedPlaintext`).
 */
export const openResponse = (
  plaintext: Uint8Array,
  pkg: PackageFacts,
  payloadId: string,
): Either.Either<DecryptedResponse, SecurityError> =>
  Either.map(parseObject(plaintext, payloadId), (body) => {
    setMetadata(body, pkg, payloadId);
    return body as DecryptedResponse;
  });

/**
 * {@linkcode openResponse}, typed as a chat completion: the nulls OpenAI's type requires and
 * servers leave out are filled (see {@linkcode fillNullableFields}), and the plaintext must have
 * the field types its readers rely on ({@linkcode ChatCompletionBody}). Values OpenAI's type
 * lists but other servers extend (`object`, `finish_reason`) pass through unchanged.
 *
 * @param plaintext The opened bytes (UTF-8 JSON).
 * @param pkg The package they came from (for `processed_at` and the algorithm).
 * @param payloadId The request's payload id.
 * @returns The completion, or a `SecurityError` (`MalformedPlaintext`).
 */
export const toChatCompletion = (
  plaintext: Uint8Array,
  pkg: PackageFacts,
  payloadId: string,
): Either.Either<ChatCompletion, SecurityError> =>
  Either.flatMap(parseObject(plaintext, payloadId), (body) => {
    fillNullableFields(body);
    if (!isChatCompletionBody(body)) {
      return Either.left(
        malformedPlaintext(payloadId, "plaintext does not have the types of a chat completion"),
      );
    }
    setMetadata(body, pkg, payloadId);
    return Either.right(body as unknown as ChatCompletion);
  });
