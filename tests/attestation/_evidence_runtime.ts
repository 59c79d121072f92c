/**
 * Verifies evidence documents under any runtime (bundled for Node and Bun): reads each file
 * named on the command line and prints one line per file, `verified` or the failed step.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import process from "node:process";
import { verifyEvidence } from "../../src/attestation/evidence.ts";

for (const path of process.argv.slice(2)) {
  const report = await verifyEvidence(await readFile(path, "utf8"));
  console.log(
    report.verified ? "verified" : `fail ${report.steps.find((s) => s.status === "fail")?.step}`,
  );
}
