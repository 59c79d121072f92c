/**
 * Verification of a router's TPM 2.0 quote (`_metadata.tpm_attestation`), in the order of the
 * protocol's rules: field types and strict base64 → parse → magic → type → nonce (payload id)
 * → PCR selection and digest → signature → the caller's optional PCR baseline. The first rule
 * that fails decides the `AttestationError` reason.
 *
 * @module
 */
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Option from "effect/Option";
import { AttestationError, type AttestationErrorReason, NomyoError } from "../errors.ts";
import { checkBaseline, checkPcrs } from "./pcr.ts";
import { verifyQuoteSignature } from "./quote_signature.ts";
import { decodeBase64Strict } from "../protocol/base64.ts";
import {
  parseTpm2bPublic,
  parseTpmsAttest,
  parseTpmtSignature,
  TPM_GENERATED_VALUE,
  TPM_ST_ATTEST_QUOTE,
} from "./tpm_structures.ts";

/** The `_metadata.tpm_attestation` block, as the router sends it. */
export interface TpmAttestationBlock {
  /** Standard base64 of the AIK's marshaled `TPM2B_PUBLIC`. */
  readonly aik_pubkey_b64: string;
  /** Standard base64 of the signed `TPMS_ATTEST`, without a size prefix. */
  readonly quote_b64: string;
  /** Standard base64 of the marshaled `TPMT_SIGNATURE`. */
  readonly signature_b64: string;
  /** The PCR bank; must be `"sha256"`. */
  readonly pcr_bank: string;
  /** PCR index as a decimal string → lowercase hex value. */
  readonly pcr_values: Readonly<Record<string, string>>;
}

/** The part of a chat completion response that carries an attestation. */
export interface AttestedResponse {
  /** The router's metadata. */
  readonly _metadata?: {
    /** The request's `X-Payload-ID`, as echoed by the router. */
    readonly payload_id?: string;
    /** The TPM quote block, when the router has a TPM. */
    readonly tpm_attestation?: unknown;
  };
}

/** Options of {@linkcode verifyQuote}. */
export interface QuoteVerifyOptions {
  /**
   * Known-good PCR values (index → hex, any case). When given, every PCR it names must be in
   * the quote with that value; it must name at least one PCR.
   */
  readonly pcrBaseline?: Readonly<Record<string, string>>;
}

/** Options of {@linkcode verifyAttestation}. */
export interface AttestationVerifyOptions extends QuoteVerifyOptions {
  /**
   * The payload id the client sent. Preferred over the one the response echoes; when both are
   * present they must be equal.
   */
  readonly payloadId?: string;
}

/** The TPM clock at the time of the quote (`TPMS_CLOCK_INFO`). */
export interface AttestationClockInfo {
  /** Milliseconds the TPM has been powered since it was last cleared, as a decimal string. */
  readonly clock: string;
  /** TPM resets since the last clear (obfuscated by the TPM for most keys). */
  readonly resetCount: number;
  /** TPM restarts since the last reset (obfuscated by the TPM for most keys). */
  readonly restartCount: number;
  /** Whether the clock has never gone backwards. */
  readonly safe: boolean;
}

/** A quote that passed every rule. */
export interface AttestationResult {
  /** Always `true`: a failed check is an `AttestationError`, never a result. */
  readonly verified: true;
  /** The payload id the quote is bound to. */
  readonly payloadId: string;
  /** The signature scheme that verified. */
  readonly signatureScheme: "rsassa" | "rsapss" | "ecdsa";
  /** The AIK's key type. */
  readonly aikType: "rsa" | "ecc";
  /** The PCR bank quoted. */
  readonly pcrBank: "sha256";
  /** The quoted PCR values: index as a decimal string → lowercase hex. */
  readonly pcrs: Readonly<Record<string, string>>;
  /** The quoted PCR indices, ascending. */
  readonly selectedPcrs: readonly number[];
  /** Whether a caller baseline was compared (and matched). */
  readonly baselineChecked: boolean;
  /** The TPM clock. */
  readonly clockInfo: AttestationClockInfo;
  /** The TPM firmware version: `0x` and 16 lowercase hex digits. */
  readonly firmwareVersion: string;
  /** What this verification does and does not prove. */
  readonly notes: string;
}

/** The {@linkcode AttestationResult.notes} of every result. */
export const ATTESTATION_NOTES: string =
  "The quote is well formed, bound to this payload id, covers the reported PCR values and is " +
  "signed by the AIK it carries. The AIK is ephemeral (one per request) and comes with no EK " +
  "certificate or credential activation, so this does not prove that a genuine TPM made it.";

const NONCE_BYTES = 16;

