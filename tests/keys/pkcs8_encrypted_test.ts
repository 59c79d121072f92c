import assert from "node:assert/strict";
import { Effect } from "effect";
import {
  decodeDer,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  derSmallInteger,
  type DerValue,
  encodeDer,
  oidToString,
  readSmallInteger,
} from "../../src/keys/der.ts";
import { parsePem } from "../../src/keys/pem.ts";
import {
  decryptPkcs8,
  DEFAULT_PBKDF2_ITERATIONS,
  encryptPkcs8,
  KEY_DECRYPTION_FAILED_MESSAGE,
} from "../../src/keys/pkcs8_encrypted.ts";
import { assertNoSecrets, failWith, readVector, succeed } from "./_helpers.ts";

const PASSWORD = "correct horse battery staple";

const derOf = async (file: string): Promise<Uint8Array<ArrayBuffer>> =>
  (await succeed(parsePem(await readVector(file)))).der;

const decrypt = (der: Uint8Array<ArrayBuffer>, password: string | undefined) =>
  Effect.scoped(Effect.map(decryptPkcs8(der, password), (b) => b.slice()));

/** An EncryptedPrivateKeyInfo with the given PBKDF2 parameters and cipher. */
const epki = (o: {
  readonly iterations?: DerValue;
  readonly cipher?: string;
  readonly iv?: number;
  readonly ciphertext?: Uint8Array;
  readonly kdf?: string;
  readonly prf?: string;
  readonly keyLength?: number;
  readonly salt?: DerValue;
}): Uint8Array<ArrayBuffer> =>
  encodeDer(
    derSequence(
      derSequence(
        derOid("1.2.840.113549.1.5.13"),
        derSequence(
          derSequence(
            derOid(o.kdf ?? "1.2.840.113549.1.5.12"),
            derSequence(
              o.salt ?? derOctetString(new Uint8Array(16)),
              o.iterations ?? derSmallInteger(2048),
              ...(o.keyLength === undefined ? [] : [derSmallInteger(o.keyLength)]),
              derSequence(derOid(o.prf ?? "1.2.840.113549.2.9"), derNull()),
            ),
          ),
          derSequence(
            derOid(o.cipher ?? "2.16.840.1.101.3.4.1.42"),
            derOctetString(new Uint8Array(o.iv ?? 16)),
          ),
        ),
      ),
      derOctetString(o.ciphertext ?? new Uint8Array(64)),
    ),
  );

Deno.test("decryptPkcs8() reads PBES2 files made by pyca and openssl with every PRF and AES size", async () => {
  for (
    const file of [
      "rsa4096_pkcs8_encrypted.pem",
      "rsa3072_pkcs8_encrypted_openssl.pem",
      "rsa2048_pkcs8_encrypted_aes128_sha1.pem",
      "rsa2048_pkcs8_encrypted_aes192_sha384.pem",
      "rsa2048_pkcs8_encrypted_aes256_sha512.pem",
    ]
  ) {
    const plain = await succeed(decrypt(await derOf(file), PASSWORD));
    const root = await succeed(decodeDer(plain));
    assert.equal(root.children.length, 3, file);
    assert.equal(oidToString(root.children[1]!.children[0]!.contents), "1.2.840.113549.1.1.1");
  }
});

Deno.test("decryptPkcs8() zeroes the plaintext when the scope closes", async () => {
  const der = await derOf("rsa3072_pkcs8_encrypted_openssl.pem");
  let kept: Uint8Array | undefined;
  await succeed(Effect.scoped(Effect.map(decryptPkcs8(der, PASSWORD), (b) => {
    kept = b;
    assert.ok(b.some((x) => x !== 0));
  })));
  assert.ok(kept !== undefined && kept.every((x) => x === 0));
});

Deno.test("decryptPkcs8() asks for a password when none or an empty one is given", async () => {
  const der = await derOf("rsa4096_pkcs8_encrypted.pem");
  await failWith(decrypt(der, undefined), "PasswordRequired");
  await failWith(decrypt(der, ""), "PasswordRequired");
});

