/**
 * Evidence: an attested answer from the TPM test router carries its report, exports a
 * document with no secret in it, and that document verifies offline (library and CLI); any
 * flipped byte fails the step that catches it; hostile documents are a failed step, not a throw.
 */
import assert from "node:assert/strict";
import { Either, Encoding } from "effect";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import {
  type AttestationEvidence,
  EVIDENCE_CLIENT,
  exportEvidence,
  MAX_EVIDENCE_LENGTH,
  verifyEvidence,
  withAttestationResult,
} from "../../src/attestation/evidence.ts";
import type { AttestationReport } from "../../src/attestation/attestation_report.ts";
import { runVerifyEvidence } from "../../src/attestation/verify_evidence_cli.ts";
import { DEFAULT_PCR_VALUES, startTestRouter } from "../../src/testing/router.ts";
import type { SoftwareAikScheme } from "../../src/testing/software_tpm.ts";

const PROMPT = "canary-prompt-7f3e: the patient's record";
const API_KEY = "sk-canary-api-key-91b2";

/** One attested answer from the TPM test router, and its evidence. */
const attestedAnswer = async (aik: SoftwareAikScheme = "rsassa") => {
  const router = await startTestRouter({ tpm: { aik }, apiKey: API_KEY });
  const client = new SecureChatCompletion({
    baseUrl: router.url,
    allowHttp: true,
    apiKey: API_KEY,
    keySize: 2048,
    securityTier: "maximum",
    attestation: "require",
  });
  try {
    const answer = await client.create({
      model: "m",
      messages: [{ role: "user", content: PROMPT }],
    });
    return { answer, fingerprint: router.fingerprint, url: router.url };
  } finally {
    await client.dispose();
    await router.close();
  }
};

const fixture = await attestedAnswer("ecdsa");
const evidence: AttestationEvidence = exportEvidence(fixture.answer);

const failedStep = (report: AttestationReport): string | undefined =>
  report.steps.find((s) => s.status === "fail")?.step;

const flipByte = (b64: string, at: number): string => {
  const bytes = Either.getOrThrow(Encoding.decodeBase64(b64));
  bytes[at] = bytes[at]! ^ 0x01;
  return Encoding.encodeBase64(bytes);
};

const withBlock = (field: string, value: unknown): unknown => ({
  ...evidence,
  tpm_attestation: { ...evidence.tpm_attestation, [field]: value },
});

Deno.test("an answer under require from startTestRouter({ tpm: true }) carries a report whose steps all pass", async () => {
  for (const aik of ["rsassa", "rsapss", "ecdsa"] as const) {
    const { answer, fingerprint, url } = aik === "ecdsa" ? fixture : await attestedAnswer(aik);
    const result = answer._metadata.attestation_result;
    assert.ok(result !== undefined);
    assert.equal(result.verified, true);
    const steps = result.steps as AttestationReport["steps"];
    assert.deepEqual(steps.map((s) => [s.step, s.status]), [
      ["parse", "pass"],
      ["nonce", "pass"],
      ["pcr_digest", "pass"],
      ["aik", "pass"],
      ["signature", "pass"],
      ["pcr_baseline", "skipped"],
      ["clock", "pass"],
    ]);
    assert.deepEqual(result.router, { url, keyFingerprint: fingerprint });
    assert.equal(result.payloadId, answer._metadata.payload_id);
    assert.ok((result.unverified as string[]).some((u) => /genuine TPM/.test(u)));
  }
});

Deno.test("exportEvidence() holds the block, payload id, router and client, and no secret", () => {
  assert.equal(evidence.format, "nomyo-attestation-evidence");
  assert.equal(evidence.version, 1);
  assert.equal(evidence.payload_id, fixture.answer._metadata.payload_id);
  assert.deepEqual(evidence.tpm_attestation, fixture.answer._metadata.tpm_attestation);
  assert.deepEqual(evidence.router, { url: fixture.url, key_fingerprint: fixture.fingerprint });
  assert.deepEqual(evidence.client, EVIDENCE_CLIENT);
  assert.ok(!Number.isNaN(Date.parse(evidence.exported_at)));
  const text = JSON.stringify(evidence);
  for (const canary of [PROMPT, "canary-prompt", API_KEY, "Echo:", "BEGIN"]) {
    assert.ok(!text.includes(canary), `no ${canary} in the evidence`);
  }
  assert.deepEqual(Object.keys(evidence).sort(), [
    "client",
    "exported_at",
    "format",
    "payload_id",
    "processed_at",
    "router",
    "tpm_attestation",
    "version",
  ]);
});

Deno.test("EVIDENCE_CLIENT is the version in deno.json", async () => {
  const { name, version } = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  ) as { name: string; version: string };
  assert.deepEqual(EVIDENCE_CLIENT, { name, version });
});