const error = (
  reason: AttestationErrorReason,
  message: string,
  payloadId: string | undefined,
): AttestationError => new AttestationError({ reason, message, payloadId });

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Field types first, before any decoding: a wrong type is reported as `"bad_base64"`. */
const readBlock = (
  block: unknown,
  payloadId: string,
): Effect.Effect<TpmAttestationBlock, AttestationError> =>
  Effect.suspend(() => {
    const wrongType = (field: string) =>
      Effect.fail(error("bad_base64", `Cannot read ${field}: wrong type`, payloadId));
    if (!isRecord(block)) return wrongType("tpm_attestation");
    const { aik_pubkey_b64, quote_b64, signature_b64, pcr_bank, pcr_values } = block;
    if (typeof aik_pubkey_b64 !== "string") return wrongType("aik_pubkey_b64");
    if (typeof quote_b64 !== "string") return wrongType("quote_b64");
    if (typeof signature_b64 !== "string") return wrongType("signature_b64");
    if (typeof pcr_bank !== "string") return wrongType("pcr_bank");
    if (!isRecord(pcr_values)) return wrongType("pcr_values");
    // A fresh record; defineProperty keeps a JSON "__proto__" key as data, not a prototype.
    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(pcr_values)) {
      if (typeof value !== "string") return wrongType("pcr_values");
      Object.defineProperty(values, key, { value, enumerable: true, writable: true });
    }
    return Effect.succeed({
      aik_pubkey_b64,
      quote_b64,
      signature_b64,
      pcr_bank,
      pcr_values: values,
    });
  });

/**
 * Longest `*_b64` text accepted: 6 KiB of bytes is far above an RSA-4096 key or signature, so
 * hostile input is refused before any decoding work.
 */
export const MAX_BASE64_LENGTH = 8192;

/**
 * A `*_b64` field as bytes: strict, canonical standard base64 (one spelling per byte string;
 * `Encoding.decodeBase64` from `effect` would drop CR and LF and accept non-zero padding bits).
 * Fails with `"malformed"` over {@linkcode MAX_BASE64_LENGTH}, `"bad_base64"` otherwise.
 */
const decodeField = (
  text: string,
  field: string,
  payloadId: string,
): Effect.Effect<Uint8Array<ArrayBuffer>, AttestationError> => {
  if (text.length > MAX_BASE64_LENGTH) {
    return Effect.fail(error(
      "malformed",
      `Cannot decode ${field}: longer than ${MAX_BASE64_LENGTH} characters`,
      payloadId,
    ));
  }
  const bytes = decodeBase64Strict(text);
  return bytes === undefined
    ? Effect.fail(
      error("bad_base64", `Cannot decode ${field}: not canonical standard base64`, payloadId),
    )
    : Effect.succeed(bytes);
};

/** Gives a payload-less parse or decode error the request's payload id. */
const withPayloadId = (payloadId: string) => (e: AttestationError): AttestationError =>
  error(e.reason, e.message, payloadId);

const sha256 = (bytes: Uint8Array<ArrayBuffer>): Effect.Effect<Uint8Array<ArrayBuffer>> =>
  Effect.promise(() => crypto.subtle.digest("SHA-256", bytes)).pipe(
    Effect.map((digest) => new Uint8Array(digest)),
  );

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((value, i) => value === b[i]);

/**
 * Verifies a raw `tpm_attestation` block for a payload id.
 *
 * @param block The block (untrusted JSON; every field is type-checked).
 * @param payloadId The payload id of the request the quote must be bound to.
 * @param options An optional PCR baseline.
 * @returns The verified quote's facts, or an `AttestationError` naming the first rule that
 * failed. A non-string `payloadId` or an unusable baseline dies with a `TypeError`.
 *
 * @example Refuse a block with a wrong field type
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect, Exit } from "effect";
 * import { verifyQuote } from "@nomyo/client";
 * const exit = await Effect.runPromiseExit(verifyQuote({ quote_b64: 1 }, "payload-id"));
 * assert.ok(Exit.isFailure(exit));
 * ```
 */
