import assert from "node:assert/strict";
import { Effect } from "effect";
import type { KeyErrorReason } from "../../src/errors.ts";
import {
  contextTag,
  derBitString,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  derSmallInteger,
  derUnsignedInteger,
  type DerValue,
  encodeDer,
  parseDer,
  readBitString,
  readNested,
  readSequence,
  readUnsignedInteger,
} from "../../src/keys/der.ts";
import { formatPem, parsePem } from "../../src/keys/pem.ts";
import { decryptPkcs8, KEY_DECRYPTION_FAILED_MESSAGE } from "../../src/keys/pkcs8_encrypted.ts";
import {
  fingerprintSpki,
  importPrivateKeyPem,
  importPublicKeyPem,
  importPublicKeySpki,
  type RsaKeyPair,
  type RsaPublicKey,
} from "../../src/keys/mod.ts";
import {
  assertNoSecrets,
  bodyProbes,
  failWith,
  prng,
  readVector,
  readVectorBytes,
  succeed,
} from "./_helpers.ts";

interface Entry {
  readonly file: string;
  readonly public?: string;
  readonly kind?: string;
  readonly bits?: number | null;
  readonly password?: string | null;
  readonly expect: "load" | "reject";
  readonly spki_sha256?: string;
  readonly why?: string;
  readonly reason?: KeyErrorReason;
}

const PASSWORD = "correct horse battery staple";
const RSA_OID = "1.2.840.113549.1.1.1";

const manifest = async (name: string): Promise<Entry[]> => JSON.parse(await readVector(name)).keys;

const derOf = async (file: string): Promise<Uint8Array<ArrayBuffer>> =>
  (await succeed(parsePem(await readVector(file)))).der;

/** The reason a shared-manifest rejection must have, from its `why`. */
const expectedReason = (e: Entry): KeyErrorReason => {
  if (e.reason !== undefined) return e.reason;
  const why = e.why ?? "";
  if (why.includes("wrong password")) return "DecryptionFailed";
  if (why.includes("no password")) return "PasswordRequired";
  if (why.includes("DES-EDE3-CBC")) return "UnsupportedEncryption";
  if (why.includes("under 2048")) return "WeakKey";
  if (why.includes("not RSA") || why.includes("not an RSA")) return "NotRsa";
  if (why.includes("not DER")) return "Malformed";
  throw new Error(`no expected reason for ${e.file}: ${why}`);
};

const checkPublic = (k: RsaPublicKey): void => {
  assert.equal(k.key.type, "public");
  assert.equal(k.key.extractable, true);
  assert.deepEqual([...k.key.usages].sort(), ["encrypt", "wrapKey"]);
  const alg = k.key.algorithm as RsaHashedKeyAlgorithm;
  assert.equal(alg.name, "RSA-OAEP");
  assert.equal(alg.hash.name, "SHA-256");
  assert.equal(alg.modulusLength, k.bits);
  assert.match(k.fingerprint, /^[0-9a-f]{64}$/);
  assert.equal(k.pem, formatPem("PUBLIC KEY", k.spki));
};

const checkPair = async (pair: RsaKeyPair, extractable: boolean): Promise<void> => {
  checkPublic(pair.publicKey);
  const k = pair.privateKey;
  assert.equal(k.type, "private");
  assert.equal(k.extractable, extractable);
  assert.deepEqual([...k.usages].sort(), ["decrypt", "unwrapKey"]);
  assert.equal((k.algorithm as RsaHashedKeyAlgorithm).hash.name, "SHA-256");
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const sealed = await crypto.subtle.encrypt({ name: "RSA-OAEP" }, pair.publicKey.key, secret);
  assert.deepEqual(
    new Uint8Array(await crypto.subtle.decrypt({ name: "RSA-OAEP" }, k, sealed)),
    secret,
  );
};

