/**
 * Verification of the router's TPM 2.0 attestation (`_metadata.tpm_attestation`): a quote
 * signed by a fresh Attestation Identity Key, checked with WebCrypto only.
 *
 * A verified quote is well formed, bound to the request's payload id, covers the reported PCR
 * values and is signed by the AIK it carries. The AIK is new on every request and comes with no
 * EK certificate, so this does not prove that a genuine TPM made the quote; comparing PCR values
 * with a known-good baseline is the caller's policy (`pcrBaseline`).
 *
 * @example Verify with a PCR baseline
 * ```ts
 * import { AttestationError, verifyAttestation } from "@nomyo/client";
 * const check = async (response: unknown, payloadId: string): Promise<boolean> => {
 *   try {
 *     await verifyAttestation(response, {
 *       payloadId,
 *       pcrBaseline: { "7": "545770a29d4f61f45046edac4d4ae049ae3da8ed94eff98340b9da6ea4cd36a5" },
 *     });
 *     return true;
 *   } catch (e) {
 *     if (e instanceof AttestationError) return false;
 *     throw e;
 *   }
 * };
 * ```
 *
 * @module
 */
export {
  ATTESTATION_NOTES,
  type AttestationClockInfo,
  type AttestationReport,
  type AttestationResult,
  type AttestationRouter,
  type AttestationStep,
  type AttestationStepName,
  type AttestationStepStatus,
  type AttestationVerifyOptions,
  type AttestedResponse,
  type QuoteVerifyOptions,
  type TpmAttestationBlock,
  verifyAttestation,
  verifyAttestationEffect,
  verifyQuote,
} from "./tpm_quote.ts";
export {
  type AttestationEvidence,
  type AttestedAnswer,
  EVIDENCE_FORMAT,
  type EvidencePolicy,
  exportEvidence,
  verifyEvidence,
  verifyEvidenceEffect,
} from "./evidence.ts";
export {
  AttestationVerifier,
  layerAttestationVerifier,
  makeAttestationVerifier,
} from "./attestation_verifier.ts";