export const verifyQuote = (
  block: unknown,
  payloadId: string,
  options: QuoteVerifyOptions = {},
): Effect.Effect<AttestationResult, AttestationError> =>
  Effect.gen(function* () {
    if (typeof payloadId !== "string") {
      return yield* Effect.die(new TypeError("Cannot verify quote: payloadId is not a string"));
    }
    const fields = yield* readBlock(block, payloadId);
    const decode = (text: string, field: string) => decodeField(text, field, payloadId);
    const aikBytes = yield* decode(fields.aik_pubkey_b64, "aik_pubkey_b64");
    const quoteBytes = yield* decode(fields.quote_b64, "quote_b64");
    const signatureBytes = yield* decode(fields.signature_b64, "signature_b64");

    const aik = yield* parseTpm2bPublic(aikBytes).pipe(Effect.mapError(withPayloadId(payloadId)));
    const attest = yield* parseTpmsAttest(quoteBytes).pipe(
      Effect.mapError(withPayloadId(payloadId)),
    );
    const signature = yield* parseTpmtSignature(signatureBytes).pipe(
      Effect.mapError(withPayloadId(payloadId)),
    );

    if (attest.magic !== TPM_GENERATED_VALUE) {
      return yield* Effect.fail(
        error("bad_magic", "Cannot accept quote: magic is not TPM_GENERATED_VALUE", payloadId),
      );
    }
    if (attest.type !== TPM_ST_ATTEST_QUOTE || attest.attested.kind !== "quote") {
      return yield* Effect.fail(
        error("bad_type", "Cannot accept quote: type is not TPM_ST_ATTEST_QUOTE", payloadId),
      );
    }

    const nonce = (yield* sha256(new TextEncoder().encode(payloadId))).subarray(0, NONCE_BYTES);
    if (!sameBytes(attest.extraData, nonce)) {
      return yield* Effect.fail(
        error(
          "nonce_mismatch",
          "Cannot accept quote: extraData is not bound to this payload id",
          payloadId,
        ),
      );
    }

    const { pcrs, selectedPcrs } = yield* checkPcrs(
      attest.attested,
      fields.pcr_bank,
      fields.pcr_values,
      payloadId,
    );
    const signatureScheme = yield* verifyQuoteSignature(aik, signature, quoteBytes, payloadId);
    const baselineChecked = options.pcrBaseline === undefined
      ? false
      : yield* checkBaseline(pcrs, options.pcrBaseline, payloadId);

    const { clock, resetCount, restartCount, safe } = attest.clockInfo;
    const result: AttestationResult = {
      verified: true,
      payloadId,
      signatureScheme,
      aikType: aik.type,
      pcrBank: "sha256",
      pcrs,
      selectedPcrs,
      baselineChecked,
      clockInfo: { clock: clock.toString(10), resetCount, restartCount, safe },
      firmwareVersion: `0x${attest.firmwareVersion.toString(16).padStart(16, "0")}`,
      notes: ATTESTATION_NOTES,
    };
    return result;
  });

/**
 * Verifies the `_metadata.tpm_attestation` of a response, as an `Effect`.
 *
 * The payload id is `options.payloadId` (the one the client sent) or else the response's
 * `_metadata.payload_id`; when both are present they must be equal.
 *
 * @param response A decrypted chat completion response (untrusted JSON).
 * @param options The payload id sent and an optional PCR baseline.
 * @returns The verified quote's facts, or an `AttestationError`: `"missing"` when the response
 * has no block, else the first rule that failed.
 *
 * @example Require an attestation
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect, Exit } from "effect";
 * import { verifyAttestationEffect } from "@nomyo/client";
 * const exit = await Effect.runPromiseExit(verifyAttestationEffect({ _metadata: {} }));
 * assert.ok(Exit.isFailure(exit));
 * ```
 */
export const verifyAttestationEffect = (
  response: AttestedResponse | unknown,
  options: AttestationVerifyOptions = {},
): Effect.Effect<AttestationResult, AttestationError> =>
  Effect.suspend(() => {
    const metadata = isRecord(response) ? response._metadata : undefined;
    const echoed = isRecord(metadata) ? metadata.payload_id : undefined;
    const known = options.payloadId ?? (typeof echoed === "string" ? echoed : undefined);
    const block = isRecord(metadata) ? metadata.tpm_attestation : undefined;
    if (block === undefined || block === null) {
      return Effect.fail(
        error("missing", "Cannot verify attestation: the response has none", known),
      );
    }
    if (echoed !== undefined && typeof echoed !== "string") {
      return Effect.fail(
        error("bad_base64", "Cannot read payload_id: wrong type", options.payloadId),
      );
    }
    if (known === undefined) {
      return Effect.fail(
        error("nonce_mismatch", "Cannot verify attestation: no payload id is known", undefined),
      );
    }
    if (echoed !== undefined && echoed !== known) {
      return Effect.fail(
        error(
          "nonce_mismatch",
          "Cannot verify attestation: the response is for another payload id",
          known,
        ),
      );
    }
    return verifyQuote(
      block,
      known,
      options.pcrBaseline === undefined ? {} : { pcrBaseline: options.pcrBaseline },
    );
  });

/**
 * Verifies the `_metadata.tpm_attestation` of a response.
 *
 * @param response A decrypted chat completion response (untrusted JSON).
 * @param options The payload id sent and an optional PCR baseline.
 * @returns The verified quote's facts. Rejects with an `AttestationError` (`reason` names the
 * rule), or a `TypeError` for caller misuse such as an empty baseline.
 *
 * @example Branch on the reason
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttestationError, verifyAttestation } from "@nomyo/client";
 * const e = await verifyAttestation({ _metadata: { payload_id: "id" } }).catch((e: unknown) => e);
 * assert.ok(e instanceof AttestationError && e.reason === "missing");
 * ```
 */
export const verifyAttestation = async (
  response: AttestedResponse | unknown,
  options: AttestationVerifyOptions = {},
): Promise<AttestationResult> => {
  const exit = await Effect.runPromiseExit(verifyAttestationEffect(response, options));
  if (Exit.isSuccess(exit)) return exit.value;
  const failure = Cause.failureOption(exit.cause);
  if (Option.isSome(failure)) throw failure.value;
  const defect = Cause.squash(exit.cause);
  if (defect instanceof TypeError) throw defect;
  throw new NomyoError({ message: "Cannot verify attestation: unexpected defect", cause: defect });
};
