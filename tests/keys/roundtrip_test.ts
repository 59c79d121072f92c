import assert from "node:assert/strict";
import { Effect } from "effect";
import { layerSecureBytes } from "../../src/crypto/secure_bytes.ts";
import type { KeyErrorReason } from "../../src/errors.ts";
import { parsePem } from "../../src/keys/pem.ts";
import {
  exportPrivateKeyPem,
  generateRsaKeyPair,
  importPrivateKeyPem,
  type RsaKeyPair,
  type RsaKeySize,
} from "../../src/keys/mod.ts";
import { assertNoSecrets, failWith, openssl, readVector, succeed } from "./_helpers.ts";
import { OPENSSL_MISSING, testNeeding } from "../_tools.ts";

const PASSWORD = "tr0ub4dor&3 but longer";
const FAST = 1000; // PBKDF2 iterations for quick round trips

let shared: Promise<RsaKeyPair> | undefined;
/** One extractable 2048-bit pair for the whole file (key generation is slow). */
const sharedPair = (): Promise<RsaKeyPair> =>
  shared ??= succeed(generateRsaKeyPair({ bits: 2048, extractable: true }));

/** Exports inside a scope and returns a copy of the PEM bytes (the lent ones are zeroed). */
const exportPem = (
  pair: RsaKeyPair,
  options?: { readonly password?: string; readonly iterations?: number },
): Effect.Effect<Uint8Array, unknown> =>
  Effect.scoped(Effect.map(exportPrivateKeyPem(pair, options), (b) => b.slice())).pipe(
    Effect.provide(layerSecureBytes),
  );

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

Deno.test("generateRsaKeyPair() makes a 2048-bit RSA-OAEP SHA-256 pair with e = 65537", async () => {
  const pair = await sharedPair();
  assert.equal(pair.publicKey.bits, 2048);
  const alg = pair.publicKey.key.algorithm as RsaHashedKeyAlgorithm;
  assert.equal(alg.name, "RSA-OAEP");
  assert.equal(alg.hash.name, "SHA-256");
  assert.deepEqual(alg.publicExponent, new Uint8Array([1, 0, 1]));
  assert.deepEqual([...pair.publicKey.key.usages].sort(), ["encrypt", "wrapKey"]);
  assert.deepEqual([...pair.privateKey.usages].sort(), ["decrypt", "unwrapKey"]);
  assert.equal(pair.privateKey.extractable, true);
  assert.ok(pair.publicKey.pem.startsWith("-----BEGIN PUBLIC KEY-----\n"));
  assert.ok(pair.publicKey.pem.endsWith("\n-----END PUBLIC KEY-----\n"));
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey.key));
  assert.deepEqual(pair.publicKey.spki, spki);
});

Deno.test("generateRsaKeyPair() makes 4096-bit, non-extractable keys by default", async () => {
  const pair = await succeed(generateRsaKeyPair());
  assert.equal(pair.publicKey.bits, 4096);
  assert.equal(pair.privateKey.extractable, false);
  const e = await failWith(exportPem(pair), "NotExtractable");
  assert.match(e.message, /not extractable/);
});

Deno.test("generateRsaKeyPair() refuses sizes other than 2048 and 4096", async () => {
  for (const bits of [0, 1024, 2047, 3072, 8192, Number.NaN]) {
    const e = await failWith(generateRsaKeyPair({ bits: bits as RsaKeySize }), "WeakKey");
    assert.equal(e.message, "Cannot generate key pair: the size must be 2048 or 4096 bits");
  }
});

Deno.test("exportPrivateKeyPem() writes PKCS#8 PEM that importPrivateKeyPem() reads back", async () => {
  const pair = await sharedPair();
  const pem = await succeed(exportPem(pair));
  const t = text(pem);
  assert.ok(t.startsWith("-----BEGIN PRIVATE KEY-----\n"));
  assert.ok(t.endsWith("\n-----END PRIVATE KEY-----\n"));
  const body = t.split("\n").slice(1, -2);
  assert.ok(body.slice(0, -1).every((l) => l.length === 64));
  const again = await succeed(importPrivateKeyPem(pem));
  assert.equal(again.publicKey.fingerprint, pair.publicKey.fingerprint);
  assert.deepEqual(again.publicKey.spki, pair.publicKey.spki);
  assert.equal(again.privateKey.extractable, false);
  const exportable = await succeed(importPrivateKeyPem(t, { extractable: true }));
  assert.deepEqual(await succeed(exportPem(exportable)), pem, "export is deterministic");
});