Deno.test("decryptPkcs8() refuses DES-EDE3-CBC naming the cipher", async () => {
  const e = await failWith(
    decrypt(await derOf("rsa2048_pkcs8_encrypted_des3.pem"), PASSWORD),
    "UnsupportedEncryption",
  );
  assert.match(e.message, /DES-EDE3-CBC/);
  assertNoSecrets(e, [PASSWORD]);
});

Deno.test("decryptPkcs8() refuses scrypt and PBES1/PKCS#12 schemes naming them", async () => {
  const s = await failWith(
    decrypt(await derOf("rsa2048_pkcs8_encrypted_scrypt.pem"), PASSWORD),
    "UnsupportedEncryption",
  );
  assert.match(s.message, /scrypt/);
  const p = await failWith(
    decrypt(await derOf("rsa2048_pkcs8_encrypted_pbes1.pem"), PASSWORD),
    "UnsupportedEncryption",
  );
  assert.match(p.message, /pbeWithSHAAnd3-KeyTripleDES-CBC/);
  const u = await failWith(decrypt(epki({ cipher: "1.2.3.4" }), PASSWORD), "UnsupportedEncryption");
  assert.match(u.message, /OID 1\.2\.3\.4/);
  const g = await failWith(
    decrypt(epki({ cipher: "2.16.840.1.101.3.4.1.46" }), PASSWORD),
    "UnsupportedEncryption",
  );
  assert.match(g.message, /AES-256-GCM/);
  const m = await failWith(
    decrypt(epki({ prf: "1.2.840.113549.2.5" }), PASSWORD),
    "UnsupportedEncryption",
  );
  assert.match(m.message, /HMAC-MD5/);
});

Deno.test("decryptPkcs8() refuses absurd iteration counts fast, before any work", async () => {
  for (
    const iterations of [
      derSmallInteger(10_000_001),
      derSmallInteger(2 ** 31 - 1),
      derSmallInteger(Number.MAX_SAFE_INTEGER),
      { tag: 0x02, parts: [new Uint8Array(64).fill(0x7f)] },
    ]
  ) {
    const start = performance.now();
    const e = await failWith(decrypt(epki({ iterations }), PASSWORD), "UnsupportedEncryption");
    assert.ok(performance.now() - start < 200, "refusal took too long");
    assert.match(e.message, /iteration count is above 10000000/);
  }
});

Deno.test("decryptPkcs8() refuses iteration counts under 1000", async () => {
  for (const n of [0, 1, 999]) {
    const e = await failWith(
      decrypt(epki({ iterations: derSmallInteger(n) }), PASSWORD),
      "UnsupportedEncryption",
    );
    assert.match(e.message, /below 1000/);
  }
  await failWith(
    decrypt(epki({ iterations: { tag: 0x02, parts: [new Uint8Array([0xff])] } }), PASSWORD),
    "Malformed",
  );
});

Deno.test("decryptPkcs8() refuses malformed PBES2 parameters", async () => {
  await failWith(decrypt(epki({ iv: 8 }), PASSWORD), "Malformed");
  await failWith(decrypt(epki({ keyLength: 16 }), PASSWORD), "Malformed");
  await failWith(decrypt(epki({ salt: derOctetString(new Uint8Array(0)) }), PASSWORD), "Malformed");
  await failWith(
    decrypt(epki({ salt: derSequence(derOid("1.2.3"), derNull()) }), PASSWORD),
    "UnsupportedEncryption",
  );
  await failWith(decrypt(new Uint8Array([0x30, 0x00]), PASSWORD), "Malformed");
});

