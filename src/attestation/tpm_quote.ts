/**
 * Verification of a router's TPM 2.0 quote (`_metadata.tpm_attestation`) as a report of steps,
 * in the order of the protocol's rules: parse (field types, strict base64, the three
 * structures, magic, type) → nonce (payload id) → PCR selection and digest → AIK import →
 * signature → each PCR of the caller's optional baseline → clock. Every step that can run
 * runs; the first one that fails decides the `AttestationError` reason and step.
 *
 * @module
 */
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Exit from "effect/Exit";
import * as Option from "effect/Option";
import {
  AttestationError,
  type AttestationErrorReason,
  type AttestationStepName,
  NomyoError,
} from "../errors.ts";
import {
  ATTESTATION_NOTES,
  type AttestationReport,
  type AttestationResult,
  type AttestationStep,
  QUOTE_STEPS,
  reportError,
  UNVERIFIED_BY_QUOTE,
  unverifiedPcrs,
} from "./attestation_report.ts";
import { ownData } from "../protocol/closed_keys.ts";
import { isJsonObject } from "../protocol/json.ts";
import { checkBaselineShape, checkPcrs } from "./pcr.ts";
import { importAik, verifyWithAik } from "./quote_signature.ts";
import { decodeBase64Strict } from "../protocol/base64.ts";
import {
  parseTpm2bPublic,
  parseTpmsAttest,
  parseTpmtSignature,
  TPM_GENERATED_VALUE,
  TPM_ST_ATTEST_QUOTE,
  type TpmAttest,
  type TpmPublic,
  type TpmQuoteInfo,
  type TpmSignature,
} from "./tpm_structures.ts";

export {
  ATTESTATION_NOTES,
  type AttestationClockInfo,
  type AttestationReport,
  type AttestationResult,
  type AttestationRouter,
  type AttestationStep,
  type AttestationStepName,
  type AttestationStepStatus,
} from "./attestation_report.ts";

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

const NONCE_BYTES = 16;

const error = (
  reason: AttestationErrorReason,
  message: string,
  payloadId: string | undefined,
): AttestationError => new AttestationError({ reason, message, payloadId });