Deno.test("exportPrivateKeyPem() with a password writes encrypted PKCS#8 that reads back", async () => {
  const pair = await sharedPair();
  const pem = await succeed(exportPem(pair, { password: PASSWORD, iterations: FAST }));
  assert.ok(text(pem).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
  const again = await succeed(importPrivateKeyPem(pem, { password: PASSWORD }));
  assert.equal(again.publicKey.fingerprint, pair.publicKey.fingerprint);
  const wrong = await failWith(
    importPrivateKeyPem(pem, { password: PASSWORD + "?" }),
    "DecryptionFailed",
  );
  assertNoSecrets(wrong, [PASSWORD]);
  await failWith(importPrivateKeyPem(pem), "PasswordRequired");
});

Deno.test("exportPrivateKeyPem() uses 600,000 PBKDF2 iterations by default", async () => {
  const pair = await sharedPair();
  const pem = await succeed(exportPem(pair, { password: PASSWORD }));
  const { der } = await succeed(parsePem(pem));
  // ... 04 10 <salt:16> 02 03 09 27 c0 (600000)
  const hex = Array.from(der.subarray(0, 80), (b) => b.toString(16).padStart(2, "0")).join("");
  assert.ok(hex.includes("02030927c0"));
  const again = await succeed(importPrivateKeyPem(pem, { password: PASSWORD }));
  assert.equal(again.publicKey.fingerprint, pair.publicKey.fingerprint);
});

Deno.test("exportPrivateKeyPem() lends the PEM bytes to the scope: zeroed when it closes", async () => {
  const pair = await sharedPair();
  let lent: Uint8Array | undefined;
  await succeed(
    Effect.scoped(Effect.map(exportPrivateKeyPem(pair), (b) => {
      lent = b;
      assert.ok(text(b).startsWith("-----BEGIN PRIVATE KEY-----"));
    })).pipe(Effect.provide(layerSecureBytes)),
  );
  assert.ok(lent !== undefined && lent.length > 1000 && lent.every((b) => b === 0));
});

Deno.test("exportPrivateKeyPem() refuses short passwords and bad iteration counts before exporting", async () => {
  const pair = await sharedPair();
  for (const password of ["", "1234567", "ab"]) {
    const e = await failWith(exportPem(pair, { password, iterations: FAST }), "PasswordTooShort");
    if (password.length >= 6) assertNoSecrets(e, [password]);
  }
  for (const iterations of [1, 999, 10_000_001, 1.5]) {
    await failWith(exportPem(pair, { password: PASSWORD, iterations }), "UnsupportedEncryption");
  }
});

Deno.test("exportPrivateKeyPem() refuses a pair whose halves do not belong together", async () => {
  const pair = await sharedPair();
  const other = await succeed(importPrivateKeyPem(await readVector("rsa2048_pkcs1.pem")));
  await failWith(
    exportPem({ privateKey: pair.privateKey, publicKey: other.publicKey }),
    "Mismatch",
  );
});

Deno.test("exportPrivateKeyPem() refuses keys that are not RSA-OAEP SHA-256 private keys", async () => {
  const pair = await sharedPair();
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", pair.privateKey);
  const sha1 = await crypto.subtle.importKey(
    "pkcs8",
    pkcs8,
    { name: "RSA-OAEP", hash: "SHA-1" },
    true,
    [
      "decrypt",
    ],
  );
  const reasons: KeyErrorReason[] = [];
  for (const privateKey of [sha1, pair.publicKey.key]) {
    reasons.push((await failWith(exportPem({ privateKey, publicKey: pair.publicKey }))).reason);
  }
  assert.deepEqual(reasons, ["NotRsa", "NotRsa"]);
});

testNeeding(OPENSSL_MISSING)("exportPrivateKeyPem() files open with `openssl pkey`", async () => {
  const pair = await sharedPair();
  const dir = await Deno.makeTempDir();
  try {
    const plain = `${dir}/plain.pem`;
    const enc = `${dir}/enc.pem`;
    await Deno.writeFile(plain, await succeed(exportPem(pair)), { mode: 0o600 });
    await Deno.writeFile(
      enc,
      await succeed(exportPem(pair, { password: PASSWORD, iterations: FAST })),
      {
        mode: 0o600,
      },
    );
    const a = await openssl(["pkey", "-in", plain, "-pubout"]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, pair.publicKey.pem);
    const b = await openssl(["pkey", "-in", enc, "-passin", `pass:${PASSWORD}`, "-pubout"]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout, pair.publicKey.pem);
    const wrong = await openssl([
      "pkey",
      "-in",
      enc,
      "-passin",
      "pass:not the password",
      "-pubout",
    ]);
    assert.notEqual(wrong.code, 0);
    const parsed = await openssl(["asn1parse", "-in", enc]);
    assert.match(parsed.stdout ?? "", /PBES2[\s\S]*PBKDF2[\s\S]*hmacWithSHA256[\s\S]*aes-256-cbc/);
    // And the other way: openssl re-encrypts our key with its defaults, we read it.
    const re = await openssl([
      "pkcs8",
      "-topk8",
      "-in",
      plain,
      "-v2",
      "aes-256-cbc",
      "-passout",
      `pass:${PASSWORD}`,
    ]);
    assert.equal(re.code, 0, re.stderr);
    const back = await succeed(importPrivateKeyPem(re.stdout ?? "", { password: PASSWORD }));
    assert.equal(back.publicKey.fingerprint, pair.publicKey.fingerprint);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