const runEntry = async (e: Entry): Promise<void> => {
  const label = `${e.file} (${e.why ?? e.expect})`;
  const input = await readVectorBytes(e.file);
  const isPublic = e.kind === "public";
  const eff = isPublic
    ? importPublicKeyPem(input)
    : Effect.map(importPrivateKeyPem(input, { password: e.password ?? undefined }), (p) =>
      p.publicKey);
  if (e.expect === "reject") {
    const err = await failWith(eff, expectedReason(e)).catch((x) => {
      throw new Error(`${label}: ${x}`);
    });
    assertNoSecrets(err, [
      ...(e.password ? [e.password] : []),
      ...bodyProbes(new TextDecoder().decode(input)),
    ]);
    return;
  }
  const key = await succeed(eff);
  assert.equal(key.bits, e.bits, label);
  assert.equal(key.fingerprint, e.spki_sha256, label);
  assert.equal(await succeed(fingerprintSpki(key.spki)), e.spki_sha256);
  if (e.public !== undefined) {
    assert.deepEqual(
      key.spki,
      await derOf(e.public),
      `${label}: derived SPKI differs from ${e.public}`,
    );
    assert.equal(key.pem, await readVector(e.public), `${label}: PEM differs from ${e.public}`);
  }
};

Deno.test("every shared manifest entry loads or is refused as it says", async () => {
  const entries = await manifest("manifest.json");
  assert.equal(entries.length, 13);
  for (const e of entries) await runEntry(e);
});

Deno.test("every extra vector (PRFs, AES sizes, scrypt, PBES1, legacy PEM) loads or is refused as it says", async () => {
  for (const e of await manifest("extra.json")) await runEntry(e);
});

Deno.test("importPrivateKeyPem() makes RSA-OAEP SHA-256 keys that work together, extractable only when asked", async () => {
  for (const file of ["rsa2048_pkcs1.pem", "rsa4096_pkcs8.pem"]) {
    const text = await readVector(file);
    await checkPair(await succeed(importPrivateKeyPem(text)), false);
    await checkPair(await succeed(importPrivateKeyPem(text, { extractable: true })), true);
  }
  const enc = await readVector("rsa3072_pkcs8_encrypted_openssl.pem");
  await checkPair(await succeed(importPrivateKeyPem(enc, { password: PASSWORD })), false);
});

Deno.test("importPrivateKeyPem() ignores a password given for an unencrypted key", async () => {
  const pair = await succeed(
    importPrivateKeyPem(await readVector("rsa2048_pkcs1.pem"), { password: PASSWORD }),
  );
  assert.equal(pair.publicKey.bits, 2048);
});

Deno.test("importPrivateKeyPem() does not modify the caller's bytes", async () => {
  const bytes = await readVectorBytes("rsa2048_pkcs1.pem");
  const copy = bytes.slice();
  await succeed(importPrivateKeyPem(bytes));
  assert.deepEqual(bytes, copy);
});

Deno.test("importPublicKeySpki() reads DER and copies it", async () => {
  const der = await derOf("rsa4096_spki.pem");
  const key = await succeed(importPublicKeySpki(der));
  checkPublic(key);
  assert.equal(key.fingerprint, "2602aeb9199ac21f064e9c4ec60c7d12939ace4477c6be2cee88fc0fc5294cd2");
  der.fill(0);
  assert.notEqual(key.spki[0], 0);
});

Deno.test("importPublicKeyPem() and importPrivateKeyPem() refuse the other kind of PEM", async () => {
  const e = await failWith(importPublicKeyPem(await readVector("rsa2048_pkcs1.pem")), "Malformed");
  assertNoSecrets(e, bodyProbes(await readVector("rsa2048_pkcs1.pem")));
  await failWith(importPrivateKeyPem(await readVector("rsa4096_spki.pem")), "Malformed");
});

// ---------------------------------------------------------------------------------------------
// Keys built with the DER writer from a real modulus.

const realNumbers = async (): Promise<{ n: Uint8Array; e: Uint8Array }> =>
  await succeed(
    parseDer(await derOf("rsa2048_spki.pem"), "test", (root) => {
      const [, bits] = readSequence(root, "spki", 2);
      const [n, e] = readSequence(readNested(readBitString(bits, "bits")), "rsa", 2);
      return { n: readUnsignedInteger(n, "n").slice(), e: readUnsignedInteger(e, "e").slice() };
    }),
  );

const be = (v: number): Uint8Array => {
  const out: number[] = [];
  let x = v;
  do {
    out.unshift(x % 256);
    x = Math.floor(x / 256);
  } while (x > 0);
  return new Uint8Array(out);
};