/** Field types first, before any decoding: a wrong type is reported as `"BadBase64"`. */
const readBlock = (
  block: unknown,
  payloadId: string,
): Effect.Effect<TpmAttestationBlock, AttestationError> =>
  Effect.suspend(() => {
    const wrongType = (field: string) =>
      Effect.fail(error("BadBase64", `Cannot read ${field}: wrong type`, payloadId));
    if (!isJsonObject(block)) return wrongType("tpm_attestation");
    const aik_pubkey_b64 = ownData(block, "aik_pubkey_b64");
    const quote_b64 = ownData(block, "quote_b64");
    const signature_b64 = ownData(block, "signature_b64");
    const pcr_bank = ownData(block, "pcr_bank");
    const pcr_values = ownData(block, "pcr_values");
    if (typeof aik_pubkey_b64 !== "string") return wrongType("aik_pubkey_b64");
    if (typeof quote_b64 !== "string") return wrongType("quote_b64");
    if (typeof signature_b64 !== "string") return wrongType("signature_b64");
    if (typeof pcr_bank !== "string") return wrongType("pcr_bank");
    if (!isJsonObject(pcr_values)) return wrongType("pcr_values");
    // A fresh record; defineProperty keeps a JSON "__proto__" key as data, not a prototype.
    const values: Record<string, string> = {};
    for (const key of Object.keys(pcr_values)) {
      const value = ownData(pcr_values, key);
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
 * Fails with `"Malformed"` over {@linkcode MAX_BASE64_LENGTH}, `"BadBase64"` otherwise.
 */
const decodeField = (
  text: string,
  field: string,
  payloadId: string,
): Effect.Effect<Uint8Array<ArrayBuffer>, AttestationError> => {
  if (text.length > MAX_BASE64_LENGTH) {
    return Effect.fail(error(
      "Malformed",
      `Cannot decode ${field}: longer than ${MAX_BASE64_LENGTH} characters`,
      payloadId,
    ));
  }
  const bytes = decodeBase64Strict(text);
  return bytes === undefined
    ? Effect.fail(
      error("BadBase64", `Cannot decode ${field}: not canonical standard base64`, payloadId),
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

/** The three structures of a block, parsed, and the exact bytes that were signed. */
interface ParsedBlock {
  readonly fields: TpmAttestationBlock;
  readonly aik: TpmPublic;
  readonly attest: TpmAttest & { readonly attested: TpmQuoteInfo };
  readonly signature: TpmSignature;
  readonly quoteBytes: Uint8Array<ArrayBuffer>;
}

/** The parse step: field types, strict base64, the structures, magic and type. */
const parseBlock = (
  block: unknown,
  payloadId: string,
): Effect.Effect<ParsedBlock, AttestationError> =>
  Effect.gen(function* () {
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
        error("BadMagic", "Cannot accept quote: magic is not TPM_GENERATED_VALUE", payloadId),
      );
    }
    const attested = attest.attested;
    if (attest.type !== TPM_ST_ATTEST_QUOTE || attested.kind !== "quote") {
      return yield* Effect.fail(
        error("BadType", "Cannot accept quote: type is not TPM_ST_ATTEST_QUOTE", payloadId),
      );
    }
    return { fields, aik, attest: { ...attest, attested }, signature, quoteBytes };
  });

const pass = (step: AttestationStepName, detail: string, pcr?: string): AttestationStep => ({
  step,
  status: "pass",
  detail,
  ...(pcr === undefined ? {} : { pcr }),
});

const skip = (step: AttestationStepName, detail: string, pcr?: string): AttestationStep => ({
  step,
  status: "skipped",
  detail,
  ...(pcr === undefined ? {} : { pcr }),
});

const failed = (step: AttestationStepName, e: AttestationError, pcr?: string): AttestationStep => ({
  step,
  status: "fail",
  detail: e.message,
  reason: e.reason,
  ...(pcr === undefined ? {} : { pcr }),
});

const describeAik = (aik: TpmPublic): string =>
  aik.type === "rsa" ? `RSA-${aik.keyBits}` : "ECC NIST P-256";

const SCHEME_NAMES: Readonly<Record<TpmSignature["sigAlg"], string>> = {
  rsassa: "RSASSA-PKCS1-v1_5",
  rsapss: "RSA-PSS",
  ecdsa: "ECDSA",
};

/** The checks of a PCR baseline: one step per PCR it names. */
const baselineSteps = (
  baseline: ReadonlyArray<readonly [string, string]> | undefined,
  pcrs: Readonly<Record<string, string>> | undefined,
  why: string,
  payloadId: string,
): AttestationStep[] => {
  if (baseline === undefined) return [skip("pcr_baseline", "no PCR baseline was given")];
  return baseline.map(([key, expected]) => {
    if (pcrs === undefined) return skip("pcr_baseline", why, key);
    const seen = Object.hasOwn(pcrs, key) ? pcrs[key] : undefined;
    if (seen === expected) return pass("pcr_baseline", `PCR ${key} equals the baseline`, key);
    return failed(
      "pcr_baseline",
      error(
        "BaselineMismatch",
        seen === undefined
          ? `Cannot accept attestation: PCR ${key} of the baseline is not in the quote`
          : `Cannot accept attestation: PCR ${key} differs from the baseline`,
        payloadId,
      ),
      key,
    );
  });
};

/**
 * The report of a raw block for a payload id: every step that can run, run. Never fails for
 * bad data (a failed step says why); a non-string `payloadId` or an unusable baseline dies with
 * a `TypeError`.
 *
 * @param block The block (untrusted JSON; every field is type-checked, own properties only).
 * @param payloadId The payload id the quote must be bound to.
 * @param options An optional PCR baseline.
 * @returns The report.
 */
export const inspectQuote = (
  block: unknown,
  payloadId: string,
  options: QuoteVerifyOptions = {},
): Effect.Effect<AttestationReport> =>
  Effect.gen(function* () {
    if (typeof payloadId !== "string") {
      return yield* Effect.die(new TypeError("Cannot verify quote: payloadId is not a string"));
    }
    const baseline = options.pcrBaseline === undefined
      ? undefined
      : yield* checkBaselineShape(options.pcrBaseline);
    const parsed = yield* Effect.either(parseBlock(block, payloadId));
    if (Either.isLeft(parsed)) {
      return makeReport(payloadId, baseline, [
        failed("parse", parsed.left),
        ...QUOTE_STEPS.slice(1).filter((s) => s !== "pcr_baseline" && s !== "clock").map((s) =>
          skip(s, "the block did not parse")
        ),
        ...baselineSteps(baseline, undefined, "the block did not parse", payloadId),
        skip("clock", "the block did not parse"),
      ], {});
    }
    const { fields, aik, attest, signature, quoteBytes } = parsed.right;
    const steps: AttestationStep[] = [
      pass(
        "parse",
        `a TPMS_ATTEST quote, a ${describeAik(aik)} AIK and a ${
          SCHEME_NAMES[signature.sigAlg]
        } signature`,
      ),
    ];

    const nonce = (yield* sha256(new TextEncoder().encode(payloadId))).subarray(0, NONCE_BYTES);
    steps.push(
      sameBytes(attest.extraData, nonce)
        ? pass("nonce", "extraData is the first 16 bytes of SHA-256 of the payload id")
        : failed(
          "nonce",
          error(
            "NonceMismatch",
            "Cannot accept quote: extraData is not bound to this payload id",
            payloadId,
          ),
        ),
    );

    const pcrs = yield* Effect.either(
      checkPcrs(attest.attested, fields.pcr_bank, fields.pcr_values, payloadId),
    );
    steps.push(
      Either.isRight(pcrs)
        ? pass(
          "pcr_digest",
          `pcrDigest is SHA-256 of sha256 PCRs ${pcrs.right.selectedPcrs.join(", ")}`,
        )
        : failed("pcr_digest", pcrs.left),
    );

    const key = yield* Effect.either(importAik(aik, signature, payloadId));
    steps.push(
      Either.isRight(key)
        ? pass("aik", `the ${describeAik(aik)} AIK imported for ${SCHEME_NAMES[signature.sigAlg]}`)
        : failed("aik", key.left),
    );
    const verified = Either.isRight(key)
      ? yield* Effect.either(verifyWithAik(key.right, signature, quoteBytes, payloadId))
      : undefined;
    steps.push(
      verified === undefined
        ? skip("signature", "the AIK could not be imported")
        : Either.isRight(verified)
        ? pass("signature", "the signature over SHA-256 of the TPMS_ATTEST bytes verifies")
        : failed("signature", verified.left),
    );

    const proven = Either.isRight(pcrs) && verified !== undefined && Either.isRight(verified);
    steps.push(...baselineSteps(
      baseline,
      proven ? pcrs.right.pcrs : undefined,
      "the PCR values are not proven: an earlier step failed",
      payloadId,
    ));

    const { clock, resetCount, restartCount, safe } = attest.clockInfo;
    steps.push(
      safe ? pass("clock", "the TPM reports that its clock never went backwards (safe)") : failed(
        "clock",
        error(
          "UnsafeClock",
          "Cannot accept quote: the TPM clock is not safe (it may have gone backwards)",
          payloadId,
        ),
      ),
    );

    return makeReport(payloadId, baseline, steps, {
      aikType: aik.type,
      clockInfo: { clock: clock.toString(10), resetCount, restartCount, safe },
      firmwareVersion: `0x${attest.firmwareVersion.toString(16).padStart(16, "0")}`,
      ...(verified !== undefined && Either.isRight(verified)
        ? { signatureScheme: verified.right }
        : {}),
      ...(Either.isRight(pcrs)
        ? { pcrBank: "sha256", pcrs: pcrs.right.pcrs, selectedPcrs: pcrs.right.selectedPcrs }
        : {}),
    });
  });

type ReportFacts = Omit<
  AttestationReport,
  "version" | "verified" | "payloadId" | "steps" | "unverified" | "notes" | "baselineChecked"
>;

const makeReport = (
  payloadId: string | undefined,
  baseline: ReadonlyArray<readonly [string, string]> | undefined,
  steps: readonly AttestationStep[],
  facts: ReportFacts,
): AttestationReport => {
  const verified = steps.every((s) => s.status !== "fail");
  const baselineSteps = steps.filter((s) => s.step === "pcr_baseline");
  return {
    version: 1,
    verified,
    ...(payloadId === undefined ? {} : { payloadId }),
    steps,
    unverified: [...UNVERIFIED_BY_QUOTE, unverifiedPcrs(facts.selectedPcrs, baseline)],
    notes: ATTESTATION_NOTES,
    ...facts,
    baselineChecked: baseline !== undefined && baselineSteps.every((s) => s.status === "pass"),
  };
};

/** A report of a check that failed before the quote could be looked at. */
const refusedBefore = (
  step: AttestationStepName,
  e: AttestationError,
  payloadId: string | undefined,
): AttestationReport =>
  makeReport(
    payloadId,
    undefined,
    QUOTE_STEPS.map((s) =>
      s === step ? failed(s, e) : skip(s, "the block was not checked: an earlier step failed")
    ),
    {},
  );

const toResult = (report: AttestationReport): Effect.Effect<AttestationResult, AttestationError> =>
  report.verified ? Effect.succeed(report as AttestationResult) : Effect.fail(reportError(report));

/**
 * Verifies a raw `tpm_attestation` block for a payload id.
 *
 * @param block The block (untrusted JSON; every field is type-checked).
 * @param payloadId The payload id of the request the quote must be bound to.
 * @param options An optional PCR baseline.
 * @returns The report, every step passed, or an `AttestationError` naming the first rule (and
 * step) that failed. A non-string `payloadId` or an unusable baseline dies with a `TypeError`.
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
  Effect.flatMap(inspectQuote(block, payloadId, options), toResult);

/**
 * The report of a response's `_metadata.tpm_attestation`: see {@linkcode verifyAttestationEffect}
 * for the payload id rules. Never fails for bad data; a failed step says why.
 *
 * @param response A decrypted chat completion response (untrusted JSON).
 * @param options The payload id sent and an optional PCR baseline.
 * @returns The report.
 */
export const inspectAttestation = (
  response: AttestedResponse | unknown,
  options: AttestationVerifyOptions = {},
): Effect.Effect<AttestationReport> =>
  Effect.suspend(() => {
    const metadata = isJsonObject(response) ? ownData(response, "_metadata") : undefined;
    const echoed = isJsonObject(metadata) ? ownData(metadata, "payload_id") : undefined;
    const known = options.payloadId ?? (typeof echoed === "string" ? echoed : undefined);
    const block = isJsonObject(metadata) ? ownData(metadata, "tpm_attestation") : undefined;
    if (block === undefined || block === null) {
      const e = error("Missing", "Cannot verify attestation: the response has none", known);
      return Effect.succeed(refusedBefore("parse", e, known));
    }
    if (echoed !== undefined && typeof echoed !== "string") {
      const e = error("BadBase64", "Cannot read payload_id: wrong type", options.payloadId);
      return Effect.succeed(refusedBefore("parse", e, options.payloadId));
    }
    if (known === undefined) {
      const e = error(
        "NonceMismatch",
        "Cannot verify attestation: no payload id is known",
        undefined,
      );
      return Effect.succeed(refusedBefore("nonce", e, undefined));
    }
    if (echoed !== undefined && echoed !== known) {
      const e = error(
        "NonceMismatch",
        "Cannot verify attestation: the response is for another payload id",
        known,
      );
      return Effect.succeed(refusedBefore("nonce", e, known));
    }
    return inspectQuote(
      block,
      known,
      options.pcrBaseline === undefined ? {} : { pcrBaseline: options.pcrBaseline },
    );
  });

/**
 * Verifies the `_metadata.tpm_attestation` of a response, as an `Effect`.
 *
 * The payload id is `options.payloadId` (the one the client sent) or else the response's
 * `_metadata.payload_id`; when both are present they must be equal.
 *
 * @param response A decrypted chat completion response (untrusted JSON).
 * @param options The payload id sent and an optional PCR baseline.
 * @returns The report, every step passed, or an `AttestationError`: `"Missing"` when the
 * response has no block, else the first rule that failed (its `step` names the step).
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
  Effect.flatMap(inspectAttestation(response, options), toResult);

/**
 * Runs an attestation effect as a Promise: resolves with its value, rejects with the
 * `AttestationError` itself, a `TypeError` for caller misuse, or a `NomyoError` for a bug.
 *
 * @param effect The verification.
 * @returns Its value.
 */
export const runVerification = async <A>(
  effect: Effect.Effect<A, AttestationError>,
): Promise<A> => {
  const exit = await Effect.runPromiseExit(effect);
  if (Exit.isSuccess(exit)) return exit.value;
  const failure = Cause.failureOption(exit.cause);
  if (Option.isSome(failure)) throw failure.value;
  const defect = Cause.squash(exit.cause);
  if (defect instanceof TypeError) throw defect;
  throw new NomyoError({ message: "Cannot verify attestation: unexpected defect", cause: defect });
};

/**
 * Verifies the `_metadata.tpm_attestation` of a response.
 *
 * @param response A decrypted chat completion response (untrusted JSON).
 * @param options The payload id sent and an optional PCR baseline.
 * @returns The report with every step passed (`steps`, `unverified`) and the quote's facts.
 * Rejects with an `AttestationError` (`reason` names the rule, `step` the step), or a
 * `TypeError` for caller misuse such as an empty baseline.
 *
 * @example Branch on the reason
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttestationError, verifyAttestation } from "@nomyo/client";
 * const e = await verifyAttestation({ _metadata: { payload_id: "id" } }).catch((e: unknown) => e);
 * assert.ok(e instanceof AttestationError && e.reason === "Missing" && e.step === "parse");
 * ```
 */
export const verifyAttestation = (
  response: AttestedResponse | unknown,
  options: AttestationVerifyOptions = {},
): Promise<AttestationResult> => runVerification(verifyAttestationEffect(response, options));
