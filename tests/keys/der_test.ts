import assert from "node:assert/strict";
import { Effect } from "effect";
import {
  decodeDer,
  derBitString,
  derContext,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  derSmallInteger,
  DerTag,
  derUnsignedInteger,
  encodeDer,
  encodeOid,
  MAX_DER_BYTES,
  MAX_DER_DEPTH,
  oidToString,
  parseDer,
  readSequence,
  readSmallInteger,
  readUnsignedInteger,
} from "../../src/keys/der.ts";
import { parsePem } from "../../src/keys/pem.ts";
import { failWith, prng, randomBytes, readVector, succeed } from "./_helpers.ts";

const hex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const bytes = (h: string): Uint8Array<ArrayBuffer> =>
  new Uint8Array((h.replace(/\s/g, "").match(/../g) ?? []).map((x) => parseInt(x, 16)));

const malformed = (h: string | Uint8Array<ArrayBuffer>) =>
  failWith(decodeDer(typeof h === "string" ? bytes(h) : h), "Malformed");

Deno.test("encodeOid() and oidToString() agree with known encodings", () => {
  assert.equal(hex(encodeOid("1.2.840.113549.1.1.1")), "2a864886f70d010101");
  assert.equal(hex(encodeOid("2.16.840.1.101.3.4.1.42")), "60864801650304012a");
  assert.equal(hex(encodeOid("2.999.3")), "883703");
  for (
    const oid of [
      "1.2.840.113549.1.1.1",
      "2.999.3",
      "0.0",
      "1.39.4294967296",
      "2.16.840.1.101.3.4.1.42",
    ]
  ) {
    assert.equal(oidToString(encodeOid(oid)), oid);
  }
  for (const bad of ["", "1", "3.1", "1.40", "1.2.", "1..2", "01.2", "1.2.x", "1.2.-3"]) {
    assert.throws(() => encodeOid(bad), TypeError);
  }
});

Deno.test("encodeDer() writes minimal lengths and decodeDer() reads them back", async () => {
  for (const n of [0, 1, 127, 128, 255, 256, 1000, 65000]) {
    const content = new Uint8Array(n).fill(7);
    const der = encodeDer(derOctetString(content));
    const expectedHeader = n < 128 ? 2 : n < 256 ? 3 : 4;
    assert.equal(der.length, expectedHeader + n);
    const node = await succeed(decodeDer(der));
    assert.equal(node.tag, DerTag.OctetString);
    assert.deepEqual(node.contents, content);
  }
});

Deno.test("encodeDer() writes INTEGERs minimally", () => {
  assert.equal(hex(encodeDer(derSmallInteger(0))), "020100");
  assert.equal(hex(encodeDer(derSmallInteger(127))), "02017f");
  assert.equal(hex(encodeDer(derSmallInteger(128))), "02020080");
  assert.equal(hex(encodeDer(derSmallInteger(65537))), "0203010001");
  assert.equal(hex(encodeDer(derSmallInteger(600000))), "02030927c0");
  assert.equal(hex(encodeDer(derUnsignedInteger(bytes("0000ff")))), "020200ff");
  assert.equal(hex(encodeDer(derUnsignedInteger(new Uint8Array(0)))), "020100");
  assert.throws(() => derSmallInteger(-1), TypeError);
  assert.throws(() => derSmallInteger(1.5), TypeError);
});

Deno.test("decodeDer() reads a nested structure built by encodeDer()", async () => {
  const der = encodeDer(
    derSequence(
      derSmallInteger(5),
      derSequence(derOid("1.2.840.113549.1.1.1"), derNull()),
      derBitString(bytes("0102")),
      derContext(0, derOctetString(bytes("aa"))),
    ),
  );
  const value = await succeed(
    parseDer(der, "test", (root) => {
      const [a, b, c, d] = readSequence(root, "root", 4);
      return {
        a: readSmallInteger(a, "a"),
        b: b!.children.length,
        c: hex(c!.contents),
        d: d!.tag,
      };
    }),
  );
  assert.deepEqual(value, { a: 5, b: 2, c: "000102", d: 0xa0 });
});

Deno.test("parseDer() turns a structure mismatch into a Malformed KeyError", async () => {
  const der = encodeDer(derSequence(derSmallInteger(5)));
  const e = await failWith(
    parseDer(der, "read thing", (root) => readSequence(root, "thing", 2)),
    "Malformed",
  );
  assert.equal(e.message, "Cannot read thing: thing has 1 elements, expected 2");
  const neg = encodeDer(derSequence({ tag: DerTag.Integer, parts: [bytes("80")] }));
  const e2 = await failWith(
    parseDer(neg, "read thing", (root) => readUnsignedInteger(root.children[0], "n")),
    "Malformed",
  );
  assert.equal(e2.message, "Cannot read thing: n is negative");
  const e3 = await failWith(
    parseDer(der, "read thing", () => {
      throw new RangeError("boom");
    }),
    "Malformed",
  );
  assert.equal(e3.message, "Cannot read thing: not valid DER");
});

Deno.test("decodeDer() refuses empty and truncated input", async () => {
  await malformed("");
  await malformed("30");
  await malformed("3003020105".slice(0, 8));
  await malformed("3082");
  await malformed("308201");
});

