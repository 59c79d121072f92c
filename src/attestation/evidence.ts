/**
 * Attestation evidence to keep: {@linkcode exportEvidence} turns a verified answer into a
 * self-contained, versioned JSON document (the block as received, the payload id, the router's
 * URL and key fingerprint, the times, the client version — never the prompt, the answer, a key
 * or the API key), and {@linkcode verifyEvidence} re-checks it anywhere, with no network, into
 * the same report the client attached to the answer.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { AttestationError } from "../errors.ts";
import { CLIENT_NAME, CLIENT_VERSION } from "../protocol/client_version.ts";
import { ownData } from "../protocol/closed_keys.ts";
import { defineOwn, isJsonObject, parseJsonBounded } from "../protocol/json.ts";
import {
  ATTESTATION_NOTES,
  type AttestationReport,
  type AttestationResult,
  type AttestationRouter,
  type AttestationStep,
  QUOTE_STEPS,
  UNVERIFIED_BY_QUOTE,
} from "./attestation_report.ts";
import { checkBaselineShape } from "./pcr.ts";
import { inspectQuote, type QuoteVerifyOptions, runVerification } from "./tpm_quote.ts";

/** The `format` of every evidence document. */
export const EVIDENCE_FORMAT = "nomyo-attestation-evidence" as const;

/** The client that writes evidence: its package name and version. */
export const EVIDENCE_CLIENT: { readonly name: string; readonly version: string } = Object.freeze({
  name: CLIENT_NAME,
  version: CLIENT_VERSION,
});

/** Largest evidence document read, in UTF-16 code units of its JSON text. */
export const MAX_EVIDENCE_LENGTH = 256 * 1024;

/** Deepest nesting read (document → block → `pcr_values` is 3; the rest is router extras). */
const MAX_EVIDENCE_DEPTH = 16;
const MAX_FIELD_LENGTH = 2048;
const FINGERPRINT = /^[0-9a-f]{64}$/;

/** A self-contained record of one attested answer, re-checkable offline. Plain JSON. */
export interface AttestationEvidence {
  /** Always {@linkcode EVIDENCE_FORMAT}. */
  readonly format: typeof EVIDENCE_FORMAT;
  /** Version of this shape. */
  readonly version: 1;
  /** The request's `X-Payload-ID`: the quote's nonce is bound to it. */
  readonly payload_id: string;
  /** `_metadata.tpm_attestation` exactly as the router sent it. */
  readonly tpm_attestation: Readonly<Record<string, unknown>>;
  /** Where the request went, as the client recorded it (the quote does not cover this). */
  readonly router: {
    /** The base URL. */
    readonly url: string;
    /** SHA-256 of the router key's DER SPKI the request was encrypted to, lowercase hex. */
    readonly key_fingerprint: string;
  };
  /** When the router sealed the answer (Unix seconds), when it said. */
  readonly processed_at?: number;
  /** When the evidence was exported (ISO 8601, UTC). */
  readonly exported_at: string;
  /** The client that verified the answer and exported this. */
  readonly client: { readonly name: string; readonly version: string };
}

/** Policy of {@linkcode verifyEvidence}: the same baseline option as the client's. */
export type EvidencePolicy = QuoteVerifyOptions;

/** What no step proves about evidence, beyond what no step proves about the quote. */
export const UNVERIFIED_BY_EVIDENCE: readonly string[] = Object.freeze([
  "the router URL, key fingerprint and times: the client recorded them; the quote does not " +
  "cover them",
]);

/**
 * Sets `_metadata.attestation_result` of a completion to `result`, or removes one the router
 * may have put there when `result` is `undefined`: only the client writes that field.
 *
 * @param completion The completion (its `_metadata` is the client's own object).
 * @param result The verification report, or `undefined`.
 * @returns The same completion.
 */
export const withAttestationResult = <A extends { readonly _metadata: object }>(
  completion: A,
  result: AttestationResult | undefined,
): A => {
  if (result === undefined) Reflect.deleteProperty(completion._metadata, "attestation_result");
  else defineOwn(completion._metadata, "attestation_result", result);
  return completion;
};

/** An answer the client verified: `_metadata.attestation_result` holds the report. */
export interface AttestedAnswer {
  /** The answer's metadata. */
  readonly _metadata: {
    /** The request's payload id. */
    readonly payload_id: string;
    /** When the router sealed the answer. */
    readonly processed_at?: number;
    /** The block as the router sent it. */
    readonly tpm_attestation?: unknown;
    /** The client's report. */
    readonly attestation_result?: unknown;
  };
}

const exportRefused = (why: string): TypeError => new TypeError(`Cannot export evidence: ${why}`);

