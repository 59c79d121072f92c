/**
 * A PCR baseline recorded from verified answers: the PCR values every sample quoted, as the
 * object the `pcrBaseline` option takes (PCR index as a decimal string → lowercase hex), or
 * why the samples cannot make one.
 *
 * @module
 */
import type { AttestationReport } from "./attestation_report.ts";

/** What {@linkcode baselineFromReports} gives. */
export type RecordedBaseline =
  | { readonly ok: true; readonly baseline: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly why: string };

/**
 * Makes a baseline from verified reports: every report must have verified, quote the same
 * PCRs, and give each the same value.
 *
 * @param reports The samples' reports (at least one).
 * @returns The baseline in ascending PCR order, or why there is none (no sample, a sample that
 * did not verify, or samples that disagree — then nothing should be recorded).
 */
export const baselineFromReports = (
  reports: ReadonlyArray<AttestationReport>,
): RecordedBaseline => {
  const [first, ...others] = reports;
  if (first === undefined) return { ok: false, why: "no sample was taken" };
  for (const [i, report] of reports.entries()) {
    if (!report.verified || report.pcrs === undefined) {
      return { ok: false, why: `sample ${i + 1} did not verify` };
    }
  }
  const reference = first.pcrs!;
  const keys = Object.keys(reference).sort((a, b) => Number(a) - Number(b));
  for (const [i, report] of others.entries()) {
    const pcrs = report.pcrs!;
    const same = Object.keys(pcrs).length === keys.length &&
      keys.every((key) => Object.hasOwn(pcrs, key) && pcrs[key] === reference[key]);
    if (!same) {
      return { ok: false, why: `sample ${i + 2} quotes other PCR values than sample 1` };
    }
  }
  const baseline: Record<string, string> = {};
  for (const key of keys) baseline[key] = reference[key]!;
  return { ok: true, baseline };
};