Deno.test("exportEvidence() refuses an answer without a verified report", () => {
  const { attestation_result: _, ...bare } = fixture.answer._metadata;
  for (
    const answer of [{ _metadata: bare }, {}, {
      _metadata: { ...bare, attestation_result: { verified: false } },
    }]
  ) {
    assert.throws(() => exportEvidence(answer as never), TypeError);
  }
});

Deno.test("verifyEvidence() re-checks the document offline into the same report", async () => {
  const fromText = await verifyEvidence(JSON.stringify(evidence));
  const fromValue = await verifyEvidence(evidence);
  assert.deepEqual(fromText, fromValue);
  assert.equal(fromText.verified, true);
  assert.equal(fromText.steps[0]?.step, "evidence");
  const online = fixture.answer._metadata.attestation_result!;
  assert.deepEqual(fromText.steps.slice(1), online.steps);
  assert.deepEqual(fromText.pcrs, online.pcrs);
  assert.deepEqual(fromText.router, online.router);
  assert.ok(fromText.unverified.some((u) => /router URL, key fingerprint/.test(u)));
  const withBaseline = await verifyEvidence(evidence, { pcrBaseline: DEFAULT_PCR_VALUES });
  assert.equal(withBaseline.baselineChecked, true);
  const changed = await verifyEvidence(evidence, { pcrBaseline: { "7": "00".repeat(32) } });
  assert.equal(failedStep(changed), "pcr_baseline");
  await assert.rejects(verifyEvidence(evidence, { pcrBaseline: {} }), TypeError);
});

Deno.test("verifyEvidence() fails the step that catches every flipped byte of the quote, signature and AIK", async () => {
  const rsa = exportEvidence((await attestedAnswer("rsassa")).answer);
  for (const doc of [evidence, rsa]) await flipsFail(doc);
});

const flipsFail = async (evidence: AttestationEvidence): Promise<void> => {
  const withBlock = (field: string, value: unknown): unknown => ({
    ...evidence,
    tpm_attestation: { ...evidence.tpm_attestation, [field]: value },
  });
  const block = evidence.tpm_attestation as Record<string, string>;
  const expected: Record<string, readonly string[]> = {
    quote_b64: ["parse", "nonce", "pcr_digest", "signature", "clock"],
    signature_b64: ["parse", "aik", "signature"],
    aik_pubkey_b64: ["parse", "aik", "signature"],
  };
  for (const [field, steps] of Object.entries(expected)) {
    const length = Either.getOrThrow(Encoding.decodeBase64(block[field]!)).length;
    for (let at = 0; at < length; at++) {
      const report = await verifyEvidence(withBlock(field, flipByte(block[field]!, at)));
      assert.equal(report.verified, false, `${field} byte ${at}`);
      const step = failedStep(report);
      assert.ok(step !== undefined && steps.includes(step), `${field} byte ${at}: ${step}`);
    }
  }
};

Deno.test("verifyEvidence() fails pcr_digest for a changed PCR and nonce for a changed payload id", async () => {
  const pcrs = evidence.tpm_attestation.pcr_values as Record<string, string>;
  for (const key of Object.keys(pcrs)) {
    for (const at of [0, 31, 63]) {
      const value = pcrs[key]!;
      const flipped = value.slice(0, at) + (value[at] === "0" ? "1" : "0") + value.slice(at + 1);
      const report = await verifyEvidence(withBlock("pcr_values", { ...pcrs, [key]: flipped }));
      assert.equal(failedStep(report), "pcr_digest", `PCR ${key} digit ${at}`);
    }
  }
  const id = evidence.payload_id;
  for (let at = 0; at < id.length; at++) {
    const flipped = id.slice(0, at) + String.fromCharCode(id.charCodeAt(at) ^ 1) + id.slice(at + 1);
    const report = await verifyEvidence({ ...evidence, payload_id: flipped });
    assert.equal(failedStep(report), "nonce", `payload id char ${at}`);
  }
});

Deno.test("verifyEvidence() turns hostile documents into a failed evidence step", async () => {
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  const cyclic: Record<string, unknown> = { ...evidence };
  cyclic.self = cyclic;
  const hostile: unknown[] = [
    null,
    42,
    "not json",
    "[]",
    deep,
    JSON.stringify({ ...evidence, payload_id: "x".repeat(MAX_EVIDENCE_LENGTH) }),
    {
      ...evidence,
      tpm_attestation: { ...evidence.tpm_attestation, extra: "x".repeat(MAX_EVIDENCE_LENGTH) },
    },
    cyclic,
    { ...evidence, format: "other" },
    { ...evidence, version: 2 },
    { ...evidence, version: "1" },
    { ...evidence, payload_id: 7 },
    { ...evidence, payload_id: "" },
    { ...evidence, tpm_attestation: [] },
    { ...evidence, router: { url: evidence.router.url } },
    { ...evidence, router: { ...evidence.router, key_fingerprint: "AB".repeat(32) } },
    { ...evidence, processed_at: "yesterday" },
    { ...evidence, exported_at: "not a date" },
    { ...evidence, client: "nomyo" },
    { ...evidence, claims: { genuine_tpm: true } },
  ];
  const nested: Record<string, unknown> = { ...evidence };
  let inner: Record<string, unknown> = {};
  nested.tpm_attestation = { ...evidence.tpm_attestation, extra: inner };
  for (let i = 0; i < 30; i++) inner = (inner.next = {}) as Record<string, unknown>;
  hostile.push(nested);
  for (const doc of hostile) {
    const report = await verifyEvidence(doc);
    assert.equal(report.verified, false);
    assert.equal(report.steps[0]?.step, "evidence");
    assert.equal(report.steps[0]?.status, "fail");
    assert.match(report.steps[0]!.detail, /^Cannot read evidence: /);
    assert.ok(report.steps.slice(1).every((s) => s.status === "skipped"));
  }
  // A field that is valid but the block inside is not: the quote's steps say so.
  const report = await verifyEvidence(withBlock("quote_b64", 12));
  assert.equal(failedStep(report), "parse");
});

