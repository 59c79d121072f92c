import assert from "node:assert/strict";
import { Encoding } from "effect";
import { decodeStrictBase64, MAX_BASE64_LENGTH } from "../../src/attestation/strict_base64.ts";
import { expectFailure, expectSuccess, prng, randomBytes, run } from "./_helpers.ts";

Deno.test("decodeStrictBase64() decodes canonical standard base64 of every length mod 3", async () => {
  for (
    const [text, bytes] of [
      ["", []],
      ["/w==", [0xff]],
      ["/+8=", [0xff, 0xef]],
      ["AAEC", [0, 1, 2]],
      ["+/+/", [0xfb, 0xff, 0xbf]],
    ] as const
  ) {
    const decoded = expectSuccess(await run(decodeStrictBase64(text, "quote_b64")));
    assert.deepEqual([...decoded], bytes, text);
    assert.ok(decoded.buffer instanceof ArrayBuffer);
  }
});

Deno.test("decodeStrictBase64() round-trips seeded random bytes", async () => {
  const next = prng(64);
  for (let i = 0; i < 200; i++) {
    const bytes = randomBytes(next, Math.floor(next() * 300));
    const decoded = expectSuccess(await run(decodeStrictBase64(Encoding.encodeBase64(bytes), "x")));
    assert.deepEqual(decoded, bytes);
  }
});

Deno.test("decodeStrictBase64() refuses non-canonical spellings as BadBase64", async () => {
  const refused = [
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
  for (const text of refused) {
    const error = expectFailure(await run(decodeStrictBase64(text, "signature_b64")), [
      "BadBase64",
    ]);
    assert.equal(error.message, "Cannot decode signature_b64: not canonical standard base64");
  }
});

Deno.test("decodeStrictBase64() refuses text over the length cap as malformed", async () => {
  const ok = "A".repeat(MAX_BASE64_LENGTH);
  expectSuccess(await run(decodeStrictBase64(ok, "quote_b64")));
  expectFailure(await run(decodeStrictBase64(`${ok}AAAA`, "quote_b64")), ["Malformed"]);
});
