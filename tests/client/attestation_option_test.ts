/**
 * The client's `attestation` option against the test router, which attaches a given block.
 */
import assert from "node:assert/strict";
import type { SecureCompletionClient } from "../../src/promise/secure_completion_client.ts";
import type { ClientOptions } from "../../src/client/options.ts";
import { AttestationError } from "../../src/errors.ts";
import { vectorJson } from "../_helpers.ts";
import { withCompletionClient } from "../_client.ts";

interface QuoteVector {
  name: string;
  payload_id: string;
  expect: "valid" | "invalid";
  tpm_attestation: Record<string, unknown>;
  defects?: string[];
}
const { vectors } = await vectorJson<{ vectors: QuoteVector[] }>("tpm/quotes.json");
const valid = vectors.find((v) => v.expect === "valid")!;
const other = vectors.find((v) => v.expect === "valid" && v.payload_id !== valid.payload_id)!;
const ask = { model: "m", messages: [{ role: "user", content: "attest" }] };

const withRouter = (
  attach: ((payloadId: string) => unknown) | undefined,
  options: ClientOptions,
  body: (client: SecureCompletionClient) => Promise<void>,
): Promise<void> =>
  withCompletionClient(
    body,
    options,
    attach === undefined ? {} : { attestation: attach, tpm: true },
  );

Deno.test('attestation "require" accepts an answer whose quote is valid for its payload id', async () => {
  await withRouter(() => valid.tpm_attestation, { attestation: "require" }, async (client) => {
    const answer = await client.sendSecureRequest(ask, valid.payload_id);
    assert.equal(answer.choices[0]?.message.content, "Echo: attest");
    assert.deepEqual(answer._metadata.tpm_attestation, valid.tpm_attestation);
  });
});

Deno.test('attestation "require" refuses an answer without a quote, and returns no content', async () => {
  await withRouter(undefined, { attestation: "require" }, async (client) => {
    const error = await client.sendSecureRequest(ask, valid.payload_id).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(error instanceof AttestationError);
    assert.equal(error.reason, "Missing");
    assert.ok(!("choices" in error));
  });
});

Deno.test('attestation "require" refuses a quote bound to another request (replay)', async () => {
  await withRouter(() => other.tpm_attestation, { attestation: "require" }, async (client) => {
    const error = await client.sendSecureRequest(ask, valid.payload_id).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(error instanceof AttestationError);
    assert.equal(error.reason, "NonceMismatch");
  });
});

Deno.test('attestation "verify-if-present" accepts no quote but refuses a bad one', async () => {
  await withRouter(undefined, { attestation: "verify-if-present" }, async (client) => {
    const answer = await client.sendSecureRequest(ask, valid.payload_id);
    assert.equal(answer._metadata.tpm_attestation, undefined);
  });
  await withRouter(
    () => other.tpm_attestation,
    { attestation: "verify-if-present" },
    async (client) => {
      await assert.rejects(client.sendSecureRequest(ask, valid.payload_id), AttestationError);
    },
  );
});

Deno.test('attestation "off" (the default) keeps the block and checks nothing', async () => {
  await withRouter(() => other.tpm_attestation, {}, async (client) => {
    const answer = await client.sendSecureRequest(ask, valid.payload_id);
    assert.deepEqual(answer._metadata.tpm_attestation, other.tpm_attestation);
  });
});

Deno.test("pcrBaseline: a matching baseline passes, a different one is refused", async () => {
  const pcrs = valid.tpm_attestation.pcr_values as Record<string, string>;
  await withRouter(
    () => valid.tpm_attestation,
    { attestation: "require", pcrBaseline: pcrs },
    async (client) => {
      await client.sendSecureRequest(ask, valid.payload_id);
    },
  );
  const wrong = { ...pcrs, "7": "00".repeat(32) };
  await withRouter(
    () => valid.tpm_attestation,
    { attestation: "require", pcrBaseline: wrong },
    async (client) => {
      const error = await client.sendSecureRequest(ask, valid.payload_id).then(
        () => undefined,
        (e) => e,
      );
      assert.ok(error instanceof AttestationError);
      assert.equal(error.reason, "BaselineMismatch");
    },
  );
});