const spkiOf = (
  n: Uint8Array,
  e: Uint8Array,
  algorithm: DerValue = derSequence(derOid(RSA_OID), derNull()),
) =>
  encodeDer(
    derSequence(
      algorithm,
      derBitString(encodeDer(derSequence(derUnsignedInteger(n), derUnsignedInteger(e)))),
    ),
  );

/** The nine INTEGERs of the 2048-bit PKCS#1 vector, as magnitudes. */
const realPrivateFields = async (): Promise<Uint8Array[]> =>
  await succeed(
    parseDer(await derOf("rsa2048_pkcs1.pem"), "test", (root) =>
      readSequence(root, "rsa", 9).map((f) =>
        readUnsignedInteger(f, "f").slice()
      )),
  );

const pkcs1Of = (fields: ReadonlyArray<Uint8Array>): Uint8Array<ArrayBuffer> =>
  encodeDer(derSequence(...fields.map((f) => derUnsignedInteger(f))));

const pkcs8Of = (pkcs1: Uint8Array, ...extra: DerValue[]): Uint8Array<ArrayBuffer> =>
  encodeDer(
    derSequence(
      derSmallInteger(
        extra.length > 0 && extra.some((x) => "parts" in x && x.tag === 0x81) ? 1 : 0,
      ),
      derSequence(derOid(RSA_OID), derNull()),
      derOctetString(pkcs1),
      ...extra,
    ),
  );

Deno.test("importPublicKeySpki() accepts e = 65537 from a key built with the DER writer", async () => {
  const { n, e } = await realNumbers();
  const key = await succeed(importPublicKeySpki(spkiOf(n, e)));
  assert.deepEqual(key.spki, await derOf("rsa2048_spki.pem"));
});

Deno.test("importPublicKeySpki() refuses e = 1, 3 and other small or even exponents", async () => {
  const { n } = await realNumbers();
  for (const e of [0, 1, 2, 3, 17, 65535, 65536, 65538, 2 ** 32]) {
    const err = await failWith(importPublicKeySpki(spkiOf(n, be(e))), "WeakKey");
    assert.match(err.message, /^Cannot import public key: the public exponent/);
  }
  await succeed(importPublicKeySpki(spkiOf(n, be(65539))));
  await succeed(importPublicKeySpki(spkiOf(n, be(2 ** 32 + 1))));
});

Deno.test("importPublicKeySpki() refuses an exponent not below the modulus, an even or short modulus", async () => {
  const { n, e } = await realNumbers();
  await failWith(importPublicKeySpki(spkiOf(n, n)), "Malformed");
  const even = n.slice();
  even[even.length - 1]! &= 0xfe;
  await failWith(importPublicKeySpki(spkiOf(even, e)), "Malformed");
  const short = await failWith(importPublicKeySpki(spkiOf(n.subarray(1), e)), "WeakKey");
  assert.match(short.message, /2040 bits, under 2048/);
  const big = new Uint8Array(2049).fill(0xff);
  await failWith(importPublicKeySpki(spkiOf(big, e)), "Malformed");
});

Deno.test("importPublicKeySpki() refuses id-RSAES-OAEP and id-RSASSA-PSS keys as not plain RSA", async () => {
  const { n, e } = await realNumbers();
  const oaep = await failWith(
    importPublicKeySpki(spkiOf(n, e, derSequence(derOid("1.2.840.113549.1.1.7"), derSequence()))),
    "NotRsa",
  );
  assert.match(oaep.message, /id-RSAES-OAEP/);
  const pss = await failWith(
    importPublicKeySpki(spkiOf(n, e, derSequence(derOid("1.2.840.113549.1.1.10")))),
    "NotRsa",
  );
  assert.match(pss.message, /id-RSASSA-PSS/);
});

Deno.test("importPublicKeySpki() refuses rsaEncryption without NULL parameters and trailing bytes", async () => {
  const { n, e } = await realNumbers();
  await failWith(importPublicKeySpki(spkiOf(n, e, derSequence(derOid(RSA_OID)))), "Malformed");
  await failWith(
    importPublicKeySpki(spkiOf(n, e, derSequence(derOid(RSA_OID), derSmallInteger(0)))),
    "Malformed",
  );
  const good = spkiOf(n, e);
  const trailing = new Uint8Array(good.length + 1);
  trailing.set(good);
  await failWith(importPublicKeySpki(trailing), "Malformed");
});

