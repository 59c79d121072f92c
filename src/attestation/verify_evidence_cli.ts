/**
 * Re-checks an attestation evidence document offline and prints the step table:
 *
 * ```sh
 * deno task verify-evidence evidence.json [--pcr-baseline baseline.json]
 * ```
 *
 * Exit status: 0 when no step failed (a baseline step is `skipped` without `--pcr-baseline`),
 * 1 when a step failed, 2 for a bad command line or an unreadable or unusable baseline file.
 * Needs only `--allow-read`: no network.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import process from "node:process";
import { isJsonObject, parseJsonBounded } from "../protocol/json.ts";
import type { AttestationReport } from "./attestation_report.ts";
import { MAX_EVIDENCE_LENGTH, verifyEvidence } from "./evidence.ts";

/** The usage text printed on a bad command line. */
export const VERIFY_EVIDENCE_USAGE = "usage: verify_evidence_cli.ts FILE [--pcr-baseline FILE]";

/** The command line, parsed. */
export interface VerifyEvidenceArgs {
  /** The evidence file. */
  readonly evidence: string;
  /** The baseline file, when given. */
  readonly pcrBaseline?: string;
}

/**
 * Parses the arguments.
 *
 * @param argv The arguments after the script name.
 * @returns The files; a `TypeError` naming the problem for anything else.
 */
export const parseVerifyEvidenceArgs = (argv: ReadonlyArray<string>): VerifyEvidenceArgs => {
  let evidence: string | undefined;
  let pcrBaseline: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--pcr-baseline" || arg.startsWith("--pcr-baseline=")) {
      const value = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[++i];
      if (value === undefined || value === "") {
        throw new TypeError("Cannot parse arguments: --pcr-baseline needs a file");
      }
      pcrBaseline = value;
    } else if (arg.startsWith("-")) {
      throw new TypeError(`Cannot parse arguments: unknown option ${arg}`);
    } else if (evidence === undefined) evidence = arg;
    else throw new TypeError("Cannot parse arguments: one evidence file only");
  }
  if (evidence === undefined) throw new TypeError("Cannot parse arguments: no evidence file");
  return { evidence, ...(pcrBaseline === undefined ? {} : { pcrBaseline }) };
};

/**
 * The report as a table: one line per step, then what no step proves, then the verdict.
 *
 * @param report The report.
 * @returns The lines.
 */
export const formatReport = (report: AttestationReport): string[] => {
  const name = (s: AttestationReport["steps"][number]) =>
    s.pcr === undefined ? s.step : `${s.step} ${s.pcr}`;
  const width = Math.max(4, ...report.steps.map((s) => name(s).length));
  const lines = [`${"step".padEnd(width)}  status   detail`];
  for (const s of report.steps) {
    // Details are the library's own words; control characters never reach the terminal.
    // deno-lint-ignore no-control-regex
    const detail = s.detail.replace(/[\u0000-\u001f\u007f]/g, "?");
    lines.push(`${name(s).padEnd(width)}  ${s.status.padEnd(7)}  ${detail}`);
  }
  lines.push("", "not proven by any step:");
  for (const u of report.unverified) lines.push(`  - ${u}`);
  lines.push("", report.verified ? "verified: no step failed" : "NOT verified: a step failed");
  return lines;
};

const readText = async (path: string, what: string): Promise<string> => {
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_EVIDENCE_LENGTH * 4) throw new Error("too large");
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new TypeError(`Cannot read ${what}: ${path} is missing, too large or not UTF-8`);
  }
};

/** Reads a baseline file: a JSON object of PCR index → hex, as the `pcrBaseline` option. */
const readBaseline = async (path: string): Promise<Record<string, string>> => {
  const parsed = parseJsonBounded(await readText(path, "PCR baseline"), 2);
  if (!parsed.ok || !isJsonObject(parsed.value)) {
    throw new TypeError("Cannot read PCR baseline: it is not a JSON object");
  }
  const baseline: Record<string, string> = {};
  for (const key of Object.keys(parsed.value)) {
    const value = Object.getOwnPropertyDescriptor(parsed.value, key)?.value;
    if (typeof value !== "string") {
      throw new TypeError(`Cannot read PCR baseline: PCR ${key} is not a string`);
    }
    Object.defineProperty(baseline, key, { value, enumerable: true, writable: true });
  }
  return baseline;
};

/**
 * Runs the program: reads the files, verifies, prints the table.
 *
 * @param argv The arguments after the script name.
 * @param print Where lines go (default `console.log`).
 * @returns The exit status: 0 verified, 1 a step failed, 2 a usage or baseline problem.
 */
export const runVerifyEvidence = async (
  argv: ReadonlyArray<string>,
  print: (line: string) => void = console.log,
): Promise<number> => {
  try {
    const args = parseVerifyEvidenceArgs(argv);
    const evidence = await readText(args.evidence, "evidence");
    const pcrBaseline = args.pcrBaseline === undefined
      ? undefined
      : await readBaseline(args.pcrBaseline);
    const report = await verifyEvidence(
      evidence,
      pcrBaseline === undefined ? {} : { pcrBaseline },
    );
    for (const line of formatReport(report)) print(line);
    return report.verified ? 0 : 1;
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    print(`${error.message}\n${VERIFY_EVIDENCE_USAGE}`);
    return 2;
  }
};

if (import.meta.main) {
  process.exitCode = await runVerifyEvidence(process.argv.slice(2));
}
