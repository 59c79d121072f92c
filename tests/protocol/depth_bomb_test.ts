/**
 * Depth bombs: JSON nested up to 10^5 deep (arrays, objects, mixed) in any field of a package,
 * of a response plaintext, of `_metadata`, of an attestation block and of an error body is
 * refused with the parser's own typed error, never a defect (a stack overflow), never a hang.
 * Seeded, so every run tries the same cases.
 */
import assert from "node:assert/strict";
import { Effect, Either, Encoding } from "effect";
import { AttestationError, KeyError, SecurityError } from "../../src/errors.ts";
import { isWithinDepth, MAX_JSON_DEPTH, parseJsonBounded } from "../../src/protocol/json.ts";
import { decodePackage, parsePackage } from "../../src/protocol/package.ts";
import { toChatCompletion } from "../../src/protocol/response.ts";
import { encodeRequest } from "../../src/protocol/request.ts";
import { verifyAttestation } from "../../src/attestation/tpm_quote.ts";
import { detailOf, parseErrorBody } from "../../src/transport/secret_scrubbing.ts";
import { importPublicKeyPem } from "../../src/keys/rsa_key_import_export.ts";
import { prng } from "../_helpers.ts";
import { nested } from "./_nested.ts";

const utf8 = new TextEncoder();

/** Seeded cases: depths from just over the bound to 10^5, every shape. */
const cases = (seed: number, count: number) => {
  const next = prng(seed);
  const shapes = ["array", "object", "mixed"] as const;
  return Array.from({ length: count }, (_, i) => {
    // Log-uniform from MAX_JSON_DEPTH + 1 to 10^5; the first cases pin both ends.
    const depth = i === 0
      ? 100_000
      : i === 1
      ? MAX_JSON_DEPTH + 1
      : Math.floor((MAX_JSON_DEPTH + 1) * (100_000 / (MAX_JSON_DEPTH + 1)) ** next());
    return { depth, shape: shapes[i % 3]!, next };
  });
};

const b64 = (n: number) => Encoding.encodeBase64(new Uint8Array(n));
const PACKAGE = {
  version: "1.0",
  algorithm: "hybrid-aes256-rsa4096",
  encrypted_payload: { ciphertext: b64(48), nonce: b64(12), tag: b64(16) },
  encrypted_aes_key: b64(256),
  key_algorithm: "RSA-OAEP-SHA256",
  payload_algorithm: "AES-256-GCM",
  processed_at: 1,
};
const PACKAGE_FIELDS = [
  "",
  "version",
  "algorithm",
  "encrypted_payload",
  "encrypted_payload.ciphertext",
  "encrypted_payload.nonce",
  "encrypted_payload.tag",
  "encrypted_payload.extra",
  "encrypted_aes_key",
  "key_algorithm",
  "payload_algorithm",
  "processed_at",
  "extra",
];

/** `value` as JSON with the field at `path` ("" = the whole value) replaced by `bomb`. */
const withBomb = (value: unknown, path: string, bomb: string): string => {
  if (path === "") return bomb;
  const marker = `"@@BOMB-${crypto.randomUUID()}@@"`;
  const copy = structuredClone(value) as Record<string, unknown>;
  const keys = path.split(".");
  let at: Record<string, unknown> = copy;
  for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>;
  at[keys.at(-1)!] = JSON.parse(marker);
  return JSON.stringify(copy).replace(marker, bomb);
};

