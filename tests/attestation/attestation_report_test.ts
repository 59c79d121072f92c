/**
 * The attestation report: every step with its outcome, the step that caught a tampered block,
 * and what no step proves.
 */
import assert from "node:assert/strict";
import { Effect, Either, Encoding } from "effect";
import { inspectAttestation, verifyAttestation } from "../../src/attestation/tpm_quote.ts";
import type { AttestationReport } from "../../src/attestation/attestation_report.ts";
import { AttestationError } from "../../src/errors.ts";
import { DEFAULT_PCR_VALUES, makeSoftwareQuote } from "../../src/testing/software_tpm.ts";

const PAYLOAD_ID = "0b8f2a4e-6c1d-4e3f-8a9b-1c2d3e4f5a6b";
const STEPS = ["parse", "nonce", "pcr_digest", "aik", "signature", "pcr_baseline", "clock"];

const respond = (block: unknown, payloadId = PAYLOAD_ID) => ({
  _metadata: { payload_id: payloadId, tpm_attestation: block },
});

const inspect = (response: unknown, options = {}): Promise<AttestationReport> =>
  Effect.runPromise(inspectAttestation(response, options));

const statusOf = (report: AttestationReport): Record<string, string> =>
  Object.fromEntries(report.steps.map((s) => [s.pcr ? `${s.step}:${s.pcr}` : s.step, s.status]));

const flipBase64 = (text: string, at: number): string => {
  const bytes = Either.getOrThrow(Encoding.decodeBase64(text));
  bytes[at] = bytes[at]! ^ 0x01;
  return Encoding.encodeBase64(bytes);
};

Deno.test("verifyAttestation() reports every step passed, and what no step proves", async () => {
  for (const aik of ["rsassa", "rsapss", "ecdsa"] as const) {
    const { block } = await makeSoftwareQuote(PAYLOAD_ID, { aik });
    const result = await verifyAttestation(respond(block), { pcrBaseline: DEFAULT_PCR_VALUES });
    assert.equal(result.version, 1);
    assert.equal(result.verified, true);
    assert.deepEqual(
      result.steps.map((s) => s.step),
      [
        "parse",
        "nonce",
        "pcr_digest",
        "aik",
        "signature",
        "pcr_baseline",
        "pcr_baseline",
        "pcr_baseline",
        "clock",
      ],
    );
    assert.ok(result.steps.every((s) => s.status === "pass" && s.detail.length > 0));
    assert.deepEqual(result.steps.filter((s) => s.pcr).map((s) => s.pcr), ["0", "7", "10"]);
    assert.ok(result.unverified.some((u) => /genuine TPM/.test(u) && /EK certificate/.test(u)));
    assert.ok(result.unverified.some((u) => /baseline itself/.test(u)));
    // Plain JSON: it survives a round trip unchanged.
    assert.deepEqual(JSON.parse(JSON.stringify(result)), result);
  }
});

Deno.test("verifyAttestation() without a baseline skips that step and says what that leaves", async () => {
  const { block } = await makeSoftwareQuote(PAYLOAD_ID);
  const result = await verifyAttestation(respond(block));
  assert.deepEqual(statusOf(result), {
    parse: "pass",
    nonce: "pass",
    pcr_digest: "pass",
    aik: "pass",
    signature: "pass",
    pcr_baseline: "skipped",
    clock: "pass",
  });
  assert.equal(result.baselineChecked, false);
  assert.ok(result.unverified.some((u) => /no baseline was compared/.test(u)));
});

Deno.test("a baseline naming fewer PCRs than quoted says which stay unchecked", async () => {
  const { block } = await makeSoftwareQuote(PAYLOAD_ID);
  const result = await verifyAttestation(respond(block), {
    pcrBaseline: { "7": DEFAULT_PCR_VALUES["7"]! },
  });
  assert.ok(result.unverified.some((u) => /PCRs 0, 10 describe/.test(u)));
});