/**
 * Makes the evidence document of an answer the client verified (`attestation:
 * "verify-if-present"` or `"require"`, and the router sent a quote).
 *
 * @param answer A completion returned by the client, `_metadata` included.
 * @param now The export time (default: now).
 * @returns The document; `JSON.stringify` it to keep it. A `TypeError` when the answer carries
 * no verified attestation report.
 *
 * @example Keep the evidence of an attested answer
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportEvidence, SecureChatCompletion, verifyEvidence } from "@nomyo/client";
 * import { startTestRouter } from "@nomyo/client/testing";
 * const router = await startTestRouter({ tpm: true });
 * await using client = new SecureChatCompletion({
 *   baseUrl: router.url,
 *   allowHttp: true,
 *   securityTier: "maximum",
 *   attestation: "require",
 * });
 * const answer = await client.create({ model: "m", messages: [{ role: "user", content: "hi" }] });
 * const kept = JSON.stringify(exportEvidence(answer));
 * const report = await verifyEvidence(kept);
 * assert.equal(report.verified, true);
 * await router.close();
 * ```
 */
export const exportEvidence = (
  answer: AttestedAnswer,
  now: Date = new Date(),
): AttestationEvidence => {
  const metadata = isJsonObject(answer) ? ownData(answer, "_metadata") : undefined;
  if (!isJsonObject(metadata)) throw exportRefused("the answer has no _metadata");
  const result = ownData(metadata, "attestation_result");
  const block = ownData(metadata, "tpm_attestation");
  const payloadId = ownData(metadata, "payload_id");
  const processedAt = ownData(metadata, "processed_at");
  if (!isJsonObject(result) || ownData(result, "verified") !== true || !isJsonObject(block)) {
    throw exportRefused(
      "the answer carries no verified attestation (attestation off, or no quote was sent)",
    );
  }
  const router = ownData(result, "router");
  const url = isJsonObject(router) ? ownData(router, "url") : undefined;
  const keyFingerprint = isJsonObject(router) ? ownData(router, "keyFingerprint") : undefined;
  if (typeof url !== "string" || typeof keyFingerprint !== "string") {
    throw exportRefused("the attestation report does not name the router");
  }
  if (typeof payloadId !== "string") throw exportRefused("the answer has no payload id");
  return {
    format: EVIDENCE_FORMAT,
    version: 1,
    payload_id: payloadId,
    // A deep copy of the block as received: later changes to the answer do not reach it.
    tpm_attestation: JSON.parse(JSON.stringify(block)) as Record<string, unknown>,
    router: { url, key_fingerprint: keyFingerprint },
    ...(typeof processedAt === "number" ? { processed_at: processedAt } : {}),
    exported_at: now.toISOString(),
    client: { name: EVIDENCE_CLIENT.name, version: EVIDENCE_CLIENT.version },
  };
};

type Read<A> = { readonly ok: true; readonly value: A } | {
  readonly ok: false;
  readonly why: string;
};

const bad = (why: string): Read<never> => ({ ok: false, why });

const shortString = (value: unknown, max = MAX_FIELD_LENGTH): value is string =>
  typeof value === "string" && value.length > 0 && value.length <= max;

const TOP_KEYS: ReadonlySet<string> = new Set([
  "format",
  "version",
  "payload_id",
  "tpm_attestation",
  "router",
  "processed_at",
  "exported_at",
  "client",
]);

