import assert from "node:assert/strict";
import { verifyAttestation, verifyQuote } from "../../src/attestation/mod.ts";
import { AttestationError } from "../../src/errors.ts";
import { expectFailure, expectSuccess, run, vectors } from "./_helpers.ts";

const valid = vectors.filter((v) => v.expect === "valid");
const invalid = vectors.filter((v) => v.expect === "invalid");

Deno.test("verifyQuote() vector file holds valid and invalid cases of every scheme", () => {
  assert.equal(valid.length, 8);
  assert.equal(invalid.length, 16);
  const schemes = new Set(valid.map((v) => v.details.signature_scheme));
  assert.deepEqual([...schemes].sort(), ["ecdsa", "rsapss", "rsassa"]);
});

for (const v of valid) {
  Deno.test(`verifyQuote() accepts ${v.name}`, async () => {
    const result = expectSuccess(await run(verifyQuote(v.tpm_attestation, v.payload_id)));
    assert.equal(result.verified, true);
    assert.equal(result.payloadId, v.payload_id);
    assert.equal(result.signatureScheme, v.details.signature_scheme);
    assert.equal(result.aikType, v.details.aik.startsWith("RSA") ? "rsa" : "ecc");
    assert.equal(result.pcrBank, "sha256");
    assert.deepEqual(result.selectedPcrs, [0, 7, 10]);
    assert.deepEqual(result.pcrs, v.tpm_attestation.pcr_values);
    assert.equal(result.baselineChecked, false);
    assert.match(result.clockInfo.clock, /^[0-9]+$/);
    assert.match(result.firmwareVersion, /^0x[0-9a-f]{16}$/);
    assert.match(result.notes, /no EK certificate/);
  });
}

for (const v of invalid) {
  Deno.test(`verifyQuote() refuses ${v.name} with one of [${v.defects?.join(", ")}]`, async () => {
    assert.ok(v.defects && v.defects.length > 0);
    const error = expectFailure(await run(verifyQuote(v.tpm_attestation, v.payload_id)), v.defects);
    assert.equal(error.payloadId, v.payload_id);
  });
}

Deno.test("verifyQuote() reports the first failing rule of each invalid vector", async () => {
  // Rule order: BadBase64 → Malformed → BadMagic → BadType → nonce → PCR → signature.
  const order = [
    "BadBase64",
    "Malformed",
    "BadMagic",
    "BadType",
    "NonceMismatch",
    "PcrMismatch",
    "BadSignature",
  ] as const;
  for (const v of invalid) {
    const first = order.find((reason) => v.defects?.includes(reason));
    assert.ok(first);
    const error = expectFailure(await run(verifyQuote(v.tpm_attestation, v.payload_id)), [first]);
    assert.equal(error.reason, first, v.name);
  }
});

Deno.test("verifyAttestation() resolves every valid vector inside a response", async () => {
  for (const v of valid) {
    const response = {
      choices: [],
      _metadata: { payload_id: v.payload_id, tpm_attestation: v.tpm_attestation },
    };
    const result = await verifyAttestation(response, { payloadId: v.payload_id });
    assert.equal(result.payloadId, v.payload_id, v.name);
  }
});

Deno.test("verifyAttestation() rejects every invalid vector with an AttestationError", async () => {
  for (const v of invalid) {
    const response = {
      _metadata: { payload_id: v.payload_id, tpm_attestation: v.tpm_attestation },
    };
    await assert.rejects(verifyAttestation(response), (e: unknown) => {
      assert.ok(e instanceof AttestationError, v.name);
      assert.ok(v.defects?.includes(e.reason), `${v.name}: ${e.reason}`);
      return true;
    });
  }
});