// A flipped byte inside the key's integers leaves valid padding and DER (CBC has no integrity):
// importPrivateKeyPem() catches it with a pairwise check (rsa_key_test.ts).
Deno.test("decryptPkcs8() gives one error for a wrong password and for corruptions it can see", async () => {
  const good = await derOf("rsa3072_pkcs8_encrypted_openssl.pem");
  const root = await succeed(decodeDer(good));
  const algorithm = root.children[0]!;
  const ciphertext = root.children[1]!.contents;
  const rebuild = (c: Uint8Array) =>
    encodeDer(derSequence({ tag: 0x30, parts: [algorithm.contents] }, derOctetString(c)));
  const flip = (i: number) => {
    const c = ciphertext.slice();
    c[i < 0 ? c.length + i : i]! ^= 0x01;
    return rebuild(c);
  };
  const cases: Array<[string, Uint8Array<ArrayBuffer>, string]> = [
    ["wrong password", good, PASSWORD + "x"],
    ["wrong password, other case", good, PASSWORD.toUpperCase()],
    ["last byte flipped (padding)", flip(-1), PASSWORD],
    ["byte of the last-but-one block flipped", flip(-17), PASSWORD],
    ["first byte flipped (plaintext garbage)", flip(0), PASSWORD],
    ["one block cut off", rebuild(ciphertext.slice(0, -16)), PASSWORD],
    ["one byte cut off", rebuild(ciphertext.slice(0, -1)), PASSWORD],
    ["empty ciphertext", rebuild(new Uint8Array(0)), PASSWORD],
    [
      "random ciphertext",
      rebuild(crypto.getRandomValues(new Uint8Array(ciphertext.length))),
      PASSWORD,
    ],
  ];
  for (const [why, der, password] of cases) {
    const e = await failWith(decrypt(der, password), "DecryptionFailed").catch((err) => {
      throw new Error(`${why}: ${err}`);
    });
    assert.equal(e.message, KEY_DECRYPTION_FAILED_MESSAGE, why);
    assertNoSecrets(e, [PASSWORD]);
  }
});

Deno.test("encryptPkcs8() writes PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC that decryptPkcs8() reads", async () => {
  const plain = await succeed(
    decrypt(await derOf("rsa3072_pkcs8_encrypted_openssl.pem"), PASSWORD),
  );
  const der = await succeed(encryptPkcs8(plain, PASSWORD, { iterations: 1000 }));
  const root = await succeed(decodeDer(der));
  const [scheme, params] = root.children[0]!.children;
  assert.equal(oidToString(scheme!.contents), "1.2.840.113549.1.5.13");
  const [kdf, cipher] = params!.children;
  assert.equal(oidToString(kdf!.children[0]!.contents), "1.2.840.113549.1.5.12");
  const [salt, count, prf] = kdf!.children[1]!.children;
  assert.equal(salt!.contents.length, 16);
  assert.equal(readSmallInteger(count, "count"), 1000);
  assert.equal(oidToString(prf!.children[0]!.contents), "1.2.840.113549.2.9");
  assert.equal(oidToString(cipher!.children[0]!.contents), "2.16.840.1.101.3.4.1.42");
  assert.equal(cipher!.children[1]!.contents.length, 16);
  assert.deepEqual(await succeed(decrypt(der, PASSWORD)), plain);
  const again = await succeed(encryptPkcs8(plain, PASSWORD, { iterations: 1000 }));
  assert.notDeepEqual(again, der, "salt and IV must be fresh");
});

Deno.test("encryptPkcs8() uses 600,000 iterations by default", async () => {
  assert.equal(DEFAULT_PBKDF2_ITERATIONS, 600_000);
  const der = await succeed(encryptPkcs8(new Uint8Array([0x30, 0x00]), PASSWORD));
  const root = await succeed(decodeDer(der));
  const count = root.children[0]!.children[1]!.children[0]!.children[1]!.children[1];
  assert.equal(readSmallInteger(count, "count"), 600_000);
});

Deno.test("encryptPkcs8() refuses passwords under 8 characters and bad iteration counts", async () => {
  const plain = new Uint8Array([0x30, 0x00]);
  for (const pw of ["", "short12", "ñññññññ", "🔑🔑🔑🔑🔑🔑🔑"]) {
    const e = await failWith(encryptPkcs8(plain, pw, { iterations: 1000 }), "PasswordTooShort");
    if (pw.length >= 6) assertNoSecrets(e, [pw]);
  }
  await succeed(encryptPkcs8(plain, "🔑🔑🔑🔑🔑🔑🔑🔑", { iterations: 1000 }));
  for (const iterations of [0, 999, 1000.5, 10_000_001, Number.NaN, Number.POSITIVE_INFINITY]) {
    await failWith(encryptPkcs8(plain, PASSWORD, { iterations }), "UnsupportedEncryption");
  }
});
