/**
 * `verifyEvidence()` gives the same verdicts under Node and Bun as under Deno: the bundled
 * `_evidence_runtime.ts` checks RSASSA, RSA-PSS and ECDSA evidence and tampered copies.
 */
import assert from "node:assert/strict";
import { EVIDENCE_CLIENT, verifyEvidence } from "../../src/attestation/evidence.ts";
import { makeSoftwareQuote } from "../../src/testing/software_tpm.ts";

const runs = async (command: string, args: string[]): Promise<boolean> => {
  try {
    const out = await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
};
const hasNode = await runs("node", ["--version"]);
const hasBun = await runs("npx", ["--yes", "bun@1", "--version"]);
if (!hasNode) console.warn("node is missing: the Node run of evidence verification is ignored");
if (!hasBun) console.warn("bun (npx bun@1) is unavailable: the Bun run is ignored");

const documents = async (): Promise<Array<[string, string]>> => {
  const docs: Array<[string, string]> = [];
  for (const aik of ["rsassa", "rsapss", "ecdsa"] as const) {
    const payloadId = crypto.randomUUID();
    const { block } = await makeSoftwareQuote(payloadId, { aik });
    const doc = {
      format: "nomyo-attestation-evidence",
      version: 1,
      payload_id: payloadId,
      tpm_attestation: block,
      router: { url: "https://router.example", key_fingerprint: "ab".repeat(32) },
      exported_at: new Date(0).toISOString(),
      client: EVIDENCE_CLIENT,
    };
    docs.push([`${aik}.json`, JSON.stringify(doc)]);
    docs.push([`${aik}-replayed.json`, JSON.stringify({ ...doc, payload_id: "other" })]);
  }
  docs.push(["broken.json", "[1, 2"]);
  return docs;
};

const verdicts = async (docs: Array<[string, string]>): Promise<string[]> => {
  const out: string[] = [];
  for (const [, text] of docs) {
    const report = await verifyEvidence(text);
    out.push(
      report.verified ? "verified" : `fail ${report.steps.find((s) => s.status === "fail")?.step}`,
    );
  }
  return out;
};

Deno.test({
  name: "verifyEvidence() gives the same verdicts under Node and Bun",
  ignore: !hasNode && !hasBun,
  fn: async () => {
    const docs = await documents();
    const expected = await verdicts(docs);
    assert.deepEqual(expected, [
      "verified",
      "fail nonce",
      "verified",
      "fail nonce",
      "verified",
      "fail nonce",
      "fail evidence",
    ]);
    const dir = await Deno.makeTempDir({ prefix: "nomyo-evidence-runtimes-" });
    try {
      for (const [name, text] of docs) await Deno.writeTextFile(`${dir}/${name}`, text);
      const bundle = `${dir}/verify.mjs`;
      const script = new URL("./_evidence_runtime.ts", import.meta.url).pathname;
      const bundled = await new Deno.Command("deno", {
        args: ["bundle", "--quiet", "--platform", "browser", "-o", bundle, script],
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.ok(bundled.success, new TextDecoder().decode(bundled.stderr));
      const files = docs.map(([name]) => `${dir}/${name}`);
      const runtimes: Array<[string, string[]]> = [];
      if (hasNode) runtimes.push(["node", [bundle, ...files]]);
      if (hasBun) runtimes.push(["npx", ["--yes", "bun@1", bundle, ...files]]);
      for (const [command, args] of runtimes) {
        const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
          .output();
        assert.ok(out.success, `${command}: ${new TextDecoder().decode(out.stderr)}`);
        assert.deepEqual(
          new TextDecoder().decode(out.stdout).trim().split("\n"),
          expected,
          command,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