Deno.test("isWithinDepth() and parseJsonBounded() bound nesting without recursion", () => {
  const next = prng(1);
  assert.equal(isWithinDepth(JSON.parse(nested(MAX_JSON_DEPTH, next, "mixed"))), true);
  assert.equal(isWithinDepth(JSON.parse(nested(MAX_JSON_DEPTH + 1, next, "mixed"))), false);
  assert.equal(isWithinDepth("text"), true);
  assert.equal(isWithinDepth(null), true);
  for (const shape of ["array", "object", "mixed"] as const) {
    assert.deepEqual(parseJsonBounded(nested(1_000_000, next, shape)), {
      ok: false,
      reason: "depth",
    });
  }
  assert.deepEqual(parseJsonBounded("[1,"), { ok: false, reason: "syntax" });
  assert.deepEqual(parseJsonBounded('{"a":[1,{"b":2}]}'), {
    ok: true,
    value: { a: [1, { b: 2 }] },
  });
  // A cycle (only a caller can make one) still ends: the depth grows past the bound.
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  assert.equal(isWithinDepth(cyclic), false);
});

Deno.test("parsePackage() refuses a depth bomb in any field as MalformedPackage", () => {
  for (const { depth, shape, next } of cases(11, 60)) {
    const field = PACKAGE_FIELDS[Math.floor(next() * PACKAGE_FIELDS.length)]!;
    // Pad half the bodies past 16 KiB, so that both the string and the byte path are tried.
    const padded = next() < 0.5
      ? { ...PACKAGE, encrypted_payload: { ...PACKAGE.encrypted_payload, ciphertext: b64(20_000) } }
      : PACKAGE;
    const body = utf8.encode(withBomb(padded, field, nested(depth, next, shape)));
    const result = parsePackage(body, "pid");
    assert.ok(Either.isLeft(result), `${field} at depth ${depth} was accepted`);
    assert.ok(result.left instanceof SecurityError);
    assert.equal(result.left.reason, "MalformedPackage", `${field} at depth ${depth}`);
    assert.equal(result.left.payloadId, "pid");
  }
});

Deno.test("decodePackage() refuses a deep value and names the field of a shallow wrong one", () => {
  const deep = JSON.parse(withBomb(PACKAGE, "extra", nested(100_000, prng(2), "mixed")));
  const refused = decodePackage(deep);
  assert.ok(Either.isLeft(refused));
  assert.match(refused.left.message, /nesting is deeper than 64/);
  const wrong = decodePackage(JSON.parse(withBomb(PACKAGE, "encrypted_payload.nonce", "[[1]]")));
  assert.ok(Either.isLeft(wrong));
  assert.equal(
    wrong.left.message,
    "Cannot open package: invalid or missing field encrypted_payload.nonce",
  );
});

const COMPLETION = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [{
    index: 0,
    message: { role: "assistant", content: "hi", tool_calls: [] },
    finish_reason: "stop",
  }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  _metadata: {
    model_tier: "standard",
    tpm_attestation: {
      aik_pubkey_b64: "AA==",
      quote_b64: "AA==",
      signature_b64: "AA==",
      pcr_bank: "sha256",
      pcr_values: { "0": "00" },
    },
  },
  extra: 1,
};
const PLAINTEXT_FIELDS = [
  "",
  "id",
  "object",
  "created",
  "model",
  "choices",
  "choices.0",
  "choices.0.message",
  "choices.0.message.content",
  "choices.0.message.tool_calls",
  "choices.0.extra",
  "usage",
  "usage.extra",
  "_metadata",
  "_metadata.model_tier",
  "_metadata.tpm_attestation",
  "_metadata.tpm_attestation.quote_b64",
  "_metadata.tpm_attestation.pcr_values",
  "_metadata.tpm_attestation.pcr_values.0",
  "extra",
];

Deno.test("toChatCompletion() refuses a depth bomb anywhere in the plaintext as MalformedPlaintext", () => {
  const pkg = { processedAt: 1, algorithm: "hybrid-aes256-rsa4096" } as const;
  assert.ok(Either.isRight(toChatCompletion(utf8.encode(JSON.stringify(COMPLETION)), pkg, "p")));
  for (const { depth, shape, next } of cases(12, 80)) {
    const field = PLAINTEXT_FIELDS[Math.floor(next() * PLAINTEXT_FIELDS.length)]!;
    const plaintext = utf8.encode(withBomb(COMPLETION, field, nested(depth, next, shape)));
    const result = toChatCompletion(plaintext, pkg, "pid");
    assert.ok(Either.isLeft(result), `${field} at depth ${depth} was accepted`);
    assert.ok(result.left instanceof SecurityError);
    assert.equal(result.left.reason, "MalformedPlaintext", `${field} at depth ${depth}`);
  }
});

