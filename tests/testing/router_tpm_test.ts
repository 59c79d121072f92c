/**
 * `startTestRouter({ tpm })`: `maximum`-tier answers carry a software TPM quote for their payload
 * id, which the client's attestation check and `verifyAttestation()` accept.
 */
import assert from "node:assert/strict";
import { SecureCompletionClient } from "../../src/promise/secure_completion_client.ts";
import type { ClientOptions } from "../../src/client/options.ts";
import { verifyAttestation } from "../../src/attestation/tpm_quote.ts";
import { AttestationError } from "../../src/errors.ts";
import {
  DEFAULT_PCR_VALUES,
  startTestRouter,
  type TestRouterOptions,
} from "../../src/testing/router.ts";
import { parseServeArgs } from "../../src/testing/serve.ts";

const ask = { model: "m", messages: [{ role: "user", content: "attest" }] };

const withClient = async (
  routerOptions: TestRouterOptions,
  options: ClientOptions,
  body: (client: SecureCompletionClient) => Promise<void>,
) => {
  const router = await startTestRouter(routerOptions);
  const client = new SecureCompletionClient({
    baseUrl: router.url,
    allowHttp: true,
    keySize: 2048,
    maxRetries: 0,
    ...options,
  });
  try {
    await body(client);
  } finally {
    await client.dispose();
    await router.close();
  }
};

for (const aik of ["rsassa", "rsapss", "ecdsa"] as const) {
  Deno.test(`startTestRouter({ tpm: { aik: "${aik}" } }) attests maximum-tier answers`, async () => {
    await withClient(
      { tpm: { aik } },
      { securityTier: "maximum", attestation: "require", pcrBaseline: DEFAULT_PCR_VALUES },
      async (client) => {
        const answer = await client.sendSecureRequest(ask, crypto.randomUUID());
        assert.equal(answer.choices[0]?.message.content, "Echo: attest");
        const result = await verifyAttestation(answer, { pcrBaseline: DEFAULT_PCR_VALUES });
        assert.equal(result.signatureScheme, aik);
        assert.equal(result.payloadId, answer._metadata.payload_id);
        assert.deepEqual(result.pcrs, DEFAULT_PCR_VALUES);
      },
    );
  });
}

Deno.test("startTestRouter({ tpm: true }) attests only the maximum tier, with a fresh AIK each time", async () => {
  await withClient({ tpm: true }, { attestation: "verify-if-present" }, async (client) => {
    const standard = await client.sendSecureRequest(
      ask,
      crypto.randomUUID(),
      undefined,
      "standard",
    );
    assert.equal(standard._metadata.tpm_attestation, undefined);
    const first = await client.sendSecureRequest(ask, crypto.randomUUID(), undefined, "maximum");
    const second = await client.sendSecureRequest(ask, crypto.randomUUID(), undefined, "maximum");
    assert.ok(first._metadata.tpm_attestation !== undefined);
    assert.notEqual(
      first._metadata.tpm_attestation.aik_pubkey_b64,
      second._metadata.tpm_attestation?.aik_pubkey_b64,
    );
    assert.equal((await verifyAttestation(first)).signatureScheme, "rsassa");
  });
});

Deno.test("startTestRouter({ tpm: { pcrValues } }) quotes those PCRs; a baseline of others fails", async () => {
  const pcrValues = { "7": "aa".repeat(32), "14": "bb".repeat(32) };
  await withClient(
    { tpm: { aik: "ecdsa", pcrValues } },
    { securityTier: "maximum", attestation: "require", pcrBaseline: DEFAULT_PCR_VALUES },
    async (client) => {
      const error = await client.sendSecureRequest(ask, crypto.randomUUID()).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof AttestationError);
      assert.equal(error.reason, "baseline_mismatch");
    },
  );
  await withClient(
    { tpm: { pcrValues } },
    { securityTier: "maximum", attestation: "require", pcrBaseline: pcrValues },
    async (client) => {
      const answer = await client.sendSecureRequest(ask, crypto.randomUUID());
      assert.deepEqual(answer._metadata.tpm_attestation?.pcr_values, pcrValues);
    },
  );
});

Deno.test("startTestRouter() refuses a tpm option that is not a software TPM", async () => {
  const bad: unknown[] = [{ aik: "dsa" }, { pcrValues: { "7": "xyz" } }, { pcrValues: {} }, 1];
  for (const tpm of bad) {
    await assert.rejects(startTestRouter({ tpm } as TestRouterOptions), TypeError);
  }
});

Deno.test("parseServeArgs() reads --tpm and --tpm=SCHEME", () => {
  assert.equal(parseServeArgs(["--tpm"]).tpm, true);
  assert.equal(parseServeArgs(["--tpm"]).tpmAik, undefined);
  assert.equal(parseServeArgs(["--tpm=ecdsa"]).tpmAik, "ecdsa");
  assert.throws(() => parseServeArgs(["--tpm=sha1"]), TypeError);
});
