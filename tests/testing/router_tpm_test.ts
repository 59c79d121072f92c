/**
 * `startTestRouter({ tpm })`: `maximum`-tier answers carry a software TPM quote for their payload
 * id, which the client's attestation check and `verifyAttestation()` accept.
 */
import assert from "node:assert/strict";
import { Either, Encoding } from "effect";
import type { SecureCompletionClient } from "../../src/promise/secure_completion_client.ts";
import type { ClientOptions } from "../../src/client/options.ts";
import { verifyAttestation } from "../../src/attestation/tpm_quote.ts";
import { AttestationError } from "../../src/errors.ts";
import {
  DEFAULT_PCR_VALUES,
  startTestRouter,
  type TestRouterOptions,
} from "../../src/testing/router.ts";
import { parseServeArgs } from "../../src/testing/serve.ts";
import { withCompletionClient } from "../_client.ts";

const ask = { model: "m", messages: [{ role: "user", content: "attest" }] };

const withClient = (
  routerOptions: TestRouterOptions,
  options: ClientOptions,
  body: (client: SecureCompletionClient) => Promise<void>,
): Promise<void> => withCompletionClient(body, options, routerOptions);

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
      assert.equal(error.reason, "BaselineMismatch");
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

const hasTpm2Tools = await new Deno.Command("tpm2_checkquote", {
  args: ["--version"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => o.success, () => false);
if (!hasTpm2Tools) {
  console.warn(
    "tpm2_checkquote is missing (apt-get install tpm2-tools): its router test is ignored",
  );
}

Deno.test({
  name: "the TPM test router's blocks, as sent, pass tpm2_checkquote with the AIK's TPM2B_PUBLIC",
  ignore: !hasTpm2Tools,
  fn: async () => {
    for (const aik of ["rsassa", "ecdsa"] as const) {
      await withClient({ tpm: { aik } }, { securityTier: "maximum" }, async (client) => {
        const answer = await client.sendSecureRequest(ask, crypto.randomUUID());
        const block = answer._metadata.tpm_attestation!;
        const dir = await Deno.makeTempDir({ prefix: "nomyo-router-quote-" });
        try {
          const decode = (b64: unknown) => Either.getOrThrow(Encoding.decodeBase64(String(b64)));
          await Deno.writeFile(`${dir}/aik.pub`, decode(block.aik_pubkey_b64));
          await Deno.writeFile(`${dir}/quote.bin`, decode(block.quote_b64));
          await Deno.writeFile(`${dir}/sig.bin`, decode(block.signature_b64));
          const nonce = new Uint8Array(
            await crypto.subtle.digest(
              "SHA-256",
              new TextEncoder().encode(answer._metadata.payload_id),
            ),
          ).subarray(0, 16);
          const check = (qualification: Uint8Array) =>
            new Deno.Command("tpm2_checkquote", {
              args: [
                ...["-u", `${dir}/aik.pub`, "-m", `${dir}/quote.bin`, "-s", `${dir}/sig.bin`],
                ...["-g", "sha256", "-q", Encoding.encodeHex(qualification)],
              ],
              stdout: "null",
              stderr: "null",
            }).output();
          assert.equal((await check(nonce)).success, true, `${aik}: tpm2_checkquote accepts`);
          const other = nonce.slice();
          other[0] = other[0]! ^ 1;
          assert.equal((await check(other)).success, false, `${aik}: another nonce is refused`);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      });
    }
  },
});