const BLOCK_FIELDS = [
  "",
  "aik_pubkey_b64",
  "quote_b64",
  "signature_b64",
  "pcr_bank",
  "pcr_values",
  "pcr_values.0",
  "extra",
];

Deno.test("verifyAttestation() refuses a depth bomb in any field of the block as AttestationError", async () => {
  const block = COMPLETION._metadata.tpm_attestation;
  for (const { depth, shape, next } of cases(13, 40)) {
    const field = BLOCK_FIELDS[Math.floor(next() * BLOCK_FIELDS.length)]!;
    const bomb = JSON.parse(withBomb(block, field, nested(depth, next, shape)));
    const response = { _metadata: { payload_id: "pid", tpm_attestation: bomb } };
    const error = await verifyAttestation(response).catch((e: unknown) => e);
    assert.ok(error instanceof AttestationError, `${field} at depth ${depth}: ${error}`);
  }
});

Deno.test("parseErrorBody() keeps a deep error body as text, and detailOf() never overflows", () => {
  for (const { depth, shape, next } of cases(14, 40)) {
    const field = ["", "detail", "error", "detail.0"][Math.floor(next() * 4)]!;
    const text = withBomb({ detail: ["x"], error: 1 }, field, nested(depth, next, shape));
    const body = parseErrorBody(utf8.encode(text));
    assert.equal(typeof body, "string", `${field} at depth ${depth}`);
    assert.ok((body as string).length <= 501);
    assert.equal(detailOf(body), undefined);
  }
  // A caller's body (not parsed here) may be deep too.
  const deep = JSON.parse(nested(100_000, prng(3), "array"));
  assert.equal(detailOf({ detail: deep }), "error detail nested too deep");
  assert.equal(detailOf(parseErrorBody(utf8.encode('{"detail":[1,{"a":2}]}'))), '[1,{"a":2}]');
});

Deno.test("importPublicKeyPem() refuses a DER nesting bomb as a KeyError", async () => {
  // 20,000 nested SEQUENCEs would exceed the DER size cap; 4,000 fit in it and are deep enough.
  let der = new Uint8Array([0x05, 0x00]);
  for (let i = 0; i < 4_000; i++) {
    const n = der.length;
    const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
    const next = new Uint8Array(1 + length.length + n);
    next.set([0x30, ...length]);
    next.set(der, 1 + length.length);
    der = next;
  }
  const pem = `-----BEGIN PUBLIC KEY-----\n${
    Encoding.encodeBase64(der).replace(/.{64}/g, "$&\n")
  }\n-----END PUBLIC KEY-----\n`;
  const exit = await Effect.runPromiseExit(importPublicKeyPem(pem));
  assert.ok(exit._tag === "Failure");
  assert.ok(exit.cause._tag === "Fail" && exit.cause.error instanceof KeyError);
});

Deno.test("encodeRequest() turns a request JSON cannot serialize into a TypeError, never a defect", () => {
  const cyclic: Record<string, unknown> = { model: "m", messages: [] };
  cyclic.self = cyclic;
  const deep = JSON.parse(nested(100_000, prng(4), "mixed"));
  for (const request of [cyclic, { model: "m", messages: [], seed: 1n }]) {
    assert.throws(
      () => encodeRequest(request as never, "send request"),
      (e: unknown) =>
        e instanceof TypeError &&
        e.message === "Cannot send request: the request cannot be serialized as JSON",
    );
  }
  // V8 in Deno serializes this depth, Node and Bun overflow: either way, no RangeError.
  try {
    encodeRequest({ model: "m", messages: [], deep } as never, "send request");
  } catch (e) {
    assert.ok(e instanceof TypeError);
  }
});
