import assert from "node:assert/strict";
import { Effect } from "effect";
import { formatPem, formatPemBytes, MAX_PEM_LENGTH, parsePem } from "../../src/keys/pem.ts";
import { failWith, prng, randomBytes, readVector, readVectorBytes, succeed } from "./_helpers.ts";

const pem = (body: string, label = "PUBLIC KEY"): string =>
  `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;

Deno.test("parsePem() reads every vector file with its label", async () => {
  const cases: Array<[string, string]> = [
    ["rsa4096_spki.pem", "PUBLIC KEY"],
    ["rsa4096_pkcs8.pem", "PRIVATE KEY"],
    ["rsa2048_pkcs1.pem", "RSA PRIVATE KEY"],
    ["rsa4096_pkcs8_encrypted.pem", "ENCRYPTED PRIVATE KEY"],
  ];
  for (const [file, label] of cases) {
    const block = await succeed(parsePem(await readVector(file)));
    assert.equal(block.label, label);
    assert.equal(block.der[0], 0x30);
  }
});

Deno.test("parsePem() reads bytes like the same string", async () => {
  const text = await readVector("rsa4096_spki.pem");
  const a = await succeed(parsePem(text));
  const b = await succeed(parsePem(await readVectorBytes("rsa4096_spki.pem")));
  assert.deepEqual(a, b);
});

Deno.test("parsePem() accepts CRLF line breaks, other line lengths and surrounding blank space", async () => {
  const text = await readVector("rsa4096_spki.pem");
  const expected = await succeed(parsePem(text));
  const crlf = text.replaceAll("\n", "\r\n");
  assert.deepEqual(await succeed(parsePem(crlf)), expected);
  assert.deepEqual(await succeed(parsePem(`\n\n  ${text}\n\t\n`)), expected);
  const lines = text.trim().split("\n");
  const body = lines.slice(1, -1).join("");
  const rewrapped = [lines[0], ...(body.match(/.{1,76}/g) ?? []), lines[lines.length - 1]].join(
    "\n",
  );
  assert.deepEqual(await succeed(parsePem(rewrapped)), expected);
  const oneLine = [lines[0], body, lines[lines.length - 1]].join("\n");
  assert.deepEqual(await succeed(parsePem(oneLine)), expected);
});

Deno.test("parsePem() refuses legacy OpenSSL encryption headers with UnsupportedEncryption", async () => {
  const e = await failWith(
    parsePem(await readVector("rsa2048_pkcs1_legacy_encrypted.pem")),
    "UnsupportedEncryption",
  );
  assert.match(e.message, /Proc-Type/);
  await failWith(
    parsePem(pem("DEK-Info: AES-256-CBC,00\n\nMAA=", "RSA PRIVATE KEY")),
    "UnsupportedEncryption",
  );
});

Deno.test("parsePem() refuses other headers", async () => {
  await failWith(parsePem(pem("Comment: hello\n\nMAA=")), "Malformed");
});

Deno.test("parsePem() refuses anything but one strict block", async () => {
  const good = pem("MAA=");
  await succeed(parsePem(good));
  const bad: Array<[string, string]> = [
    ["", "empty"],
    ["MAA=", "no armour"],
    ["text\n" + good, "text before"],
    [good + "text\n", "text after"],
    [good + good, "two blocks"],
    [pem("MAA=", "CERTIFICATE"), "unknown label"],
    [pem("MAA=", "RSA PUBLIC KEY"), "unknown label"],
    ["-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PRIVATE KEY-----\n", "labels differ"],
    ["-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n", "no body"],
    ["-----BEGIN PUBLIC KEY----- \nMAA=\n-----END PUBLIC KEY-----\n", "space after BEGIN"],
    ["-----BEGIN public key-----\nMAA=\n-----END public key-----\n", "lowercase label"],
    ["-----BEGIN  PUBLIC KEY-----\nMAA=\n-----END  PUBLIC KEY-----\n", "double space"],
    [pem("MA A="), "space in body"],
    [pem("MA\tA="), "tab in body"],
    [pem("MA\n\nA="), "blank line in body"],
    [pem("MAA= "), "trailing space"],
    [pem("MAA"), "missing padding"],
    [pem("MA=A"), "padding in the middle"],
    [pem("MA==MAA="), "padding then data"],
    [pem("MAB="), "non-canonical padding bits"],
    [pem("MB=="), "non-canonical padding bits"],
    [pem("MA-_"), "URL-safe alphabet"],
    [pem("===="), "only padding"],
    [pem("MAA=\r\r"), "stray CR"],
    [pem("MAA=\n-----BEGIN PUBLIC KEY-----\nMAA="), "nested BEGIN"],
  ];
  for (const [text, why] of bad) {
    const e = await failWith(parsePem(text), "Malformed").catch((err) => {
      throw new Error(`${why}: ${err}`);
    });
    assert.match(e.message, /^Cannot read PEM: /, why);
  }
});

Deno.test("parsePem() refuses non-ASCII and oversized input", async () => {
  await failWith(parsePem(pem("MAA=") + "é"), "Malformed");
  await failWith(parsePem(new Uint8Array([0x2d, 0xff, 0x2d])), "Malformed");
  const big = pem("A".repeat(MAX_PEM_LENGTH));
  const e = await failWith(parsePem(big), "Malformed");
  assert.match(e.message, /larger than/);
  await failWith(parsePem(new TextEncoder().encode(big)), "Malformed");
});

Deno.test("parsePem() never throws on seeded random garbage", () => {
  const next = prng(7);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-\n\r :";
  for (let i = 0; i < 3000; i++) {
    const n = Math.floor(next() * 80);
    let body = "";
    for (let j = 0; j < n; j++) body += alphabet[Math.floor(next() * alphabet.length)];
    for (const input of [pem(body), body, randomBytes(next, n)]) {
      const exit = Effect.runSyncExit(parsePem(input));
      if (exit._tag === "Failure") assert.equal(exit.cause._tag, "Fail");
    }
  }
});

Deno.test("formatPem() writes 64-character lines and a trailing newline", () => {
  const der = new Uint8Array(200).map((_, i) => i);
  const text = formatPem("PUBLIC KEY", der);
  const lines = text.split("\n");
  assert.equal(lines[0], "-----BEGIN PUBLIC KEY-----");
  assert.equal(lines.at(-2), "-----END PUBLIC KEY-----");
  assert.equal(lines.at(-1), "");
  const body = lines.slice(1, -2);
  assert.ok(body.slice(0, -1).every((l) => l.length === 64));
  assert.ok(body.at(-1)!.length <= 64 && body.at(-1)!.length > 0);
});

Deno.test("formatPemBytes() writes the same bytes as formatPem() and parsePem() reads both back", async () => {
  const next = prng(99);
  for (let n = 1; n < 300; n++) {
    const der = randomBytes(next, n);
    const text = formatPem("PRIVATE KEY", der);
    assert.deepEqual(formatPemBytes("PRIVATE KEY", der), new TextEncoder().encode(text));
    assert.deepEqual((await succeed(parsePem(text))).der, der);
  }
});

Deno.test("formatPem() reproduces the vector files byte for byte", async () => {
  for (const file of ["rsa4096_spki.pem", "rsa4096_pkcs8.pem", "rsa2048_pkcs1.pem"]) {
    const text = await readVector(file);
    const block = await succeed(parsePem(text));
    assert.equal(formatPem(block.label, block.der), text);
  }
});
