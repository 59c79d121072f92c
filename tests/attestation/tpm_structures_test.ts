import assert from "node:assert/strict";
import { Cause, type Effect, Exit, Option } from "effect";
import {
  parseTpm2bPublic,
  parseTpmsAttest,
  parseTpmtSignature,
} from "../../src/attestation/tpm_structures.ts";
import type { AttestationError } from "../../src/errors.ts";
import { b64, expectFailure, expectSuccess, prng, randomBytes, run, vector } from "./_helpers.ts";
import { concat } from "./_tpm_marshal.ts";

type Parser = (bytes: Uint8Array<ArrayBuffer>) => Effect.Effect<unknown, AttestationError>;

const rsa = vector("valid-rsa-rsassa-1").tpm_attestation;
const ecc = vector("valid-ecc-ecdsa-1").tpm_attestation;
const RSA_PUBLIC = b64(rsa.aik_pubkey_b64);
const ECC_PUBLIC = b64(ecc.aik_pubkey_b64);
const QUOTE = b64(rsa.quote_b64);
const RSA_SIGNATURE = b64(rsa.signature_b64);
const ECDSA_SIGNATURE = b64(ecc.signature_b64);

const cases: readonly (readonly [string, Parser, Uint8Array<ArrayBuffer>])[] = [
  ["parseTpm2bPublic() RSA", parseTpm2bPublic, RSA_PUBLIC],
  ["parseTpm2bPublic() ECC", parseTpm2bPublic, ECC_PUBLIC],
  ["parseTpmsAttest()", parseTpmsAttest, QUOTE],
  ["parseTpmtSignature() RSA", parseTpmtSignature, RSA_SIGNATURE],
  ["parseTpmtSignature() ECDSA", parseTpmtSignature, ECDSA_SIGNATURE],
];

/** A copy of `bytes` with `patch` written at `offset`. */
const patched = (
  bytes: Uint8Array<ArrayBuffer>,
  offset: number,
  patch: readonly number[],
): Uint8Array<ArrayBuffer> => {
  const out = bytes.slice();
  out.set(patch, offset);
  return out;
};

const expectMalformed = async (parser: Parser, bytes: Uint8Array<ArrayBuffer>, text?: RegExp) => {
  const error = expectFailure(await run(parser(bytes)), ["Malformed"]);
  if (text) assert.match(error.message, text);
};

/** Success or a typed malformed failure; never a defect, never a throw. */
const expectNoDefect = async (parser: Parser, bytes: Uint8Array<ArrayBuffer>): Promise<boolean> => {
  const exit = await run(parser(bytes));
  if (Exit.isSuccess(exit)) return true;
  const failure = Cause.failureOption(exit.cause);
  assert.ok(Option.isSome(failure), `defect: ${Cause.pretty(exit.cause)}`);
  assert.equal(failure.value.reason, "Malformed");
  return false;
};

Deno.test("parseTpm2bPublic() reads an RSA-2048 AIK with exponent 0 as 65537", async () => {
  const key = expectSuccess(await run(parseTpm2bPublic(RSA_PUBLIC)));
  assert.ok(key.type === "rsa");
  assert.equal(key.keyBits, 2048);
  assert.equal(key.exponent, 65537);
  assert.equal(key.modulus.length, 256);
  assert.equal(key.objectAttributes, 0x00050072);
  assert.equal(key.nameAlg, "sha256");
  assert.equal(key.symmetric, null);
  assert.deepEqual(key.scheme, { scheme: "rsassa", hashAlg: "sha256" });
});

Deno.test("parseTpm2bPublic() reads a P-256 AIK", async () => {
  const key = expectSuccess(await run(parseTpm2bPublic(ECC_PUBLIC)));
  assert.ok(key.type === "ecc");
  assert.equal(key.curve, "P-256");
  assert.equal(key.kdf, null);
  assert.equal(key.x.length, 32);
  assert.equal(key.y.length, 32);
  assert.deepEqual(key.scheme, { scheme: "ecdsa", hashAlg: "sha256" });
});