/** Reads a document field by field; own properties only, unknown keys refused. */
const readEvidence = (input: unknown): Read<AttestationEvidence> => {
  let text: string;
  if (typeof input === "string") text = input;
  else {
    try {
      text = JSON.stringify(input) ?? "";
    } catch {
      return bad("it is not JSON (a cycle, or nested too deep)");
    }
  }
  if (text.length > MAX_EVIDENCE_LENGTH) {
    return bad(`it is longer than ${MAX_EVIDENCE_LENGTH} characters`);
  }
  const parsed = parseJsonBounded(text, MAX_EVIDENCE_DEPTH);
  if (!parsed.ok) {
    return bad(
      parsed.reason === "depth" ? `it nests deeper than ${MAX_EVIDENCE_DEPTH}` : "it is not JSON",
    );
  }
  const doc = parsed.value;
  if (!isJsonObject(doc)) return bad("it is not a JSON object");
  const unknownKey = Object.keys(doc).find((key) => !TOP_KEYS.has(key));
  if (unknownKey !== undefined) return bad("it has a field this version does not define");
  if (ownData(doc, "format") !== EVIDENCE_FORMAT) return bad(`format is not ${EVIDENCE_FORMAT}`);
  if (ownData(doc, "version") !== 1) return bad("version is not 1");
  const payloadId = ownData(doc, "payload_id");
  if (!shortString(payloadId, 256)) return bad("payload_id is not a string of 1 to 256 characters");
  const block = ownData(doc, "tpm_attestation");
  if (!isJsonObject(block)) return bad("tpm_attestation is not an object");
  const router = ownData(doc, "router");
  if (!isJsonObject(router)) return bad("router is not an object");
  const url = ownData(router, "url");
  const fingerprint = ownData(router, "key_fingerprint");
  if (!shortString(url)) return bad("router.url is not a string of 1 to 2048 characters");
  if (typeof fingerprint !== "string" || !FINGERPRINT.test(fingerprint)) {
    return bad("router.key_fingerprint is not 64 lowercase hex digits");
  }
  const processedAt = ownData(doc, "processed_at");
  if (processedAt !== undefined && !(Number.isSafeInteger(processedAt))) {
    return bad("processed_at is not an integer");
  }
  const exportedAt = ownData(doc, "exported_at");
  if (!shortString(exportedAt, 64) || Number.isNaN(Date.parse(exportedAt))) {
    return bad("exported_at is not a date");
  }
  const client = ownData(doc, "client");
  const name = isJsonObject(client) ? ownData(client, "name") : undefined;
  const version = isJsonObject(client) ? ownData(client, "version") : undefined;
  if (!shortString(name, 64) || !shortString(version, 64)) {
    return bad("client is not { name, version }");
  }
  return {
    ok: true,
    value: {
      format: EVIDENCE_FORMAT,
      version: 1,
      payload_id: payloadId,
      tpm_attestation: block,
      router: { url, key_fingerprint: fingerprint },
      ...(typeof processedAt === "number" ? { processed_at: processedAt } : {}),
      exported_at: exportedAt,
      client: { name, version },
    },
  };
};

/**
 * The report of an evidence document, as an `Effect`: the `"evidence"` step (the document is
 * read field by field, with bounded size and nesting), then the quote's steps against its
 * payload id. Never fails for bad data; an unusable policy dies with a `TypeError`.
 *
 * @param evidence The document: its JSON text or the parsed value (untrusted).
 * @param policy An optional PCR baseline.
 * @returns The report; `verified` is `false` when a step failed.
 */
export const verifyEvidenceEffect = (
  evidence: unknown,
  policy: EvidencePolicy = {},
): Effect.Effect<AttestationReport> =>
  Effect.gen(function* () {
    // Caller misuse first, whatever the document holds.
    if (policy.pcrBaseline !== undefined) yield* checkBaselineShape(policy.pcrBaseline);
    const read = readEvidence(evidence);
    if (!read.ok) {
      const e = new AttestationError({
        reason: "Malformed",
        message: `Cannot read evidence: ${read.why}`,
      });
      const steps: AttestationStep[] = [
        { step: "evidence", status: "fail", detail: e.message, reason: e.reason },
        ...QUOTE_STEPS.map((step): AttestationStep => ({
          step,
          status: "skipped",
          detail: "the evidence could not be read",
        })),
      ];
      const report: AttestationReport = {
        version: 1,
        verified: false,
        steps,
        unverified: [...UNVERIFIED_BY_QUOTE, ...UNVERIFIED_BY_EVIDENCE],
        notes: ATTESTATION_NOTES,
        baselineChecked: false,
      };
      return report;
    }
    const doc = read.value;
    const report = yield* inspectQuote(doc.tpm_attestation, doc.payload_id, policy);
    const router: AttestationRouter = {
      url: doc.router.url,
      keyFingerprint: doc.router.key_fingerprint,
    };
    const evidenceStep: AttestationStep = {
      step: "evidence",
      status: "pass",
      detail: `a version 1 evidence document exported by ${doc.client.name} ${doc.client.version}`,
    };
    return {
      ...report,
      steps: [evidenceStep, ...report.steps],
      unverified: [...report.unverified, ...UNVERIFIED_BY_EVIDENCE],
      router,
    };
  });

/**
 * Re-checks an evidence document offline (Deno, Node, Bun, browsers; WebCrypto only, no
 * network) and returns the report: the same steps as the client's `attestation_result`, after
 * an `"evidence"` step that reads the document. Tampering with the quote, signature, AIK, PCR
 * values or payload id fails the step that catches it.
 *
 * @param evidence The document: its JSON text or the parsed value (untrusted).
 * @param policy An optional PCR baseline (index → hex), as the client's `pcrBaseline`.
 * @returns The report; `verified` is `false` when any step failed (it never rejects for bad
 * data). Rejects with a `TypeError` for an unusable baseline.
 *
 * @example Re-check a document
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifyEvidence } from "@nomyo/client";
 * const report = await verifyEvidence("{}");
 * assert.equal(report.verified, false);
 * assert.equal(report.steps[0]?.step, "evidence");
 * ```
 */
export const verifyEvidence = (
  evidence: unknown,
  policy: EvidencePolicy = {},
): Promise<AttestationReport> => runVerification(verifyEvidenceEffect(evidence, policy));