Deno.test("decodeDer() refuses indefinite lengths", async () => {
  const e = await malformed("30800201050000");
  assert.match(e.message, /indefinite/);
});

Deno.test("decodeDer() refuses non-minimal lengths", async () => {
  await malformed("3081030201 05");
  await malformed("308200030201 05");
  await malformed("04 82 007f" + "00".repeat(127));
  await malformed("04 83 000080" + "00".repeat(128));
  const e = await malformed("3081030201 05");
  assert.match(e.message, /minimally/);
});

Deno.test("decodeDer() refuses oversized lengths and lengths past the end", async () => {
  await malformed("3084ffffffff");
  await malformed("3085ffffffffff");
  await malformed("3088ffffffffffffffff");
  await malformed("30ff");
  await malformed("300502 01");
  await malformed("3084 7fffffff 020105");
  const inner = await malformed("3006 0410 00000000");
  assert.match(inner.message, /past the end/);
});

Deno.test("decodeDer() refuses trailing bytes", async () => {
  const e = await malformed("3000 00");
  assert.match(e.message, /trailing/);
  await malformed("020105 020105");
});

Deno.test("decodeDer() refuses non-DER primitives", async () => {
  await malformed("0200"); // empty INTEGER
  await malformed("02020005"); // leading zero
  await malformed("0202ff80"); // leading 0xff
  await malformed("050100"); // NULL with contents
  await malformed("0600"); // empty OID
  await malformed("06028001"); // non-minimal OID arc
  await malformed("060181"); // truncated OID arc
  await malformed("0300"); // empty BIT STRING
  await malformed("03020801"); // 8 unused bits
  await malformed("03020101"); // unused bits not zero
  await malformed("030107"); // unused bits without data
  await malformed("010105"); // BOOLEAN not 00/ff
  await malformed("2403040100"); // constructed OCTET STRING
  await malformed("2303030100"); // constructed BIT STRING
  await malformed("1000"); // primitive SEQUENCE
  await malformed("1f8100"); // high tag number
  await malformed("0000"); // end-of-contents
});

Deno.test("decodeDer() accepts context-specific, SET and opaque universal elements", async () => {
  const node = await succeed(decodeDer(bytes("3010 a003020101 8101ff 3106 0c0461626364")));
  assert.deepEqual(node.children.map((c) => c.tag), [0xa0, 0x81, 0x31]);
  assert.equal(node.children[2]!.children[0]!.tag, 0x0c);
});

Deno.test("decodeDer() refuses nesting deeper than MAX_DER_DEPTH", async () => {
  const nest = (depth: number): Uint8Array<ArrayBuffer> => {
    let v = encodeDer(derNull());
    for (let i = 1; i < depth; i++) v = encodeDer(derSequence({ encoded: v }));
    return v;
  };
  await succeed(decodeDer(nest(MAX_DER_DEPTH)));
  const e = await malformed(nest(MAX_DER_DEPTH + 1));
  assert.match(e.message, /nesting/);
  await malformed(nest(5000));
  // 0x30 0x80 repeated: indefinite and deep at once.
  await malformed(new Uint8Array(20000).map((_, i) => (i % 2 === 0 ? 0x30 : 0x80)));
  // Many definite lengths that all claim the rest of the buffer.
  const n = 3000;
  const claim = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    claim.set([0x30, 0x82, ((n - i - 1) * 4) >> 8, ((n - i - 1) * 4) & 0xff], i * 4);
  }
  await malformed(claim);
});

Deno.test("decodeDer() refuses input over MAX_DER_BYTES", async () => {
  const der = encodeDer(derOctetString(new Uint8Array(MAX_DER_BYTES)));
  const e = await malformed(der);
  assert.match(e.message, /larger than/);
});

Deno.test("decodeDer() refuses every truncation of a real key", async () => {
  for (const file of ["rsa4096_pkcs8.pem", "rsa4096_spki.pem"]) {
    const { der } = await succeed(parsePem(await readVector(file)));
    await succeed(decodeDer(der));
    for (let len = 0; len < der.length; len++) await malformed(der.slice(0, len));
  }
});

Deno.test("decodeDer() never throws or hangs on seeded random garbage", () => {
  const next = prng(0x5eed);
  let ok = 0;
  for (let i = 0; i < 20000; i++) {
    const data = randomBytes(next, Math.floor(next() * 64));
    if (data.length > 0 && next() < 0.5) data[0] = 0x30;
    const exit = Effect.runSyncExit(decodeDer(data));
    if (exit._tag === "Success") {
      ok++;
      continue;
    }
    assert.equal(exit.cause._tag, "Fail");
    if (exit.cause._tag === "Fail") assert.equal(exit.cause.error.reason, "Malformed");
  }
  assert.ok(ok < 20000);
});

Deno.test("decodeDer() never throws on seeded mutations of a real key", async () => {
  const { der } = await succeed(parsePem(await readVector("rsa2048_pkcs1.pem")));
  const next = prng(42);
  for (let i = 0; i < 5000; i++) {
    const m = der.slice();
    const flips = 1 + Math.floor(next() * 3);
    for (let j = 0; j < flips; j++) m[Math.floor(next() * m.length)] = Math.floor(next() * 256);
    const exit = Effect.runSyncExit(decodeDer(m));
    if (exit._tag === "Failure") {
      assert.equal(exit.cause._tag, "Fail");
    }
  }
});
