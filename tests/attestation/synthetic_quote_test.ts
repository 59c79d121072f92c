/**
 * Quotes built in the test around WebCrypto keys: the cases a software TPM does not produce.
 */
import assert from "node:assert/strict";
import { Effect, Encoding } from "effect";
import { verifyQuote } from "../../src/attestation/mod.ts";
import { verifyQuoteSignature } from "../../src/attestation/quote_signature.ts";
import {
  parseTpm2bPublic,
  parseTpmsAttest,
  parseTpmtSignature,
} from "../../src/attestation/tpm_structures.ts";
import { b64, expectFailure, expectSuccess, run, vector } from "./_helpers.ts";
import {
  ALG,
  buildBlock,
  concat,
  eccPublic,
  ecdsaSignature,
  ecdsaSigner,
  rsaPublic,
  rsaSigner,
  sha256,
  type Signer,
} from "./_tpm_marshal.ts";

const PAYLOAD_ID = "5a0c1e8e-2f1b-4c55-9d7e-3c1f0a9b8e77";

const accepts = async (signer: Signer, options?: Parameters<typeof buildBlock>[2]) => {
  const block = await buildBlock(signer, PAYLOAD_ID, options);
  return expectSuccess(await run(verifyQuote(block, PAYLOAD_ID)));
};

Deno.test("verifyQuote() accepts synthetic RSASSA, RSA-PSS and ECDSA quotes", async () => {
  assert.equal((await accepts(await rsaSigner("rsassa"))).signatureScheme, "rsassa");
  assert.equal((await accepts(await rsaSigner("rsapss"))).signatureScheme, "rsapss");
  const ecdsa = await accepts(await ecdsaSigner());
  assert.equal(ecdsa.signatureScheme, "ecdsa");
  assert.equal(ecdsa.aikType, "ecc");
  assert.equal(ecdsa.firmwareVersion, "0x2019102300163636");
  assert.deepEqual(ecdsa.clockInfo, {
    clock: "123456789",
    resetCount: 7,
    restartCount: 2,
    safe: true,
  });
});

Deno.test("verifyQuote() accepts RSA-PSS with the maximum salt length", async () => {
  // RSA-2048: emLen 256, hLen 32, so the maximum salt is 256 - 32 - 2 = 222.
  const result = await accepts(await rsaSigner("rsapss", { saltLength: 222 }));
  assert.equal(result.signatureScheme, "rsapss");
});

Deno.test("verifyQuote() refuses RSA-PSS salt lengths other than 32 and the maximum", async () => {
  for (const saltLength of [0, 20, 31, 33, 64, 221]) {
    const block = await buildBlock(await rsaSigner("rsapss", { saltLength }), PAYLOAD_ID);
    expectFailure(await run(verifyQuote(block, PAYLOAD_ID)), ["BadSignature"]);
  }
});

Deno.test("verifyQuote() left-pads short ECDSA r and s", async () => {
  let short = 0;
  for (let attempt = 0; attempt < 4000 && short < 2; attempt++) {
    // Marshal r and s without leading zeros, as some TPMs do.
    const strip = (b: Uint8Array<ArrayBuffer>) => b.subarray(b.findIndex((x) => x !== 0));
    let stripped = false;
    const signer = await ecdsaSigner((r, s) => {
      stripped = r[0] === 0 || s[0] === 0;
      return ecdsaSignature(strip(r), strip(s));
    });
    const block = await buildBlock(signer, PAYLOAD_ID);
    if (!stripped) continue;
    const signature = b64(block.signature_b64);
    assert.ok(signature.length < 72, "a stripped r or s is shorter on the wire");
    expectSuccess(await run(verifyQuote(block, PAYLOAD_ID)));
    short++;
  }
  assert.equal(short, 2, "found signatures with a leading zero byte in r or s");
});

Deno.test("verifyQuote() accepts ECDSA r and s with extra leading zero bytes", async () => {
  const zero = Uint8Array.of(0, 0);
  const signer = await ecdsaSigner((r, s) => ecdsaSignature(concat(zero, r), concat(zero, s)));
  expectSuccess(await run(verifyQuote(await buildBlock(signer, PAYLOAD_ID), PAYLOAD_ID)));
});