Deno.test("parseTpmsAttest() reads a quote", async () => {
  const quote = expectSuccess(await run(parseTpmsAttest(QUOTE)));
  assert.equal(quote.magic, 0xff544347);
  assert.equal(quote.type, 0x8018);
  assert.equal(quote.extraData.length, 16);
  assert.equal(quote.qualifiedSigner.length, 34);
  assert.ok(quote.attested.kind === "quote");
  assert.equal(quote.attested.pcrSelections.length, 1);
  assert.equal(quote.attested.pcrSelections[0]?.hashAlg, "sha256");
  assert.deepEqual([...quote.attested.pcrSelections[0]?.select ?? []], [0x81, 0x04, 0x00]);
  assert.equal(quote.attested.pcrDigest.length, 32);
});

Deno.test("parseTpmsAttest() keeps the body of a non-quote type opaque", async () => {
  const time = b64(vector("invalid-type-time-attestation-rsa-rsassa-2").tpm_attestation.quote_b64);
  const parsed = expectSuccess(await run(parseTpmsAttest(time)));
  assert.equal(parsed.type, 0x8019);
  assert.ok(parsed.attested.kind === "other");
  assert.equal(parsed.attested.body.length, 33);
});

Deno.test("parseTpmtSignature() reads RSASSA and ECDSA signatures", async () => {
  const rsaSig = expectSuccess(await run(parseTpmtSignature(RSA_SIGNATURE)));
  assert.ok(rsaSig.sigAlg === "rsassa");
  assert.equal(rsaSig.hashAlg, "sha256");
  assert.equal(rsaSig.signature.length, 256);
  const ecdsa = expectSuccess(await run(parseTpmtSignature(ECDSA_SIGNATURE)));
  assert.ok(ecdsa.sigAlg === "ecdsa");
  assert.equal(ecdsa.r.length, 32);
  assert.equal(ecdsa.s.length, 32);
});

for (const [name, parser, bytes] of cases) {
  Deno.test(`${name} refuses every truncation as malformed`, async () => {
    for (let length = 0; length < bytes.length; length++) {
      await expectMalformed(parser, bytes.slice(0, length));
    }
  });

  Deno.test(`${name} refuses trailing bytes`, async () => {
    await expectMalformed(parser, concat(bytes, Uint8Array.of(0)), /trailing|size/);
  });

  Deno.test(`${name} survives seeded random garbage and random byte flips`, async () => {
    const next = prng(0x5eed + bytes.length);
    let failures = 0;
    for (let i = 0; i < 300; i++) {
      const garbage = randomBytes(next, Math.floor(next() * 400));
      if (!await expectNoDefect(parser, garbage)) failures++;
      const flipped = bytes.slice();
      const at = Math.floor(next() * flipped.length);
      flipped[at] = (flipped[at] ?? 0) ^ (1 + Math.floor(next() * 255));
      await expectNoDefect(parser, flipped);
    }
    assert.ok(failures >= 290, `random garbage mostly fails (${failures})`);
  });
}

Deno.test("parseTpm2bPublic() refuses oversized size fields", async () => {
  await expectMalformed(parseTpm2bPublic, patched(RSA_PUBLIC, 0, [0xff, 0xff]), /size 65535/);
  // Modulus size with the outer size left alone, and with it adjusted.
  await expectMalformed(parseTpm2bPublic, patched(RSA_PUBLIC, 24, [0xff, 0xff]));
  const grown = concat(patched(RSA_PUBLIC, 24, [0xff, 0xff]), new Uint8Array(600));
  await expectMalformed(
    parseTpm2bPublic,
    patched(grown, 0, [(grown.length - 2) >> 8, (grown.length - 2) & 0xff]),
    /modulus size 65535 exceeds 512/,
  );
  await expectMalformed(parseTpm2bPublic, patched(ECC_PUBLIC, 22, [0xff, 0xff]));
  await expectMalformed(parseTpm2bPublic, patched(RSA_PUBLIC, 10, [0xff, 0xff]));
});

