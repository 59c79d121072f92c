import assert from "node:assert/strict";
import { Context, Effect, Encoding, Layer } from "effect";
import {
  type AttestationResult,
  AttestationVerifier,
  layerAttestationVerifier,
  verifyAttestation,
  verifyAttestationEffect,
  verifyQuote,
} from "../../src/attestation/mod.ts";
import { AttestationError } from "../../src/errors.ts";
import {
  b64,
  expectFailure,
  expectSuccess,
  expectTypeErrorDefect,
  prng,
  randomBytes,
  run,
  vector,
} from "./_helpers.ts";

const RSA = vector("valid-rsa-rsassa-1");
const ECC = vector("valid-ecc-ecdsa-2");
const B64_FIELDS = ["aik_pubkey_b64", "quote_b64", "signature_b64"] as const;

const withField = (field: string, value: unknown): Record<string, unknown> => ({
  ...RSA.tpm_attestation,
  [field]: value,
});

const responseOf = (payloadId: unknown, block: unknown = RSA.tpm_attestation) => ({
  _metadata: { payload_id: payloadId, tpm_attestation: block },
});

Deno.test("verifyAttestationEffect() fails with missing when there is no block", async () => {
  const responses: unknown[] = [
    undefined,
    null,
    42,
    "text",
    [],
    {},
    { _metadata: null },
    { _metadata: "x" },
    { _metadata: {} },
    { _metadata: { payload_id: RSA.payload_id } },
    { _metadata: { payload_id: RSA.payload_id, tpm_attestation: null } },
  ];
  for (const response of responses) {
    expectFailure(await run(verifyAttestationEffect(response)), ["Missing"]);
  }
});

Deno.test("verifyQuote() refuses wrong JSON types as BadBase64", async () => {
  for (const block of [null, 1, "block", [], [RSA.tpm_attestation]]) {
    expectFailure(await run(verifyQuote(block, RSA.payload_id)), ["BadBase64"]);
  }
  const wrong: unknown[] = [undefined, null, 42, true, [], {}, ["AAAA"]];
  for (const field of [...B64_FIELDS, "pcr_bank"]) {
    for (const value of wrong) {
      const error = expectFailure(
        await run(verifyQuote(withField(field, value), RSA.payload_id)),
        ["BadBase64"],
      );
      assert.equal(error.message, `Cannot read ${field}: wrong type`);
    }
  }
  for (
    const values of [null, 7, "0,7,10", [], [RSA.tpm_attestation.pcr_values], { "0": 1 }, {
      "0": null,
    }, { "0": ["aa"] }]
  ) {
    expectFailure(await run(verifyQuote(withField("pcr_values", values), RSA.payload_id)), [
      "BadBase64",
    ]);
  }
});

Deno.test("verifyQuote() refuses non-canonical base64 in every field", async () => {
  for (const field of B64_FIELDS) {
    const text = RSA.tpm_attestation[field];
    const spoiled = [
      `${text}\n`,
      `${text.slice(0, 8)}\r\n${text.slice(8)}`,
      ` ${text}`,
      `${text.slice(0, 8)} ${text.slice(8)}`,
      text.replaceAll("+", "-").replaceAll("/", "_"),
      text.slice(0, -1),
    ];
    for (const value of spoiled) {
      assert.notEqual(value, text);
      expectFailure(await run(verifyQuote(withField(field, value), RSA.payload_id)), [
        "BadBase64",
      ]);
    }
  }
  // The signature is 262 bytes, so its text ends in "==": drop the padding.
  const signature = RSA.tpm_attestation.signature_b64;
  assert.ok(signature.endsWith("=="));
  expectFailure(
    await run(verifyQuote(withField("signature_b64", signature.slice(0, -2)), RSA.payload_id)),
    ["BadBase64"],
  );
});

Deno.test("verifyQuote() refuses every truncation of every structure as malformed", async () => {
  for (const v of [RSA, ECC]) {
    for (const field of B64_FIELDS) {
      const bytes = b64(v.tpm_attestation[field]);
      for (let length = 0; length < bytes.length; length++) {
        const block = {
          ...v.tpm_attestation,
          [field]: Encoding.encodeBase64(bytes.slice(0, length)),
        };
        expectFailure(await run(verifyQuote(block, v.payload_id)), ["Malformed"]);
      }
    }
  }
});