Deno.test("verifyQuote() refuses ECDSA r or s longer than 32 bytes, or empty", async () => {
  const marshals: (readonly [
    (r: Uint8Array, s: Uint8Array) => Uint8Array<ArrayBuffer>,
    RegExp,
  ])[] = [
    [(r, s) => ecdsaSignature(concat(Uint8Array.of(1), r), s), /longer than 32 bytes/],
    [(r, s) => ecdsaSignature(r, concat(Uint8Array.of(1), s)), /longer than 32 bytes/],
    [(_r, s) => ecdsaSignature(new Uint8Array(0), s), /does not verify/],
  ];
  for (const [marshal, text] of marshals) {
    const block = await buildBlock(await ecdsaSigner(marshal), PAYLOAD_ID);
    const error = expectFailure(await run(verifyQuote(block, PAYLOAD_ID)), ["BadSignature"]);
    assert.match(error.message, text);
  }
});

Deno.test("verifyQuote() refuses a signature scheme other than the AIK's", async () => {
  // PSS signature, AIK says RSASSA: a TPM would not have signed it so.
  const mismatch = await rsaSigner("rsapss", { keyScheme: [ALG.RSASSA, ALG.SHA256] });
  const block = await buildBlock(mismatch, PAYLOAD_ID);
  const error = expectFailure(await run(verifyQuote(block, PAYLOAD_ID)), ["BadSignature"]);
  assert.match(error.message, /differs from the AIK's scheme/);
  // A NULL key scheme lets the TPM pick: accepted.
  expectSuccess(
    await run(
      verifyQuote(
        await buildBlock(await rsaSigner("rsapss", { keyScheme: null }), PAYLOAD_ID),
        PAYLOAD_ID,
      ),
    ),
  );
});

Deno.test("verifyQuote() refuses a signature whose hashAlg is not SHA-256", async () => {
  const signer = await rsaSigner("rsassa", { keyScheme: null });
  const block = await buildBlock(
    {
      aik: signer.aik,
      sign: async (quote) => {
        const signature = await signer.sign(quote);
        signature.set([0x00, ALG.SHA1], 2);
        return signature;
      },
    },
    PAYLOAD_ID,
  );
  const error = expectFailure(await run(verifyQuote(block, PAYLOAD_ID)), ["BadSignature"]);
  assert.match(error.message, /not SHA-256/);
});

Deno.test("verifyQuote() refuses an RSA signature on an ECC AIK", async () => {
  const rsa = await rsaSigner("rsassa");
  const ecc = await ecdsaSigner();
  const block = await buildBlock({ aik: ecc.aik, sign: rsa.sign }, PAYLOAD_ID);
  const error = expectFailure(await run(verifyQuote(block, PAYLOAD_ID)), ["BadSignature"]);
  assert.match(error.message, /does not fit the AIK type/);
});

Deno.test("verifyQuote() refuses an RSA signature shorter than the modulus", async () => {
  const signer = await rsaSigner("rsassa");
  const block = await buildBlock(
    {
      aik: signer.aik,
      sign: async (quote) => {
        const marshaled = await signer.sign(quote);
        // Drop the signature's first byte and fix its TPM2B size.
        return concat(marshaled.subarray(0, 4), Uint8Array.of(0, 255), marshaled.subarray(7));
      },
    },
    PAYLOAD_ID,
  );
  const error = expectFailure(await run(verifyQuote(block, PAYLOAD_ID)), ["BadSignature"]);
  assert.match(error.message, /not as long as the modulus/);
});

Deno.test("verifyQuote() maps a WebCrypto refusal of the AIK to BadSignature", async () => {
  const ecc = await ecdsaSigner();
  // (1, 1) is not on P-256: importKey throws, which must not escape.
  const offCurve = eccPublic(
    new Uint8Array(32).fill(0).fill(1, 31),
    new Uint8Array(32).fill(1, 31),
  );
  const block = await buildBlock({ aik: offCurve, sign: ecc.sign }, PAYLOAD_ID);
  const error = expectFailure(await run(verifyQuote(block, PAYLOAD_ID)), ["BadSignature"]);
  assert.match(error.message, /WebCrypto refused/);
});

Deno.test("verifyQuote() accepts an explicit exponent and a non-NULL symmetric definition", async () => {
  const signer = await rsaSigner("rsassa");
  const aik = rsaPublic({
    modulus: signer.modulus,
    exponent: 65537,
    symmetric: [ALG.AES, 128, ALG.CFB],
  });
  const key = expectSuccess(await run(parseTpm2bPublic(aik)));
  assert.deepEqual(key.symmetric, { algorithm: "aes", keyBits: 128, mode: "cfb" });
  expectSuccess(
    await run(verifyQuote(await buildBlock({ aik, sign: signer.sign }, PAYLOAD_ID), PAYLOAD_ID)),
  );
  // Exponent 3 is a different key: the signature no longer verifies.
  const wrongExponent = rsaPublic({ modulus: signer.modulus, exponent: 3 });
  expectFailure(
    await run(
      verifyQuote(
        await buildBlock({ aik: wrongExponent, sign: signer.sign }, PAYLOAD_ID),
        PAYLOAD_ID,
      ),
    ),
    ["BadSignature"],
  );
});

Deno.test("verifyQuote() accepts a larger selection bitmap over the same PCRs", async () => {
  const signer = await ecdsaSigner();
  const result = await accepts(signer, { quote: { banks: [[ALG.SHA256, [0, 7, 10], 4]] } });
  assert.deepEqual(result.selectedPcrs, [0, 7, 10]);
});

Deno.test("verifyQuote() refuses selections that are not exactly one sha256 bank", async () => {
  const signer = await ecdsaSigner();
  const selections = [
    [[ALG.SHA1, [0, 7, 10]]],
    [[ALG.SHA1, [0]], [ALG.SHA256, [0, 7, 10]]],
    [[ALG.SHA256, [0, 7, 10]], [ALG.SHA256, [0, 7, 10]]],
    [[ALG.SHA256, []]],
    [],
  ] as const;
  for (const banks of selections) {
    const block = await buildBlock(signer, PAYLOAD_ID, { quote: { banks } });
    expectFailure(await run(verifyQuote(block, PAYLOAD_ID)), ["PcrMismatch"]);
  }
});

Deno.test("verifyQuote() refuses a signed quote that selects no PCR", async () => {
  // Self-consistent (digest of nothing, no values) and well signed, but it attests nothing.
  const block = await buildBlock(await ecdsaSigner(), PAYLOAD_ID, {
    pcrValues: {},
    quote: { banks: [[ALG.SHA256, []]], pcrDigest: await sha256(new Uint8Array(0)) },
  });
  const error = expectFailure(await run(verifyQuote(block, PAYLOAD_ID)), ["PcrMismatch"]);
  assert.match(error.message, /selects no PCR/);
});

Deno.test("verifyQuote() refuses a nonce of the right prefix but the wrong length", async () => {
  const signer = await ecdsaSigner();
  const full = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(PAYLOAD_ID)),
  );
  for (const extraData of [full, full.slice(0, 15), full.slice(0, 17), new Uint8Array(0)]) {
    const block = await buildBlock(signer, PAYLOAD_ID, { quote: { extraData } });
    expectFailure(await run(verifyQuote(block, PAYLOAD_ID)), ["NonceMismatch"]);
  }
});

Deno.test("verifyQuoteSignature() needs the quote bytes, not their digest", async () => {
  // WebCrypto hashes what it verifies; handing it SHA-256(quote) would hash twice.
  const v = vector("valid-rsa-rsassa-2").tpm_attestation;
  const aik = expectSuccess(await run(parseTpm2bPublic(b64(v.aik_pubkey_b64))));
  const signature = expectSuccess(await run(parseTpmtSignature(b64(v.signature_b64))));
  const quote = b64(v.quote_b64);
  expectSuccess(await run(parseTpmsAttest(quote)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", quote));
  assert.equal(
    expectSuccess(await run(verifyQuoteSignature(aik, signature, quote, "id"))),
    "rsassa",
  );
  expectFailure(await run(verifyQuoteSignature(aik, signature, digest, "id")), ["BadSignature"]);
  assert.equal(Encoding.encodeBase64(quote), v.quote_b64);
  assert.ok(Effect.isEffect(verifyQuoteSignature(aik, signature, quote, "id")));
});
