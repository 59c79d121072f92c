/**
 * `SecureCompletionClient.decryptResponse()` against the protocol vectors (sealed by an
 * independent implementation): each ok package opens to exactly its plaintext plus the
 * client's `_metadata`, as the Python and JavaScript peers return it; each reject package and
 * raw body is a `SecurityError`.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SecurityError } from "../../src/errors.ts";
import { SecureCompletionClient } from "../../src/promise/secure_completion_client.ts";
import { vectorJson, vectorText } from "../_helpers.ts";

interface ResponseVector {
  readonly name: string;
  readonly package: { readonly processed_at?: number };
  readonly expect: "ok" | "reject";
  readonly plaintext?: string;
}
interface Responses {
  readonly packages: ReadonlyArray<ResponseVector>;
  readonly raw_bodies: ReadonlyArray<{ readonly name: string; readonly body: string }>;
}

const responses = await vectorJson<Responses>("protocol/responses.json");
const utf8 = new TextEncoder();

/** Runs `body` with a client holding the vectors' client key (loaded from a 0600 file). */
const withVectorKey = async (
  body: (client: SecureCompletionClient) => Promise<void>,
): Promise<void> => {
  const dir = await mkdtemp(join(tmpdir(), "nomyo-decrypt-"));
  const client = new SecureCompletionClient({ keySize: 2048 });
  try {
    const path = join(dir, "private_key.pem");
    await writeFile(path, await vectorText("protocol/client_private_key.pem"), { mode: 0o600 });
    await client.loadKeys(path);
    await body(client);
  } finally {
    await client.dispose();
    await rm(dir, { recursive: true, force: true });
  }
};

Deno.test("decryptResponse() returns every ok vector's plaintext exactly, plus _metadata", async () => {
  const ok = responses.packages.filter((v) => v.expect === "ok");
  assert.ok(ok.length >= 8);
  await withVectorKey(async (client) => {
    for (const v of ok) {
      const answer = await client.decryptResponse(
        utf8.encode(JSON.stringify(v.package)),
        "pid-1",
      );
      const expected = JSON.parse(v.plaintext!) as Record<string, unknown>;
      const fromRouter = (expected._metadata ?? {}) as Record<string, unknown>;
      // The same keys and values as the plaintext, no `refusal` or `logprobs` added.
      assert.deepStrictEqual(
        { ...answer, _metadata: undefined },
        { ...expected, _metadata: undefined },
        v.name,
      );
      assert.deepStrictEqual(answer._metadata, {
        ...fromRouter,
        payload_id: "pid-1",
        processed_at: v.package.processed_at,
        is_encrypted: true,
        encryption_algorithm: "hybrid-aes256-rsa4096",
        response_status: "success",
      }, v.name);
    }
  });
  // The __proto__ vector's key stays an own property: nothing reached Object.prototype.
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("decryptResponse() opens an ArrayBuffer body the same", async () => {
  const v = responses.packages.find((v) => v.expect === "ok")!;
  await withVectorKey(async (client) => {
    const bytes = utf8.encode(JSON.stringify(v.package));
    const answer = await client.decryptResponse(bytes.buffer, "pid-2");
    assert.deepStrictEqual(
      { ...answer, _metadata: undefined },
      { ...JSON.parse(v.plaintext!), _metadata: undefined },
    );
    assert.equal(answer._metadata.payload_id, "pid-2");
  });
});

Deno.test("decryptResponse() rejects every reject vector and raw body with a SecurityError", async () => {
  const rejects = responses.packages.filter((v) => v.expect === "reject");
  assert.ok(rejects.length >= 20);
  const bodies = [
    ...rejects.map((v) => ({ name: v.name, bytes: utf8.encode(JSON.stringify(v.package)) })),
    ...responses.raw_bodies.map((r) => ({ name: r.name, bytes: utf8.encode(r.body) })),
  ];
  await withVectorKey(async (client) => {
    for (const { name, bytes } of bodies) {
      await assert.rejects(
        client.decryptResponse(bytes, "pid-r"),
        (e) => e instanceof SecurityError && e.payloadId === "pid-r",
        name,
      );
    }
  });
});
