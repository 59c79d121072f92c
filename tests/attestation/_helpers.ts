/**
 * Test-only helpers: the vector file, `Exit` assertions and a seeded PRNG.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Cause, Effect, Either, Encoding, Exit, Option } from "effect";
import { AttestationError, type AttestationErrorReason } from "../../src/errors.ts";
import type { TpmAttestationBlock } from "../../src/attestation/mod.ts";

/** One case of `quotes.json`. */
export interface QuoteVector {
  readonly name: string;
  readonly payload_id: string;
  readonly tpm_attestation: TpmAttestationBlock;
  readonly expect: "valid" | "invalid";
  readonly defects?: readonly AttestationErrorReason[];
  readonly details: { readonly aik: string; readonly signature_scheme: string };
}

/**
 * The vectors name defects in snake case (`bad_signature`); the library's reasons are
 * PascalCase (`BadSignature`), as every error reason is.
 */
const reasonOfDefect = (defect: string): AttestationErrorReason =>
  defect.split("_").map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("") as AttestationErrorReason;

/** The vector file copied from the shared set, defects named as the library's reasons. */
export const vectors: readonly QuoteVector[] = (JSON.parse(
  await Deno.readTextFile(new URL("../vectors/tpm/quotes.json", import.meta.url)),
) as { vectors: Array<Omit<QuoteVector, "defects"> & { defects?: string[] }> }).vectors.map(
  ({ defects, ...v }): QuoteVector =>
    defects === undefined ? v : { ...v, defects: defects.map(reasonOfDefect) },
);

/** The vector called `name`. */
export const vector = (name: string): QuoteVector => {
  const found = vectors.find((v) => v.name === name);
  assert.ok(found, `vector ${name} exists`);
  return found;
};

/** Strict standard base64 decode for fixtures. */
export const b64 = (text: string): Uint8Array<ArrayBuffer> => {
  const decoded = Encoding.decodeBase64(text);
  assert.ok(Either.isRight(decoded));
  return new Uint8Array(decoded.right);
};

/** Runs `effect` and returns its `Exit`, whatever it is. */
export const run = <A, E>(effect: Effect.Effect<A, E>): Promise<Exit.Exit<A, E>> =>
  Effect.runPromiseExit(effect);

/** Asserts a success and returns the value. */
export const expectSuccess = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isFailure(exit)) assert.fail(`expected success, got ${Cause.pretty(exit.cause)}`);
  return exit.value;
};

/**
 * Asserts a typed `AttestationError` failure (not a defect) whose reason is one of `reasons`.
 */
export const expectFailure = <A>(
  exit: Exit.Exit<A, AttestationError>,
  reasons: readonly AttestationErrorReason[],
): AttestationError => {
  assert.ok(Exit.isFailure(exit), "expected a failure");
  const failure = Cause.failureOption(exit.cause);
  assert.ok(Option.isSome(failure), `expected a typed failure, got ${Cause.pretty(exit.cause)}`);
  const error = failure.value;
  assert.ok(error instanceof AttestationError);
  assert.ok(
    reasons.includes(error.reason),
    `reason ${error.reason} not in [${reasons.join(", ")}]: ${error.message}`,
  );
  assert.match(error.message, /^Cannot [a-z]/);
  return error;
};

/** Asserts a defect that is a `TypeError`. */
export const expectTypeErrorDefect = <A, E>(exit: Exit.Exit<A, E>): void => {
  assert.ok(Exit.isFailure(exit));
  assert.ok(Option.isNone(Cause.failureOption(exit.cause)), "expected no typed failure");
  assert.ok(Cause.squash(exit.cause) instanceof TypeError);
};

export { prng, randomBytes } from "../_helpers.ts";
