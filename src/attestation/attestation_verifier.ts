/**
 * The `AttestationVerifier` service: TPM quote verification behind a tag, so the client can
 * be given a fake in tests.
 *
 * @module
 */
import * as Context from "effect/Context";
import type * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import type { AttestationError } from "../errors.ts";
import {
  type AttestationResult,
  type AttestationVerifyOptions,
  type QuoteVerifyOptions,
  verifyAttestationEffect,
  verifyQuote,
} from "./tpm_quote.ts";

/**
 * Verifies TPM 2.0 quotes attached to router responses.
 *
 * @example Verify a response's attestation
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect, Exit } from "effect";
 * import { AttestationVerifier, layerAttestationVerifier } from "@nomyo/client";
 * const program = Effect.flatMap(AttestationVerifier, (v) => v.verify({ _metadata: {} }));
 * const exit = await Effect.runPromiseExit(program.pipe(Effect.provide(layerAttestationVerifier)));
 * assert.ok(Exit.isFailure(exit)); // reason "Missing"
 * ```
 */
export interface AttestationVerifier {
  /** Verifies `_metadata.tpm_attestation` of a response; see {@linkcode verifyAttestationEffect}. */
  readonly verify: (
    response: unknown,
    options?: AttestationVerifyOptions,
  ) => Effect.Effect<AttestationResult, AttestationError>;
  /** Verifies a raw block for a payload id; see {@linkcode verifyQuote}. */
  readonly verifyQuote: (
    block: unknown,
    payloadId: string,
    options?: QuoteVerifyOptions,
  ) => Effect.Effect<AttestationResult, AttestationError>;
}

/** Tag for {@linkcode AttestationVerifier}. */
export const AttestationVerifier: Context.Tag<AttestationVerifier, AttestationVerifier> = Context
  .GenericTag<AttestationVerifier>("@nomyo/client/AttestationVerifier");

/**
 * The real verifier: WebCrypto only, no state.
 *
 * @returns An {@linkcode AttestationVerifier}.
 */
export const makeAttestationVerifier = (): AttestationVerifier => ({
  verify: (response, options) => verifyAttestationEffect(response, options),
  verifyQuote: (block, payloadId, options) => verifyQuote(block, payloadId, options),
});

/** Layer of the real {@linkcode AttestationVerifier}. */
export const layerAttestationVerifier: Layer.Layer<AttestationVerifier> = Layer.sync(
  AttestationVerifier,
  makeAttestationVerifier,
);
