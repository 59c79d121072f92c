/**
 * Test-only TPM marshaling: the software TPM's marshaling (src/testing/software_tpm.ts) with
 * the fixed clock and PCR values the synthetic quote tests assert, to cover cases the swtpm
 * vectors do not (RSA-PSS maximum salt, short ECDSA r/s, scheme mismatches, odd PCR selections).
 *
 * @module
 */
import { Encoding } from "effect";
import type { TpmAttestationBlock } from "../../src/attestation/mod.ts";
import {
  generateSoftwareAik,
  nonceOf,
  type PcrBank,
  pcrDigestOf,
  quoteAttest,
  type QuoteParts,
  tpm2b,
} from "../../src/testing/software_tpm.ts";

export {
  ALG,
  concat,
  eccPublic,
  ecdsaSignature,
  nonceOf,
  pcrBitmap as bitmap,
  pcrDigestOf,
  rsaPublic,
  rsaSignature,
  sha256,
  tpm2b,
  u16,
  u32,
  u64,
  u8,
} from "../../src/testing/software_tpm.ts";

/** A PCR bank selection: `[hashAlg, PCR indices, sizeofSelect]`. */
export type Bank = PcrBank;

/** Parts of a `TPMS_ATTEST` a test may change. */
export type AttestParts = Pick<QuoteParts, "extraData" | "pcrDigest" | "banks" | "magic" | "type">;

/** Marshals a quote `TPMS_ATTEST` with the fixed clock and firmware the tests assert. */
export const attest = (p: AttestParts): Uint8Array<ArrayBuffer> => quoteAttest(p);

/** Lowercase hex. */
export const hex = (bytes: Uint8Array): string => Encoding.encodeHex(bytes);

/** Fixed PCR values for synthetic quotes. */
export const PCR_VALUES: Readonly<Record<string, string>> = {
  "0": "11".repeat(32),
  "7": "22".repeat(32),
  "10": "33".repeat(32),
};

/** A WebCrypto key and how it signs as a TPM would. */
export interface Signer {
  /** The marshaled `TPM2B_PUBLIC`. */
  readonly aik: Uint8Array<ArrayBuffer>;
  /** Signs the quote bytes and marshals a `TPMT_SIGNATURE`. */
  readonly sign: (quote: Uint8Array<ArrayBuffer>) => Promise<Uint8Array<ArrayBuffer>>;
}

/** RSA-2048 signer; `saltLength` for PSS. */
export const rsaSigner = async (
  scheme: "rsassa" | "rsapss",
  options: { saltLength?: number; keyScheme?: readonly [number, number] | null } = {},
): Promise<Signer & { readonly modulus: Uint8Array<ArrayBuffer> }> => {
  const aik = await generateSoftwareAik(scheme, options);
  const jwk = await crypto.subtle.exportKey("jwk", aik.publicKey);
  const decoded = Encoding.decodeBase64Url(jwk.n ?? "");
  if (decoded._tag === "Left") throw new Error("bad base64url in JWK");
  return { modulus: new Uint8Array(decoded.right), aik: tpm2b(aik.tpmtPublic), sign: aik.sign };
};

/** P-256 signer; `marshal` decides how r and s go on the wire (default: as 32 bytes each). */
export const ecdsaSigner = async (
  marshal?: (r: Uint8Array<ArrayBuffer>, s: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer>,
): Promise<Signer> => {
  const aik = await generateSoftwareAik(
    "ecdsa",
    marshal === undefined ? {} : { marshalEcdsa: marshal },
  );
  return { aik: tpm2b(aik.tpmtPublic), sign: aik.sign };
};

/** Builds a block: a quote over `pcrValues` for `payloadId`, signed by `signer`. */
export const buildBlock = async (
  signer: Signer,
  payloadId: string,
  options: {
    readonly pcrValues?: Readonly<Record<string, string>>;
    readonly quote?: Partial<AttestParts>;
  } = {},
): Promise<TpmAttestationBlock> => {
  const pcrValues = options.pcrValues ?? PCR_VALUES;
  const indices = Object.keys(PCR_VALUES).map(Number).sort((a, b) => a - b);
  const quote = attest({
    extraData: await nonceOf(payloadId),
    pcrDigest: await pcrDigestOf(indices.map((i) => PCR_VALUES[String(i)] ?? "")),
    ...options.quote,
  });
  return {
    aik_pubkey_b64: Encoding.encodeBase64(signer.aik),
    quote_b64: Encoding.encodeBase64(quote),
    signature_b64: Encoding.encodeBase64(await signer.sign(quote)),
    pcr_bank: "sha256",
    pcr_values: pcrValues,
  };
};