Deno.test("verifyQuote() never accepts seeded random garbage and never throws", async () => {
  const next = prng(2024);
  for (const field of B64_FIELDS) {
    for (let i = 0; i < 100; i++) {
      const garbage = Encoding.encodeBase64(randomBytes(next, Math.floor(next() * 300)));
      expectFailure(await run(verifyQuote(withField(field, garbage), RSA.payload_id)), [
        "Malformed",
        "BadMagic",
        "BadType",
        "NonceMismatch",
        "PcrMismatch",
        "BadSignature",
      ]);
    }
  }
});

Deno.test("verifyQuote() refuses pcr_values that go beyond or around the selection", async () => {
  const values = RSA.tpm_attestation.pcr_values;
  const cases: unknown[] = [
    { ...values, "1": "00".repeat(32) }, // a PCR the quote does not cover
    { ...values, "07": values["7"] }, // a non-canonical index
    JSON.parse(
      `{"__proto__": "x", "0": "${values["0"]}", "7": "${values["7"]}", "10": "${values["10"]}"}`,
    ),
    { ...values, "10": values["10"]?.toUpperCase() }, // hex must be lowercase
    { ...values, "10": values["10"]?.slice(2) }, // too short
    { ...values, "10": `${values["10"]}00` }, // too long
    { "0": values["0"], "10": values["10"] }, // PCR 7 missing
  ];
  for (const pcrValues of cases) {
    expectFailure(await run(verifyQuote(withField("pcr_values", pcrValues), RSA.payload_id)), [
      "PcrMismatch",
    ]);
  }
  for (const bank of ["sha1", "SHA256", "sha-256", ""]) {
    expectFailure(await run(verifyQuote(withField("pcr_bank", bank), RSA.payload_id)), [
      "PcrMismatch",
    ]);
  }
});

Deno.test("verifyQuote() dies with a TypeError when payloadId is not a string", async () => {
  expectTypeErrorDefect(
    await run(verifyQuote(RSA.tpm_attestation, 42 as unknown as string)),
  );
});

Deno.test("verifyAttestationEffect() takes the payload id from the caller or the response", async () => {
  const fromResponse = expectSuccess(
    await run(verifyAttestationEffect(responseOf(RSA.payload_id))),
  );
  assert.equal(fromResponse.payloadId, RSA.payload_id);
  const fromCaller = expectSuccess(
    await run(
      verifyAttestationEffect({ _metadata: { tpm_attestation: RSA.tpm_attestation } }, {
        payloadId: RSA.payload_id,
      }),
    ),
  );
  assert.equal(fromCaller.payloadId, RSA.payload_id);
});

Deno.test("verifyAttestationEffect() refuses a payload id that is absent, mistyped or different", async () => {
  expectFailure(
    await run(verifyAttestationEffect({ _metadata: { tpm_attestation: RSA.tpm_attestation } })),
    ["NonceMismatch"],
  );
  for (const echoed of [42, null, ["id"], {}]) {
    expectFailure(await run(verifyAttestationEffect(responseOf(echoed))), ["BadBase64"]);
  }
  const other = "00000000-0000-4000-8000-000000000000";
  // The response echoes its own id, but the client sent another: a replayed response.
  const replayed = expectFailure(
    await run(verifyAttestationEffect(responseOf(RSA.payload_id), { payloadId: other })),
    ["NonceMismatch"],
  );
  assert.equal(replayed.payloadId, other);
  // The quote is bound to the id the client sent, but the response claims another: refused.
  const relabeled = expectFailure(
    await run(verifyAttestationEffect(responseOf(other), { payloadId: RSA.payload_id })),
    ["NonceMismatch"],
  );
  assert.match(relabeled.message, /another payload id/);
  expectFailure(
    await run(
      verifyAttestationEffect({ _metadata: { tpm_attestation: RSA.tpm_attestation } }, {
        payloadId: other,
      }),
    ),
    ["NonceMismatch"],
  );
});

Deno.test("verifyQuote() accepts a matching PCR baseline in any case", async () => {
  const values = ECC.tpm_attestation.pcr_values;
  const baselines: Record<string, string>[] = [
    { ...values },
    { "7": values["7"]?.toUpperCase() ?? "" },
    { 0: values["0"] ?? "", 10: values["10"] ?? "" },
  ];
  for (const pcrBaseline of baselines) {
    const result = expectSuccess(
      await run(verifyQuote(ECC.tpm_attestation, ECC.payload_id, { pcrBaseline })),
    );
    assert.equal(result.baselineChecked, true);
  }
});

