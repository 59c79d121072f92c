/**
 * PCR checks of a quote: the selection is one sha256 bank, `pcr_values` holds exactly the
 * selected PCRs as lowercase hex, and their concatenation in ascending order hashes to the
 * quote's `pcrDigest`. Also the caller's optional baseline comparison.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { AttestationError } from "../errors.ts";
import type { TpmQuoteInfo } from "./tpm_structures.ts";

/** What the PCR check saw and accepted. */
export interface CheckedPcrs {
  /** The selected PCRs' values, index as a decimal string → lowercase hex. */
  readonly pcrs: Readonly<Record<string, string>>;
  /** The selected PCR indices, ascending. */
  readonly selectedPcrs: readonly number[];
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const ANY_CASE_SHA256_HEX = /^[0-9a-fA-F]{64}$/;
const PCR_INDEX = /^(?:0|[1-9][0-9]{0,3})$/;

/** Indices whose bit is set in a `TPMS_PCR_SELECTION` bitmap, ascending. */
export const selectedIndices = (select: Uint8Array): number[] => {
  const indices: number[] = [];
  for (let byte = 0; byte < select.length; byte++) {
    const bits = select[byte] ?? 0;
    for (let bit = 0; bit < 8; bit++) {
      if ((bits >> bit) & 1) indices.push(byte * 8 + bit);
    }
  }
  return indices;
};

const hexToBytes = (hex: string): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
};

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((value, i) => value === b[i]);

/**
 * Checks the quote's PCR selection and digest against `pcr_bank` and `pcr_values`.
 *
 * @param info The parsed quote body.
 * @param pcrBank The block's `pcr_bank`; must be `"sha256"`.
 * @param pcrValues The block's `pcr_values` (already known to map strings to strings).
 * @param payloadId The request's payload id, for the error.
 * @returns The values seen and the selection, or an `AttestationError` `"PcrMismatch"`.
 */
export const checkPcrs = (
  info: TpmQuoteInfo,
  pcrBank: string,
  pcrValues: Readonly<Record<string, string>>,
  payloadId: string,
): Effect.Effect<CheckedPcrs, AttestationError> =>
  Effect.gen(function* () {
    const mismatch = (state: string) =>
      new AttestationError({
        reason: "PcrMismatch",
        message: `Cannot verify PCRs: ${state}`,
        payloadId,
      });
    if (pcrBank !== "sha256") return yield* Effect.fail(mismatch("pcr_bank is not sha256"));
    const [bank, ...others] = info.pcrSelections;
    if (bank === undefined || others.length > 0 || bank.hashAlg !== "sha256") {
      return yield* Effect.fail(mismatch("the quote does not select exactly the sha256 bank"));
    }
    const selectedPcrs = selectedIndices(bank.select);
    if (selectedPcrs.length === 0) return yield* Effect.fail(mismatch("the quote selects no PCR"));
    const selected = new Set(selectedPcrs.map(String));
    for (const key of Object.keys(pcrValues)) {
      if (!selected.has(key)) {
        return yield* Effect.fail(mismatch("pcr_values holds a PCR the quote does not cover"));
      }
    }
    const pcrs: Record<string, string> = {};
    const concatenated = new Uint8Array(32 * selectedPcrs.length);
    for (const [i, index] of selectedPcrs.entries()) {
      const key = String(index);
      const value = Object.hasOwn(pcrValues, key) ? pcrValues[key] : undefined;
      if (value === undefined) {
        return yield* Effect.fail(mismatch(`PCR ${key} is selected but has no value`));
      }
      if (!SHA256_HEX.test(value)) {
        return yield* Effect.fail(mismatch(`PCR ${key} is not 64 lowercase hex digits`));
      }
      pcrs[key] = value;
      concatenated.set(hexToBytes(value), 32 * i);
    }
    const digest = new Uint8Array(
      yield* Effect.promise(() => crypto.subtle.digest("SHA-256", concatenated)),
    );
    if (!equalBytes(digest, info.pcrDigest)) {
      return yield* Effect.fail(mismatch("pcrDigest does not match pcr_values"));
    }
    return { pcrs, selectedPcrs };
  });

/**
 * Checks the caller's baseline: at least one PCR, keys that are decimal PCR indices, values of
 * 64 hex digits (any case). Only own properties are read. Anything else is a caller bug and
 * dies with a `TypeError`.
 *
 * @param baseline PCR index → expected hex value.
 * @returns The entries as `[index, lowercase hex]`, in ascending index order.
 */
export const checkBaselineShape = (
  baseline: Readonly<Record<string, string>>,
): Effect.Effect<ReadonlyArray<readonly [string, string]>> =>
  Effect.suspend(() => {
    if (typeof baseline !== "object" || baseline === null || Array.isArray(baseline)) {
      return Effect.die(new TypeError("Cannot check PCR baseline: it is not an object"));
    }
    const entries: Array<readonly [string, string]> = [];
    for (const key of Object.keys(baseline)) {
      const expected: unknown = Object.getOwnPropertyDescriptor(baseline, key)?.value;
      if (!PCR_INDEX.test(key)) {
        return Effect.die(new TypeError("Cannot check PCR baseline: a key is not a PCR index"));
      }
      if (typeof expected !== "string" || !ANY_CASE_SHA256_HEX.test(expected)) {
        return Effect.die(
          new TypeError(`Cannot check PCR baseline: PCR ${key} is not 64 hex digits`),
        );
      }
      entries.push([key, expected.toLowerCase()]);
    }
    if (entries.length === 0) {
      return Effect.die(new TypeError("Cannot check PCR baseline: it is empty"));
    }
    return Effect.succeed(entries.sort(([a], [b]) => Number(a) - Number(b)));
  });