Deno.test("importPrivateKeyPem() refuses PKCS#1 and PKCS#8 keys with e = 3 or e = 1", async () => {
  const fields = await realPrivateFields();
  for (const e of [1, 3]) {
    const weak = [...fields];
    weak[2] = be(e);
    const pkcs1 = pkcs1Of(weak);
    const a = await failWith(importPrivateKeyPem(formatPem("RSA PRIVATE KEY", pkcs1)), "WeakKey");
    assert.match(
      a.message,
      new RegExp(`^Cannot import private key: the public exponent ${e} is too small`),
    );
    await failWith(importPrivateKeyPem(formatPem("PRIVATE KEY", pkcs8Of(pkcs1))), "WeakKey");
  }
});

Deno.test("importPrivateKeyPem() reads PKCS#8 with attributes and a v2 public key, refuses other fields", async () => {
  const pkcs1 = pkcs1Of(await realPrivateFields());
  const attrs = { tag: contextTag(0, true), children: [] };
  const pub = { tag: contextTag(1, false), parts: [new Uint8Array([0])] };
  await succeed(importPrivateKeyPem(formatPem("PRIVATE KEY", pkcs8Of(pkcs1))));
  await succeed(importPrivateKeyPem(formatPem("PRIVATE KEY", pkcs8Of(pkcs1, attrs))));
  await succeed(importPrivateKeyPem(formatPem("PRIVATE KEY", pkcs8Of(pkcs1, attrs, pub))));
  const v0WithPub = encodeDer(
    derSequence(
      derSmallInteger(0),
      derSequence(derOid(RSA_OID), derNull()),
      derOctetString(pkcs1),
      pub,
    ),
  );
  await failWith(importPrivateKeyPem(formatPem("PRIVATE KEY", v0WithPub)), "Malformed");
  await failWith(
    importPrivateKeyPem(formatPem("PRIVATE KEY", pkcs8Of(pkcs1, derNull()))),
    "Malformed",
  );
  const v2 = encodeDer(
    derSequence(derSmallInteger(2), derSequence(derOid(RSA_OID), derNull()), derOctetString(pkcs1)),
  );
  await failWith(importPrivateKeyPem(formatPem("PRIVATE KEY", v2)), "Malformed");
});

Deno.test("importPrivateKeyPem() refuses multi-prime, zero and negative fields", async () => {
  const fields = await realPrivateFields();
  const multi = [...fields];
  multi[0] = be(1);
  const m = await failWith(
    importPrivateKeyPem(formatPem("RSA PRIVATE KEY", pkcs1Of(multi))),
    "Malformed",
  );
  assert.match(m.message, /multi-prime/);
  const zero = [...fields];
  zero[4] = be(0);
  await failWith(importPrivateKeyPem(formatPem("RSA PRIVATE KEY", pkcs1Of(zero))), "Malformed");
  const negative = encodeDer(
    derSequence(
      ...fields.map((f, i) =>
        i === 3 ? { tag: 0x02, parts: [new Uint8Array([0x80])] } : derUnsignedInteger(f)
      ),
    ),
  );
  await failWith(importPrivateKeyPem(formatPem("RSA PRIVATE KEY", negative)), "Malformed");
});

Deno.test("importPrivateKeyPem() refuses a key whose prime was corrupted (pairwise check)", async () => {
  const fields = await realPrivateFields();
  // d, p, q. Deno recomputes the CRT values (dP, dQ, qInv) from p and q, so corrupting those is
  // harmless there; runtimes that use them fail the same pairwise check.
  for (const i of [3, 4, 5]) {
    const bad = fields.map((f) => f.slice());
    bad[i]![10]! ^= 0x01;
    const e = await failWith(
      importPrivateKeyPem(formatPem("RSA PRIVATE KEY", pkcs1Of(bad))),
      "Malformed",
    );
    assertNoSecrets(e, bodyProbes(formatPem("RSA PRIVATE KEY", pkcs1Of(bad))));
  }
});