Deno.test("inspectAttestation() names the step that catches each tampering; the others still run", async () => {
  const { block } = await makeSoftwareQuote(PAYLOAD_ID, { aik: "ecdsa" });
  const baseline = { pcrBaseline: DEFAULT_PCR_VALUES };

  const replayed = await inspect(respond(block, "another payload id"), baseline);
  assert.equal(replayed.verified, false);
  assert.equal(statusOf(replayed).nonce, "fail");
  assert.equal(statusOf(replayed).signature, "pass");

  const pcrValues = { ...block.pcr_values, "7": "00".repeat(32) };
  const changedPcr = await inspect(respond({ ...block, pcr_values: pcrValues }), baseline);
  assert.equal(statusOf(changedPcr).pcr_digest, "fail");
  assert.equal(statusOf(changedPcr)["pcr_baseline:7"], "skipped");
  assert.equal(statusOf(changedPcr).signature, "pass");

  // Byte 60 is in the clock: only the signature covers it.
  const quote = flipBase64(block.quote_b64, 60);
  const flipped = await inspect(respond({ ...block, quote_b64: quote }), baseline);
  assert.equal(statusOf(flipped).signature, "fail");
  assert.equal(statusOf(flipped).nonce, "pass");
  assert.equal(statusOf(flipped)["pcr_baseline:0"], "skipped");

  const notBase64 = await inspect(respond({ ...block, aik_pubkey_b64: "!" }), baseline);
  assert.equal(statusOf(notBase64).parse, "fail");
  assert.ok(notBase64.steps.slice(1).every((s) => s.status === "skipped"));
});

Deno.test("verifyAttestation() rejects with the step that failed", async () => {
  const { block } = await makeSoftwareQuote(PAYLOAD_ID);
  const cases: Array<[unknown, string, string]> = [
    [respond(block, "other"), "nonce", "NonceMismatch"],
    [
      respond({ ...block, signature_b64: flipBase64(block.signature_b64, 10) }),
      "signature",
      "BadSignature",
    ],
    [respond({ ...block, quote_b64: flipBase64(block.quote_b64, 0) }), "parse", "BadMagic"],
    [{ _metadata: { payload_id: PAYLOAD_ID } }, "parse", "Missing"],
  ];
  for (const [response, step, reason] of cases) {
    const e = await verifyAttestation(response).catch((e: unknown) => e);
    assert.ok(e instanceof AttestationError);
    assert.equal(e.step, step);
    assert.equal(e.reason, reason);
    assert.match(e.message, /^Cannot [a-z]/);
  }
  const pcrs = { "7": "11".repeat(32) };
  const mismatch = await verifyAttestation(respond(block), { pcrBaseline: pcrs }).catch((e) => e);
  assert.ok(mismatch instanceof AttestationError);
  assert.equal(mismatch.step, "pcr_baseline");
  assert.equal(mismatch.reason, "BaselineMismatch");
});

Deno.test("an unsafe TPM clock fails the clock step", async () => {
  const clock = { clock: 5n, resetCount: 0, restartCount: 0, safe: false };
  const { block } = await makeSoftwareQuote(PAYLOAD_ID, { clock });
  const e = await verifyAttestation(respond(block)).catch((e: unknown) => e);
  assert.ok(e instanceof AttestationError);
  assert.equal(e.step, "clock");
  assert.equal(e.reason, "UnsafeClock");
});

Deno.test("inspectAttestation() reads own properties only: a polluted prototype adds no block", async () => {
  const { block } = await makeSoftwareQuote(PAYLOAD_ID);
  const proto = Object.prototype as Record<string, unknown>;
  proto.tpm_attestation = block;
  proto.quote_b64 = block.quote_b64;
  try {
    const report = await inspect({ _metadata: { payload_id: PAYLOAD_ID } });
    assert.equal(report.verified, false);
    assert.equal(report.steps[0]?.reason, "Missing");
    const { quote_b64: _, ...partial } = block;
    const noQuote = await inspect(respond(partial));
    assert.equal(noQuote.steps[0]?.status, "fail");
    assert.equal(noQuote.steps[0]?.reason, "BadBase64");
  } finally {
    delete proto.tpm_attestation;
    delete proto.quote_b64;
  }
});

Deno.test("every report lists each step once (baseline PCRs aside), in order", async () => {
  const { block } = await makeSoftwareQuote(PAYLOAD_ID);
  for (const response of [respond(block), respond(block, "x"), { _metadata: {} }, respond(1)]) {
    const names = (await inspect(response)).steps.map((s) => s.step);
    assert.deepEqual(names, STEPS);
  }
});
