/**
 * The `*_b64` fields of an attestation block go through the library's one strict base64 codec
 * (`protocol/base64.ts`, `decodeBase64Strict`): canonical spellings only, refused as
 * `BadBase64`, and text over the length cap refused as `Malformed` before any decoding.
 */
import assert from "node:assert/strict";
import { Encoding } from "effect";
import { decodeBase64Strict } from "../../src/protocol/base64.ts";
import { MAX_BASE64_LENGTH, verifyQuote } from "../../src/attestation/tpm_quote.ts";
import { expectFailure, prng, randomBytes, run, vector } from "./_helpers.ts";

const valid = vector("valid-rsa-rsassa-1");

/** The valid block with one field replaced. */
const withField = (field: "aik_pubkey_b64" | "quote_b64" | "signature_b64", text: string) => ({
  ...valid.tpm_attestation,
  [field]: text,
});

Deno.test("decodeBase64Strict() decodes canonical standard base64 of every length mod 3", () => {
  for (
    const [text, bytes] of [
      ["", []],
      ["/w==", [0xff]],
      ["/+8=", [0xff, 0xef]],
      ["AAEC", [0, 1, 2]],
      ["+/+/", [0xfb, 0xff, 0xbf]],
    ] as const
  ) {
    const decoded = decodeBase64Strict(text);
    assert.ok(decoded !== undefined, text);
    assert.deepEqual([...decoded], bytes, text);
    assert.ok(decoded.buffer instanceof ArrayBuffer);
  }
});

Deno.test("decodeBase64Strict() round-trips seeded random bytes", () => {
  const next = prng(64);
  for (let i = 0; i < 200; i++) {
    const bytes = randomBytes(next, Math.floor(next() * 300));
    assert.deepEqual(decodeBase64Strict(Encoding.encodeBase64(bytes)), bytes);
  }
});

const REFUSED = [
  "AAEC\n", // line break, which Encoding.decodeBase64 would strip
  "AA\r\nEC",
  " AAEC",
  "AAEC ",
  "AA EC",
  "AAE\t",
  "_-8=", // url-safe alphabet
  "/-8=",
  "/w", // missing padding
  "/+8",
  "/w=",
  "/w===",
  "=AAA",
  "A=AA",
  "AA=A",
  "/x==", // non-zero padding bits
  "/+9=",
  "AAEC====",
  "@@ this is not base64 @@",
  "ÄAEC",
  "AAEC\u0000",
];

Deno.test("decodeBase64Strict() refuses non-canonical spellings", () => {
  for (const text of REFUSED) assert.equal(decodeBase64Strict(text), undefined, text);
});

Deno.test("verifyQuote() refuses a non-canonical *_b64 field as BadBase64, naming the field", async () => {
  for (const field of ["aik_pubkey_b64", "quote_b64", "signature_b64"] as const) {
    for (const text of REFUSED) {
      const error = expectFailure(
        await run(verifyQuote(withField(field, text), valid.payload_id)),
        ["BadBase64"],
      );
      assert.equal(error.message, `Cannot decode ${field}: not canonical standard base64`);
      assert.equal(error.payloadId, valid.payload_id);
    }
  }
});

Deno.test("verifyQuote() refuses *_b64 text over the length cap as Malformed, and decodes it at the cap", async () => {
  const atCap = "A".repeat(MAX_BASE64_LENGTH);
  // At the cap it is decoded (and then refused as a structure, not for its length).
  const parsed = expectFailure(await run(verifyQuote(withField("quote_b64", atCap), "p")), [
    "Malformed",
    "BadMagic",
    "BadType",
  ]);
  assert.doesNotMatch(parsed.message, /longer than/);
  const over = expectFailure(
    await run(verifyQuote(withField("quote_b64", `${atCap}AAAA`), "p")),
    ["Malformed"],
  );
  assert.equal(
    over.message,
    `Cannot decode quote_b64: longer than ${MAX_BASE64_LENGTH} characters`,
  );
});
