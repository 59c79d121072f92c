/**
 * The attestation report: every verification step with its outcome, the facts a verified quote
 * gives, and what no step proves. Plain JSON, so it can be stored, logged (it holds no secret)
 * and compared.
 *
 * @module
 */
import {
  AttestationError,
  type AttestationErrorReason,
  type AttestationStepName,
} from "../errors.ts";

export type { AttestationStepName } from "../errors.ts";

/**
 * The steps of checking a quote, in the order they run (`pcr_baseline` stands for the one step
 * per baseline PCR). Every report lists them in this order, run or skipped.
 */
export const QUOTE_STEPS: readonly AttestationStepName[] = Object.freeze(
  [
    "parse",
    "nonce",
    "pcr_digest",
    "aik",
    "signature",
    "pcr_baseline",
    "clock",
  ] as const,
);

/** The outcome of one step. */
export type AttestationStepStatus = "pass" | "fail" | "skipped";

/** One verification step and its outcome. */
export interface AttestationStep {
  /** Which step. */
  readonly step: AttestationStepName;
  /** Its outcome; `"skipped"` when it could not run (an earlier step failed, or no baseline). */
  readonly status: AttestationStepStatus;
  /** What was checked and found, in words (no secret, no payload content). */
  readonly detail: string;
  /** For a `"pcr_baseline"` step: the PCR index compared, as a decimal string. */
  readonly pcr?: string;
  /** For a failed step: the `AttestationError` reason it stands for. */
  readonly reason?: AttestationErrorReason;
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

/** The router an answer came from, as the client recorded it (not covered by the quote). */
export interface AttestationRouter {
  /** The base URL the request was sent to. */
  readonly url: string;
  /** SHA-256 of the router key's DER SPKI the request was encrypted to, lowercase hex. */
  readonly keyFingerprint: string;
}

/** The outcome of verifying an attestation: passed or not, step by step. */
export interface AttestationReport {
  /** Version of this shape. */
  readonly version: 1;
  /** `true` exactly when every step passed or was skipped for want of a baseline. */
  readonly verified: boolean;
  /** The payload id the quote was checked against, when one was known. */
  readonly payloadId?: string;
  /** Every step, in the order they ran. */
  readonly steps: readonly AttestationStep[];
  /** What no step proves: read it before relying on `verified`. */
  readonly unverified: readonly string[];
  /** What this verification does and does not prove, in one paragraph. */
  readonly notes: string;
  /** The signature scheme, when the signature verified. */
  readonly signatureScheme?: "rsassa" | "rsapss" | "ecdsa";
  /** The AIK's key type, when the block parsed. */
  readonly aikType?: "rsa" | "ecc";
  /** The PCR bank quoted, when the PCR digest matched. */
  readonly pcrBank?: "sha256";
  /** The quoted PCR values (index → lowercase hex), when the PCR digest matched. */
  readonly pcrs?: Readonly<Record<string, string>>;
  /** The quoted PCR indices, ascending, when the PCR digest matched. */
  readonly selectedPcrs?: readonly number[];
  /** Whether a caller baseline was compared and every PCR it names matched. */
  readonly baselineChecked: boolean;
  /** The TPM clock, when the block parsed. */
  readonly clockInfo?: AttestationClockInfo;
  /** The TPM firmware version (`0x` and 16 lowercase hex digits), when the block parsed. */
  readonly firmwareVersion?: string;
  /** The router, when the client recorded it (answers and evidence). */
  readonly router?: AttestationRouter;
}

/** A report whose every step passed: the quote's facts are all there. */
export interface AttestationResult extends AttestationReport {
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
  /** The TPM clock. */
  readonly clockInfo: AttestationClockInfo;
  /** The TPM firmware version: `0x` and 16 lowercase hex digits. */
  readonly firmwareVersion: string;
}

/** The {@linkcode AttestationReport.notes} of every report. */
export const ATTESTATION_NOTES: string =
  "The quote is well formed, bound to this payload id, covers the reported PCR values and is " +
  "signed by the AIK it carries. The AIK is ephemeral (one per request) and comes with no EK " +
  "certificate or credential activation, so this does not prove that a genuine TPM made it.";

/** What no step of a quote verification proves. */
export const UNVERIFIED_BY_QUOTE: readonly string[] = Object.freeze([
  "that a genuine TPM made the quote: the AIK is ephemeral (one per request) and comes with no " +
  "EK certificate or credential activation, so software holding any key could have signed it",
  "that the quoting machine is the one that decrypted the request: the quote is bound to the " +
  "payload id, not to the router key",
  "the time of the quote: the TPM clock counts the TPM's own milliseconds, not wall time",
]);

/** What the PCR values do not prove, given the baseline (or its absence). */
export const unverifiedPcrs = (
  selected: readonly number[] | undefined,
  baseline: ReadonlyArray<readonly [string, string]> | undefined,
): string => {
  if (baseline === undefined) {
    return "what software the PCR values describe: no baseline was compared";
  }
  const named = new Set(baseline.map(([key]) => key));
  const others = (selected ?? []).map(String).filter((key) => !named.has(key));
  return others.length === 0
    ? "that the baseline itself describes trustworthy software: it is the caller's choice"
    : `what software PCRs ${others.join(", ")} describe: the baseline does not name them`;
};

/**
 * The `AttestationError` a failed report stands for: the first failed step decides the
 * reason, the step and the message.
 *
 * @param report A report with `verified: false`.
 * @returns The error.
 */
export const reportError = (report: AttestationReport): AttestationError => {
  const failed = report.steps.find((s) => s.status === "fail");
  return new AttestationError({
    reason: failed?.reason ?? "Malformed",
    message: failed?.detail ?? "Cannot verify attestation: no step passed",
    payloadId: report.payloadId,
    step: failed?.step,
  });
};