Deno.test("verifyQuote() refuses a differing PCR baseline with BaselineMismatch", async () => {
  const values = ECC.tpm_attestation.pcr_values;
  const baselines: Record<string, string>[] = [
    { ...values, "10": "00".repeat(32) },
    { "7": "ff".repeat(32) },
    { "1": "00".repeat(32) }, // a PCR the quote does not cover
  ];
  for (const pcrBaseline of baselines) {
    expectFailure(await run(verifyQuote(ECC.tpm_attestation, ECC.payload_id, { pcrBaseline })), [
      "BaselineMismatch",
    ]);
  }
});

Deno.test("verifyQuote() checks the baseline after the signature", async () => {
  const flipped = vector("invalid-signature-byte-flipped-ecc-ecdsa-1");
  expectFailure(
    await run(
      verifyQuote(flipped.tpm_attestation, flipped.payload_id, {
        pcrBaseline: { "7": "00".repeat(32) },
      }),
    ),
    ["BadSignature"],
  );
});

Deno.test("verifyQuote() dies with a TypeError for an unusable baseline", async () => {
  const baselines: Record<string, string>[] = [
    {},
    { "seven": "00".repeat(32) },
    { "07": "00".repeat(32) },
    { "7": "00" },
    { "7": "zz".repeat(32) },
    { "7": 7 as unknown as string },
  ];
  for (const pcrBaseline of baselines) {
    expectTypeErrorDefect(
      await run(verifyQuote(ECC.tpm_attestation, ECC.payload_id, { pcrBaseline })),
    );
  }
});

Deno.test("verifyAttestation() rejects with the AttestationError itself", async () => {
  const replay = vector("invalid-replay-rsa-rsassa-1");
  await assert.rejects(
    verifyAttestation(responseOf(replay.payload_id, replay.tpm_attestation)),
    (e: unknown) => {
      assert.ok(e instanceof AttestationError);
      assert.equal(e._tag, "AttestationError");
      assert.equal(e.name, "AttestationError");
      assert.equal(e.reason, "NonceMismatch");
      assert.equal(e.payloadId, replay.payload_id);
      return true;
    },
  );
  await assert.rejects(verifyAttestation(undefined), (e: unknown) => {
    assert.ok(e instanceof AttestationError && e.reason === "Missing");
    return true;
  });
});

Deno.test("verifyAttestation() rejects with a TypeError for an empty baseline", async () => {
  await assert.rejects(
    verifyAttestation(responseOf(RSA.payload_id), { pcrBaseline: {} }),
    TypeError,
  );
});

Deno.test("AttestationVerifier verifies through layerAttestationVerifier", async () => {
  const result = await Effect.runPromise(
    Effect.flatMap(AttestationVerifier, (verifier) =>
      Effect.all([
        verifier.verify(responseOf(ECC.payload_id, ECC.tpm_attestation)),
        verifier.verifyQuote(RSA.tpm_attestation, RSA.payload_id),
      ])).pipe(Effect.provide(layerAttestationVerifier)),
  );
  assert.equal(result[0].aikType, "ecc");
  assert.equal(result[1].aikType, "rsa");
  const exit = await run(
    Effect.flatMap(AttestationVerifier, (verifier) => verifier.verify({})).pipe(
      Effect.provide(layerAttestationVerifier),
    ),
  );
  expectFailure(exit, ["Missing"]);
});

Deno.test("AttestationVerifier tag has the documented key and can be faked", async () => {
  assert.equal(AttestationVerifier.key, "@nomyo/client/AttestationVerifier");
  const calls: unknown[] = [];
  const fake: AttestationVerifier = {
    verify: (response) => {
      calls.push(response);
      return Effect.succeed({ payloadId: "fake" } as unknown as AttestationResult);
    },
    verifyQuote: () => Effect.die("unused"),
  };
  const result = await Effect.runPromise(
    Effect.flatMap(AttestationVerifier, (v) => v.verify("r")).pipe(
      Effect.provide(Layer.succeed(AttestationVerifier, fake)),
    ),
  );
  assert.equal(result.payloadId, "fake");
  assert.deepEqual(calls, ["r"]);
  assert.ok(Context.isTag(AttestationVerifier));
});
