/**
 * The software TPM's quotes checked by independent verifiers: `tpm2_checkquote` (Debian's
 * `tpm2-tools`) for RSASSA and ECDSA AIKs, OpenSSL for RSA-PSS (tpm2-tools 5.4 verifies every
 * RSA quote with PKCS#1 v1.5 padding, tpm2-software/tpm2-tools#3283), and our own verifier.
 */
import assert from "node:assert/strict";
import { Encoding } from "effect";
import { verifyAttestation } from "../../src/attestation/tpm_quote.ts";
import {
  DEFAULT_PCR_VALUES,
  makeSoftwareQuote,
  nonceOf,
  type SoftwareAikScheme,
  type SoftwareQuote,
} from "../../src/testing/software_tpm.ts";

const has = async (command: string, args: string[]): Promise<boolean> => {
  try {
    return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
};
const hasTpm2Tools = await has("tpm2_checkquote", ["--version"]);
const hasOpenssl = await has("openssl", ["version"]);
if (!hasTpm2Tools) {
  console.warn("tpm2_checkquote is missing (apt-get install tpm2-tools): its tests are ignored");
}
if (!hasOpenssl) console.warn("openssl is missing: the RSA-PSS cross-check is ignored");

const PAYLOAD_ID = "7d9c2a64-5b0e-4f3a-9c1d-2e8f6a4b0c31";

const pem = async (key: CryptoKey): Promise<string> => {
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", key));
  const lines = Encoding.encodeBase64(spki).match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join("\n")}\n-----END PUBLIC KEY-----\n`;
};

/** The PCR values in tpm2_pcrread's format: the digests concatenated in ascending order. */
const pcrFile = (quote: SoftwareQuote): Uint8Array => {
  const values = quote.block.pcr_values;
  const order = Object.keys(values).map(Number).sort((a, b) => a - b);
  const hex = order.map((i) => values[String(i)]).join("");
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
};

const flip = (bytes: Uint8Array, at: number): Uint8Array => {
  const out = bytes.slice();
  out[at] = out[at]! ^ 0x01;
  return out;
};

interface Files {
  readonly quote?: Uint8Array;
  readonly signature?: Uint8Array;
  readonly pcrs?: Uint8Array;
  readonly nonce?: Uint8Array;
}

/** Runs `tpm2_checkquote` on the quote (parts replaced by `files`); its exit status. */
const checkquote = async (quote: SoftwareQuote, files: Files = {}): Promise<boolean> => {
  const dir = await Deno.makeTempDir({ prefix: "nomyo-checkquote-" });
  try {
    await Deno.writeTextFile(`${dir}/aik.pem`, await pem(quote.aikPublicKey));
    await Deno.writeFile(`${dir}/quote.bin`, files.quote ?? quote.quote);
    await Deno.writeFile(`${dir}/sig.bin`, files.signature ?? quote.signature);
    await Deno.writeFile(`${dir}/pcrs.bin`, files.pcrs ?? pcrFile(quote));
    const list = `sha256:${Object.keys(quote.block.pcr_values).map(Number).sort((a, b) => a - b)}`;
    const nonce = Encoding.encodeHex(files.nonce ?? await nonceOf(PAYLOAD_ID));
    const { success } = await new Deno.Command("tpm2_checkquote", {
      args: [
        ...["-u", `${dir}/aik.pem`, "-m", `${dir}/quote.bin`, "-s", `${dir}/sig.bin`],
        ...["-g", "sha256", "-q", nonce, "-l", list, "-f", `${dir}/pcrs.bin`],
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

for (const aik of ["rsassa", "ecdsa"] as const) {
  Deno.test({
    name: `makeSoftwareQuote() ${aik}: tpm2_checkquote accepts it and refuses a flipped byte`,
    ignore: !hasTpm2Tools,
    fn: async () => {
      const quote = await makeSoftwareQuote(PAYLOAD_ID, { aik });
      assert.equal(await checkquote(quote), true, "tpm2_checkquote accepts the quote");
      // Offsets: 6 is in qualifiedSigner, 44 in extraData, the last byte in the PCR digest.
      for (const at of [0, 6, 44, 60, quote.quote.length - 1]) {
        assert.equal(
          await checkquote(quote, { quote: flip(quote.quote, at) }),
          false,
          `quote ${at}`,
        );
      }
      for (const at of [8, quote.signature.length - 1]) {
        const signature = flip(quote.signature, at);
        assert.equal(await checkquote(quote, { signature }), false, `signature byte ${at}`);
      }
      assert.equal(await checkquote(quote, { pcrs: flip(pcrFile(quote), 40) }), false, "a PCR");
      const other = await nonceOf("another payload id");
      assert.equal(await checkquote(quote, { nonce: other }), false, "another nonce");
    },
  });
}

Deno.test({
  name: "makeSoftwareQuote() with custom PCRs: tpm2_checkquote accepts it",
  ignore: !hasTpm2Tools,
  fn: async () => {
    const pcrValues = { "4": "ab".repeat(32), "23": "01".repeat(32), "1": "ff".repeat(32) };
    const quote = await makeSoftwareQuote(PAYLOAD_ID, { aik: "ecdsa", pcrValues });
    assert.deepEqual(Object.keys(quote.block.pcr_values), ["1", "4", "23"]);
    assert.equal(await checkquote(quote), true);
  },
});

Deno.test({
  name: "makeSoftwareQuote() rsapss: OpenSSL verifies the PSS signature, and not a flipped quote",
  ignore: !hasOpenssl,
  fn: async () => {
    const quote = await makeSoftwareQuote(PAYLOAD_ID, { aik: "rsapss" });
    const dir = await Deno.makeTempDir({ prefix: "nomyo-pss-" });
    try {
      await Deno.writeTextFile(`${dir}/aik.pem`, await pem(quote.aikPublicKey));
      // TPMT_SIGNATURE: sigAlg (2), hash (2), size (2), then the 256 signature bytes.
      assert.deepEqual([...quote.signature.subarray(0, 6)], [0x00, 0x16, 0x00, 0x0b, 0x01, 0x00]);
      await Deno.writeFile(`${dir}/sig.raw`, quote.signature.subarray(6));
      const verify = async (message: Uint8Array) => {
        await Deno.writeFile(`${dir}/quote.bin`, message);
        const args = ["dgst", "-sha256", "-verify", `${dir}/aik.pem`];
        args.push("-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32");
        args.push("-signature", `${dir}/sig.raw`, `${dir}/quote.bin`);
        const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "null" })
          .output();
        return out.success;
      };
      assert.equal(await verify(quote.quote), true);
      assert.equal(await verify(flip(quote.quote, 44)), false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

for (const aik of ["rsassa", "rsapss", "ecdsa"] as const satisfies SoftwareAikScheme[]) {
  Deno.test(`makeSoftwareQuote() ${aik}: verifyAttestation() accepts it with its PCRs`, async () => {
    const { block } = await makeSoftwareQuote(PAYLOAD_ID, { aik });
    const result = await verifyAttestation(
      { _metadata: { payload_id: PAYLOAD_ID, tpm_attestation: block } },
      { pcrBaseline: DEFAULT_PCR_VALUES },
    );
    assert.equal(result.signatureScheme, aik);
    assert.equal(result.aikType, aik === "ecdsa" ? "ecc" : "rsa");
    assert.deepEqual(result.pcrs, DEFAULT_PCR_VALUES);
    assert.equal(result.baselineChecked, true);
  });
}

Deno.test("makeSoftwareQuote() makes a fresh AIK for every quote", async () => {
  const a = await makeSoftwareQuote(PAYLOAD_ID);
  const b = await makeSoftwareQuote(PAYLOAD_ID);
  assert.notEqual(a.block.aik_pubkey_b64, b.block.aik_pubkey_b64);
});

Deno.test("makeSoftwareQuote() refuses PCR values that are not a sha256 bank", async () => {
  const bad: ReadonlyArray<Record<string, string>> = [
    {},
    { "24": "00".repeat(32) },
    { "07": "00".repeat(32) },
    { "7": "AB".repeat(32) },
    { "7": "00".repeat(31) },
  ];
  for (const pcrValues of bad) {
    await assert.rejects(makeSoftwareQuote(PAYLOAD_ID, { pcrValues }), TypeError);
  }
  // Inherited properties are not PCRs.
  const inherited = Object.create({ "7": "00".repeat(32) }) as Record<string, string>;
  await assert.rejects(makeSoftwareQuote(PAYLOAD_ID, { pcrValues: inherited }), TypeError);
});
