/**
 * `deno task pcr-baseline`: records the PCR values a router's TPM quotes, as a baseline file
 * for the `pcrBaseline` option and `deno task verify-evidence --pcr-baseline`.
 *
 * ```sh
 * NOMYO_API_KEY=… deno task pcr-baseline --base-url URL [--samples N] [--out FILE]
 *   [--model M] [--allow-http]
 * ```
 *
 * Sends N small `maximum`-tier requests with `attestation: "require"` (every quote is
 * verified), and writes the PCR values they all quoted. Samples that disagree, or one that
 * does not verify, write nothing. An existing file is never overwritten. Record on a day you
 * trust the router; enforce the file from then on.
 *
 * @module
 */
import { writeFile } from "node:fs/promises";
import process from "node:process";
import { parseArgs } from "node:util";
import { baselineFromReports } from "../attestation/pcr_baseline.ts";
import type { AttestationReport } from "../attestation/attestation_report.ts";
import type { ClientOptions } from "../client/options.ts";
import { SecureChatCompletion } from "../promise/secure_chat_completion.ts";

/** The usage text. */
export const PCR_BASELINE_USAGE =
  `Usage: deno task pcr-baseline --base-url URL [--samples N] [--out FILE] [--model M] [--allow-http]

Sends N small maximum-tier requests (API key from NOMYO_API_KEY), verifies every TPM quote, and
writes the PCR values they all quoted as a baseline file (PCR index -> lowercase hex).

  --base-url URL   router (default: NOMYO_BASE_URL)
  --samples N      requests to send, 1 to 100 (default 3)
  --out FILE       file to write; never overwritten (default pcr-baseline.json)
  --model M        model to ask (default Qwen/Qwen3-0.6B)
  --allow-http     allow an http:// router (local development only)`;

/** How {@linkcode runPcrBaseline} reaches the world; tests replace parts. */
export interface PcrBaselineIo {
  /** Environment variables. */
  readonly env: (name: string) => string | undefined;
  /** Where lines go. */
  readonly print: (line: string) => void;
  /** Client options added to the command line's (tests: a smaller key). */
  readonly clientOptions?: ClientOptions;
}

const processEnv = (name: string): string | undefined => {
  try {
    const value = process.env[name];
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
};

/**
 * Runs the program.
 *
 * @param argv The arguments after the script name.
 * @param io Environment, output and extra client options.
 * @returns The exit status: 0 written, 1 no baseline (a sample failed or samples disagree, or
 * the file exists), 2 a bad command line.
 */
export const runPcrBaseline = async (
  argv: ReadonlyArray<string>,
  io: PcrBaselineIo = { env: processEnv, print: console.log },
): Promise<number> => {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        "base-url": { type: "string" },
        samples: { type: "string", default: "3" },
        out: { type: "string", default: "pcr-baseline.json" },
        model: { type: "string", default: "Qwen/Qwen3-0.6B" },
        "allow-http": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.print(`${(error as Error).message}\n\n${PCR_BASELINE_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.print(PCR_BASELINE_USAGE);
    return 0;
  }
  const baseUrl = values["base-url"] ?? io.env("NOMYO_BASE_URL");
  const samples = /^\d{1,3}$/.test(values.samples) ? Number(values.samples) : NaN;
  if (baseUrl === undefined || !(samples >= 1 && samples <= 100)) {
    io.print(
      `Cannot record baseline: --base-url and --samples 1..100 are needed\n\n${PCR_BASELINE_USAGE}`,
    );
    return 2;
  }
  const apiKey = io.env("NOMYO_API_KEY");
  let client: SecureChatCompletion;
  try {
    client = new SecureChatCompletion({
      ...io.clientOptions,
      baseUrl,
      allowHttp: values["allow-http"],
      securityTier: "maximum",
      attestation: "require",
      ...(apiKey === undefined ? {} : { apiKey }),
    });
  } catch (error) {
    io.print(`Cannot record baseline: ${(error as Error).message}`);
    return 2;
  }
  const reports: AttestationReport[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const answer = await client.create({
        model: values.model,
        messages: [{ role: "user", content: "ping" }],
        max_tokens: 1,
      });
      reports.push(answer._metadata.attestation_result as unknown as AttestationReport);
      io.print(`sample ${i + 1}/${samples}: quote verified`);
    }
  } catch (error) {
    // Error messages hold no secret by construction.
    io.print(
      `Cannot record baseline: sample ${reports.length + 1} failed: ${(error as Error).message}`,
    );
    return 1;
  } finally {
    await client.dispose();
  }
  const recorded = baselineFromReports(reports);
  if (!recorded.ok) {
    io.print(`Cannot record baseline: ${recorded.why}; nothing written`);
    return 1;
  }
  try {
    await writeFile(values.out, `${JSON.stringify(recorded.baseline, null, 2)}\n`, { flag: "wx" });
  } catch {
    io.print(`Cannot record baseline: ${values.out} exists or cannot be written; nothing written`);
    return 1;
  }
  io.print(`wrote PCRs ${Object.keys(recorded.baseline).join(", ")} to ${values.out}`);
  return 0;
};

if (import.meta.main) {
  process.exitCode = await runPcrBaseline(process.argv.slice(2));
}
