/**
 * `deno task pcr-baseline` against the TPM test router: records what every sample quoted,
 * refuses samples that disagree, and the file it writes passes as `pcrBaseline` and as
 * `--pcr-baseline` while a changed PCR fails.
 */
import assert from "node:assert/strict";
import { baselineFromReports } from "../../src/attestation/pcr_baseline.ts";
import { exportEvidence } from "../../src/attestation/evidence.ts";
import { runVerifyEvidence } from "../../src/attestation/verify_evidence_cli.ts";
import { AttestationError } from "../../src/errors.ts";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { runPcrBaseline } from "../../src/tools/pcr_baseline_cli.ts";
import {
  DEFAULT_PCR_VALUES,
  startTestRouter,
  type TestRouterOptions,
} from "../../src/testing/router.ts";
import { makeSoftwareQuote } from "../../src/testing/software_tpm.ts";

const API_KEY = "sk-baseline-test";

const record = async (routerOptions: TestRouterOptions, argv: string[] = []) => {
  const router = await startTestRouter({ apiKey: API_KEY, ...routerOptions });
  const dir = await Deno.makeTempDir({ prefix: "nomyo-baseline-" });
  const lines: string[] = [];
  try {
    const code = await runPcrBaseline(
      ["--base-url", router.url, "--allow-http", "--out", `${dir}/baseline.json`, ...argv],
      {
        env: (name) => (name === "NOMYO_API_KEY" ? API_KEY : undefined),
        print: (line) => lines.push(line),
        clientOptions: { keySize: 2048, maxRetries: 0 },
      },
    );
    const file = await Deno.readTextFile(`${dir}/baseline.json`).catch(() => undefined);
    return { code, text: lines.join("\n"), file, dir, router };
  } catch (error) {
    await router.close();
    throw error;
  }
};

const done = async (run: { dir: string; router: { close(): Promise<void> } }) => {
  await run.router.close();
  await Deno.remove(run.dir, { recursive: true });
};

Deno.test("pcr-baseline records the PCRs every sample quoted; the file passes and a changed PCR fails", async () => {
  const run = await record({ tpm: { aik: "ecdsa" } }, ["--samples", "3"]);
  try {
    assert.equal(run.code, 0, run.text);
    assert.ok(run.file !== undefined);
    const baseline = JSON.parse(run.file) as Record<string, string>;
    assert.deepEqual(baseline, DEFAULT_PCR_VALUES);
    assert.equal(run.router.requests.length, 1 + 3, "one key fetch, three samples");
    assert.ok(!run.text.includes(API_KEY));

    // The file as the pcrBaseline option.
    const client = new SecureChatCompletion({
      baseUrl: run.router.url,
      allowHttp: true,
      apiKey: API_KEY,
      keySize: 2048,
      securityTier: "maximum",
      attestation: "require",
      pcrBaseline: baseline,
    });
    try {
      const answer = await client.create({
        model: "m",
        messages: [{ role: "user", content: "x" }],
      });
      assert.equal(answer._metadata.attestation_result?.baselineChecked, true);
      // The file as --pcr-baseline, and a changed PCR failing.
      await Deno.writeTextFile(`${run.dir}/evidence.json`, JSON.stringify(exportEvidence(answer)));
      const quiet = () => {};
      const args = [`${run.dir}/evidence.json`, "--pcr-baseline"];
      assert.equal(await runVerifyEvidence([...args, `${run.dir}/baseline.json`], quiet), 0);
      const changed = { ...baseline, "10": "00".repeat(32) };
      await Deno.writeTextFile(`${run.dir}/changed.json`, JSON.stringify(changed));
      assert.equal(await runVerifyEvidence([...args, `${run.dir}/changed.json`], quiet), 1);
    } finally {
      await client.dispose();
    }

    // A router whose PCR 7 changed fails the recorded baseline.
    const other = await startTestRouter({
      tpm: { pcrValues: { ...DEFAULT_PCR_VALUES, "7": "ee".repeat(32) } },
    });
    const strict = new SecureChatCompletion({
      baseUrl: other.url,
      allowHttp: true,
      keySize: 2048,
      securityTier: "maximum",
      attestation: "require",
      pcrBaseline: baseline,
    });
    try {
      const error = await strict.create({ model: "m", messages: [{ role: "user", content: "x" }] })
        .then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof AttestationError);
      assert.equal(error.step, "pcr_baseline");
    } finally {
      await strict.dispose();
      await other.close();
    }
  } finally {
    await done(run);
  }
});

Deno.test("pcr-baseline writes nothing when samples disagree", async () => {
  let n = 0;
  const changing = { ...DEFAULT_PCR_VALUES, "10": "ab".repeat(32) };
  const run = await record({
    tpm: true,
    // The second answer quotes another PCR 10: the router's software changed mid-way.
    attestation: async (payloadId) =>
      (await makeSoftwareQuote(payloadId, { pcrValues: n++ === 1 ? changing : DEFAULT_PCR_VALUES }))
        .block,
  }, ["--samples", "3"]);
  try {
    assert.equal(run.code, 1);
    assert.equal(run.file, undefined);
    assert.match(run.text, /sample 2 quotes other PCR values than sample 1; nothing written/);
  } finally {
    await done(run);
  }
});

Deno.test("pcr-baseline writes nothing when a quote does not verify", async () => {
  const run = await record({ tpm: true, attestation: () => ({ quote_b64: "AAAA" }) });
  try {
    assert.equal(run.code, 1);
    assert.equal(run.file, undefined);
    assert.match(run.text, /sample 1 failed: Cannot read aik_pubkey_b64/);
  } finally {
    await done(run);
  }
});

Deno.test("pcr-baseline never overwrites a file, and refuses a bad command line", async () => {
  const first = await record({ tpm: true }, ["--samples", "1"]);
  try {
    assert.equal(first.code, 0);
    const lines: string[] = [];
    const io = {
      env: () => undefined,
      print: (l: string) => lines.push(l),
      clientOptions: { keySize: 2048 as const },
    };
    const again = await runPcrBaseline(
      [
        "--base-url",
        first.router.url,
        "--allow-http",
        "--samples",
        "1",
        "--out",
        `${first.dir}/baseline.json`,
      ],
      io,
    );
    assert.equal(again, 1);
    assert.equal(await Deno.readTextFile(`${first.dir}/baseline.json`), first.file);
    for (const argv of [[], ["--base-url", first.router.url, "--samples", "0"], ["--bogus"]]) {
      assert.equal(await runPcrBaseline(argv, io), 2, argv.join(" "));
    }
  } finally {
    await done(first);
  }
});

Deno.test("baselineFromReports() needs verified samples that agree", () => {
  const ok = {
    version: 1,
    verified: true,
    steps: [],
    unverified: [],
    notes: "",
    baselineChecked: false,
  } as const;
  assert.deepEqual(baselineFromReports([]), { ok: false, why: "no sample was taken" });
  assert.deepEqual(
    baselineFromReports([{ ...ok, pcrs: { "10": "aa", "7": "bb" } }, {
      ...ok,
      pcrs: { "7": "bb", "10": "aa" },
    }]),
    { ok: true, baseline: { "7": "bb", "10": "aa" } },
  );
  assert.equal(
    baselineFromReports([{ ...ok, pcrs: { "7": "bb" } }, { ...ok, pcrs: { "7": "bb", "0": "cc" } }])
      .ok,
    false,
  );
  assert.equal(baselineFromReports([{ ...ok, verified: false, pcrs: { "7": "bb" } }]).ok, false);
});