Deno.test("parseTpm2bPublic() refuses unknown algorithms and unsupported keys", async () => {
  const bad: readonly (readonly [Uint8Array<ArrayBuffer>, number, number[], RegExp])[] = [
    [RSA_PUBLIC, 2, [0x00, 0x08], /type 0x0008/], // keyedhash object
    [RSA_PUBLIC, 4, [0x00, 0x12], /nameAlg 0x0012/], // SM3
    [RSA_PUBLIC, 12, [0x00, 0x07], /symmetric 0x0007/], // MGF1 is no cipher
    [RSA_PUBLIC, 14, [0x00, 0x15], /scheme 0x0015/], // RSAES
    [RSA_PUBLIC, 16, [0x00, 0x10], /scheme hashAlg 0x0010/],
    [RSA_PUBLIC, 18, [0x04, 0x00], /keyBits 1024/],
    [RSA_PUBLIC, 20, [0x00, 0x00, 0x00, 0x02], /exponent 2 /],
    [RSA_PUBLIC, 20, [0x00, 0x00, 0x00, 0x01], /exponent 1 /],
    [ECC_PUBLIC, 14, [0x00, 0x1a], /scheme 0x001a/], // ECDAA
    [ECC_PUBLIC, 18, [0x00, 0x04], /curveID 0x0004/], // P-384
    [ECC_PUBLIC, 20, [0x00, 0x99], /kdf 0x0099/],
  ];
  for (const [bytes, offset, patch, text] of bad) {
    await expectMalformed(parseTpm2bPublic, patched(bytes, offset, patch), text);
  }
});

Deno.test("parseTpmsAttest() refuses oversized sizes and huge counts", async () => {
  await expectMalformed(parseTpmsAttest, patched(QUOTE, 6, [0xff, 0xff]), /qualifiedSigner/);
  await expectMalformed(parseTpmsAttest, patched(QUOTE, 42, [0xff, 0xff]), /extraData/);
  await expectMalformed(
    parseTpmsAttest,
    patched(QUOTE, 85, [0xff, 0xff, 0xff, 0xff]),
    /count 4294967295 exceeds 16/,
  );
  await expectMalformed(parseTpmsAttest, patched(QUOTE, 85, [0, 0, 0, 17]), /count 17/);
  await expectMalformed(parseTpmsAttest, patched(QUOTE, 91, [0xff]), /sizeofSelect 255/);
  await expectMalformed(parseTpmsAttest, patched(QUOTE, 95, [0xff, 0xff]), /pcrDigest/);
  await expectMalformed(parseTpmsAttest, patched(QUOTE, 89, [0x00, 0x12]), /not supported/);
  await expectMalformed(parseTpmsAttest, patched(QUOTE, 76, [2]), /safe 2/);
});

Deno.test("parseTpmtSignature() refuses oversized sizes and unknown algorithms", async () => {
  await expectMalformed(parseTpmtSignature, patched(RSA_SIGNATURE, 4, [0xff, 0xff]));
  await expectMalformed(parseTpmtSignature, patched(ECDSA_SIGNATURE, 4, [0xff, 0xff]));
  await expectMalformed(parseTpmtSignature, patched(ECDSA_SIGNATURE, 38, [0xff, 0xff]));
  for (const sigAlg of [0x0010, 0x0015, 0x0017, 0x001a, 0x0005]) {
    await expectMalformed(
      parseTpmtSignature,
      patched(RSA_SIGNATURE, 0, [sigAlg >> 8, sigAlg & 0xff]),
      /sigAlg/,
    );
  }
  await expectMalformed(parseTpmtSignature, patched(RSA_SIGNATURE, 2, [0x00, 0x12]), /hashAlg/);
});