Deno.test("verifyEvidence() reads own properties only: a polluted prototype changes nothing", async () => {
  const proto = Object.prototype as Record<string, unknown>;
  const { processed_at: _, ...noTime } = evidence;
  proto.processed_at = "not a number";
  proto.claims = { genuine_tpm: true };
  try {
    assert.equal((await verifyEvidence(noTime)).verified, true);
    const { payload_id: __, ...noId } = evidence;
    proto.payload_id = evidence.payload_id;
    assert.equal((await verifyEvidence(noId)).steps[0]?.status, "fail");
  } finally {
    delete proto.processed_at;
    delete proto.claims;
    delete proto.payload_id;
  }
});

Deno.test("withAttestationResult() drops a report the router put into _metadata", () => {
  const completion = { _metadata: { payload_id: "p", attestation_result: { verified: true } } };
  withAttestationResult(completion, undefined);
  assert.equal(Object.hasOwn(completion._metadata, "attestation_result"), false);
});

const withFiles = async (
  files: Record<string, string>,
  body: (dir: string) => Promise<void>,
): Promise<void> => {
  const dir = await Deno.makeTempDir({ prefix: "nomyo-evidence-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

Deno.test("runVerifyEvidence() prints the step table; exit 0 verified, 1 a failed step, 2 misuse", async () => {
  const tampered = withBlock(
    "signature_b64",
    flipByte(evidence.tpm_attestation.signature_b64 as string, 20),
  );
  await withFiles({
    "good.json": JSON.stringify(evidence),
    "bad.json": JSON.stringify(tampered),
    "baseline.json": JSON.stringify(DEFAULT_PCR_VALUES),
    "other.json": JSON.stringify({ "7": "00".repeat(32) }),
    "empty.json": "{}",
  }, async (dir) => {
    const run = async (...argv: string[]) => {
      const lines: string[] = [];
      const code = await runVerifyEvidence(argv, (line) => lines.push(line));
      return { code, text: lines.join("\n") };
    };
    const good = await run(`${dir}/good.json`);
    assert.equal(good.code, 0);
    assert.match(good.text, /^step\s+status\s+detail$/m);
    assert.match(good.text, /^signature\s+pass\s+/m);
    assert.match(good.text, /^pcr_baseline\s+skipped\s+/m);
    assert.match(good.text, /genuine TPM/);
    const baseline = await run(`${dir}/good.json`, "--pcr-baseline", `${dir}/baseline.json`);
    assert.equal(baseline.code, 0);
    assert.match(baseline.text, /^pcr_baseline 7\s+pass\s+/m);
    const other = await run(`${dir}/good.json`, `--pcr-baseline=${dir}/other.json`);
    assert.equal(other.code, 1);
    assert.match(other.text, /^pcr_baseline 7\s+fail\s+/m);
    const bad = await run(`${dir}/bad.json`);
    assert.equal(bad.code, 1);
    assert.match(bad.text, /^signature\s+fail\s+Cannot verify quote signature/m);
    assert.equal((await run()).code, 2);
    assert.equal((await run(`${dir}/missing.json`)).code, 2);
    assert.equal((await run(`${dir}/good.json`, "--pcr-baseline", `${dir}/empty.json`)).code, 2);
    assert.equal((await run(`${dir}/good.json`, "--bogus")).code, 2);
  });
});

Deno.test("verify_evidence_cli.ts runs as a program with read access only", async () => {
  await withFiles({ "good.json": JSON.stringify(evidence), "bad.json": "{}" }, async (dir) => {
    const cli = new URL("../../src/attestation/verify_evidence_cli.ts", import.meta.url).pathname;
    const run = (file: string) =>
      new Deno.Command("deno", {
        args: ["run", "--quiet", `--allow-read=${dir}`, cli, `${dir}/${file}`],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const good = await run("good.json");
    assert.equal(good.code, 0, new TextDecoder().decode(good.stderr));
    assert.match(new TextDecoder().decode(good.stdout), /verified: no step failed/);
    assert.equal((await run("bad.json")).code, 1);
  });
});