Deno.test("importPrivateKeyPem() gives the decryption error for a corrupted prime inside an encrypted file", async () => {
  const text = await readVector("rsa3072_pkcs8_encrypted_openssl.pem");
  const der = await derOf("rsa3072_pkcs8_encrypted_openssl.pem");
  // Where prime1 sits in the plaintext, and where the ciphertext sits in the file.
  const primeOffset = await succeed(
    Effect.scoped(
      Effect.flatMap(decryptPkcs8(der, PASSWORD), (plain) =>
        parseDer(plain, "test", (root) => {
          const inner = readNested(root.children[2]!.contents);
          return inner.children[4]!.contents.byteOffset;
        })),
    ),
  );
  const ciphertextOffset = der.length - 1808;
  const corrupted = der.slice();
  corrupted[ciphertextOffset + primeOffset + 20]! ^= 0x01; // garbles a block of prime1, flips a bit of the next
  const a = await failWith(
    importPrivateKeyPem(formatPem("ENCRYPTED PRIVATE KEY", corrupted), { password: PASSWORD }),
    "DecryptionFailed",
  );
  const b = await failWith(
    importPrivateKeyPem(text, { password: PASSWORD + "!" }),
    "DecryptionFailed",
  );
  assert.equal(a.message, KEY_DECRYPTION_FAILED_MESSAGE);
  assert.equal(b.message, a.message);
  assertNoSecrets(a, [PASSWORD]);
});

Deno.test("importPrivateKeyPem() gives identical errors for a wrong password and a corrupted file", async () => {
  const text = await readVector("rsa4096_pkcs8_encrypted.pem");
  const der = await derOf("rsa4096_pkcs8_encrypted.pem");
  const corrupted = der.slice();
  corrupted[corrupted.length - 1]! ^= 0x55;
  const wrong = await failWith(
    importPrivateKeyPem(text, { password: "correct horse battery staplex" }),
    "DecryptionFailed",
  );
  const bad = await failWith(
    importPrivateKeyPem(formatPem("ENCRYPTED PRIVATE KEY", corrupted), { password: PASSWORD }),
    "DecryptionFailed",
  );
  assert.equal(wrong.message, bad.message);
  assert.equal(wrong.reason, bad.reason);
  assert.equal(wrong._tag, bad._tag);
  assertNoSecrets(wrong, ["correct horse battery staplex", PASSWORD, ...bodyProbes(text)]);
  assertNoSecrets(bad, [PASSWORD, ...bodyProbes(text)]);
});

Deno.test("importPrivateKeyPem() refuses every truncation of a real PKCS#1 key with a KeyError", async () => {
  const der = await derOf("rsa2048_pkcs1.pem");
  const probes = bodyProbes(await readVector("rsa2048_pkcs1.pem"));
  for (let len = 0; len < der.length; len++) {
    const e = await failWith(
      importPrivateKeyPem(formatPem("RSA PRIVATE KEY", der.slice(0, len))),
      "Malformed",
    );
    if (len % 97 === 0) assertNoSecrets(e, probes);
  }
});

Deno.test("importPublicKeySpki() refuses every truncation of a real SPKI with a KeyError", async () => {
  const der = await derOf("rsa4096_spki.pem");
  for (let len = 0; len < der.length; len++) {
    await failWith(importPublicKeySpki(der.slice(0, len)), "Malformed");
  }
});

Deno.test("importPublicKeySpki() and importPrivateKeyPem() never throw on seeded mutations", async () => {
  const next = prng(2024);
  const spki = await derOf("rsa2048_spki.pem");
  const pkcs1 = await derOf("rsa2048_pkcs1.pem");
  const enc = await derOf("rsa3072_pkcs8_encrypted_openssl.pem");
  const mutate = (d: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> => {
    const m = d.slice();
    const flips = 1 + Math.floor(next() * 3);
    for (let j = 0; j < flips; j++) {
      m[Math.floor(next() * Math.min(m.length, 120))] = Math.floor(next() * 256);
    }
    return m;
  };
  const noDefect = async <A>(eff: Effect.Effect<A, unknown>): Promise<void> => {
    const exit = await Effect.runPromiseExit(eff);
    if (exit._tag === "Failure") assert.equal(exit.cause._tag, "Fail");
  };
  for (let i = 0; i < 300; i++) {
    await noDefect(importPublicKeySpki(mutate(spki)));
    await noDefect(importPrivateKeyPem(formatPem("RSA PRIVATE KEY", mutate(pkcs1))));
    await noDefect(
      importPrivateKeyPem(formatPem("ENCRYPTED PRIVATE KEY", mutate(enc)), { password: PASSWORD }),
    );
  }
});
