/**
 * A TPM 2.0 quote made in software, for tests: a fresh Attestation Identity Key per quote
 * (WebCrypto RSASSA-PKCS1-v1_5, RSA-PSS or ECDSA P-256), qualifying data bound to the payload id
 * as the verifier expects (the first 16 bytes of SHA-256 of its UTF-8), a PCR digest over the
 * configured values, and the `TPM2B_PUBLIC` / `TPMS_ATTEST` / `TPMT_SIGNATURE` marshaling a TPM
 * uses (TPM 2.0 Part 2), so independent verifiers such as `tpm2_checkquote` accept it.
 *
 * It proves nothing about a machine: the key was made here, in software.
 *
 * @module
 */
import * as Encoding from "effect/Encoding";
import type { TpmAttestationBlock } from "../attestation/tpm_quote.ts";

/** Concatenates byte arrays. */
export const concat = (...parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

/** A `UINT8`. */
export const u8 = (n: number): Uint8Array<ArrayBuffer> => Uint8Array.of(n & 0xff);
/** A big-endian `UINT16`. */
export const u16 = (n: number): Uint8Array<ArrayBuffer> => Uint8Array.of((n >> 8) & 0xff, n & 0xff);
/** A big-endian `UINT32`. */
export const u32 = (n: number): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0, false);
  return out;
};
/** A big-endian `UINT64`. */
export const u64 = (n: bigint): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, false);
  return out;
};
/** A `TPM2B_*`: a `UINT16` size, then the bytes. */
export const tpm2b = (bytes: Uint8Array): Uint8Array<ArrayBuffer> =>
  concat(u16(bytes.length), bytes);

/** `TPM_ALG_ID` values (TPM 2.0 Part 2). */
export const ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  AES: 0x0006,
  SHA256: 0x000b,
  NULL: 0x0010,
  RSASSA: 0x0014,
  RSAES: 0x0015,
  RSAPSS: 0x0016,
  ECDSA: 0x0018,
  ECDAA: 0x001a,
  ECC: 0x0023,
  CFB: 0x0043,
} as const;

/** `TPMA_OBJECT` of an AIK: fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth, restricted, sign. */
export const AIK_ATTRIBUTES = 0x00050072;

/** Parts of an RSA `TPMT_PUBLIC`. */
export interface RsaPublicParts {
  /** Big-endian modulus. */
  readonly modulus: Uint8Array;
  /** `keyBits`; default the modulus length in bits. */
  readonly keyBits?: number;
  /** Wire exponent; default 0 (meaning 65537). */
  readonly exponent?: number;
  /** `[scheme, hash]`, or `null` for a NULL scheme; default RSASSA with SHA-256. */
  readonly scheme?: readonly [number, number] | null;
  /** `[alg, keyBits, mode]`, or `null` (the default) for NULL. */
  readonly symmetric?: readonly [number, number, number] | null;
}

/** Marshals an RSA `TPMT_PUBLIC` (without the `TPM2B` size). */
export const rsaTpmtPublic = (p: RsaPublicParts): Uint8Array<ArrayBuffer> => {
  const scheme = p.scheme === undefined ? [ALG.RSASSA, ALG.SHA256] : p.scheme;
  return concat(
    u16(ALG.RSA),
    u16(ALG.SHA256),
    u32(AIK_ATTRIBUTES),
    tpm2b(new Uint8Array(0)),
    p.symmetric
      ? concat(u16(p.symmetric[0]), u16(p.symmetric[1]), u16(p.symmetric[2]))
      : u16(ALG.NULL),
    scheme === null ? u16(ALG.NULL) : concat(u16(scheme[0]), u16(scheme[1])),
    u16(p.keyBits ?? p.modulus.length * 8),
    u32(p.exponent ?? 0),
    tpm2b(p.modulus),
  );
};

/** Marshals an RSA `TPM2B_PUBLIC`. */
export const rsaPublic = (p: RsaPublicParts): Uint8Array<ArrayBuffer> => tpm2b(rsaTpmtPublic(p));

/** Marshals a NIST P-256 ECC `TPMT_PUBLIC` (without the `TPM2B` size). */
export const eccTpmtPublic = (
  x: Uint8Array,
  y: Uint8Array,
  scheme: readonly [number, number] | null = [ALG.ECDSA, ALG.SHA256],
  curve = 0x0003,
): Uint8Array<ArrayBuffer> =>
  concat(
    u16(ALG.ECC),
    u16(ALG.SHA256),
    u32(AIK_ATTRIBUTES),
    tpm2b(new Uint8Array(0)),
    u16(ALG.NULL),
    scheme === null ? u16(ALG.NULL) : concat(u16(scheme[0]), u16(scheme[1])),
    u16(curve),
    u16(ALG.NULL),
    tpm2b(x),
    tpm2b(y),
  );

/** Marshals a NIST P-256 ECC `TPM2B_PUBLIC`. */
export const eccPublic = (
  x: Uint8Array,
  y: Uint8Array,
  scheme: readonly [number, number] | null = [ALG.ECDSA, ALG.SHA256],
  curve = 0x0003,
): Uint8Array<ArrayBuffer> => tpm2b(eccTpmtPublic(x, y, scheme, curve));

/** A PCR bank selection: `[hashAlg, PCR indices, sizeofSelect (default 3)]`. */
export type PcrBank = readonly [number, readonly number[], number?];

/** The bitmap of a PCR selection: PCR `i` is bit `i % 8` of byte `i / 8`. */
export const pcrBitmap = (pcrs: readonly number[], size = 3): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(size);
  for (const i of pcrs) out[i >> 3] = (out[i >> 3] ?? 0) | (1 << (i & 7));
  return out;
};

/** Marshals a `TPML_PCR_SELECTION`. */
export const pcrSelection = (banks: readonly PcrBank[]): Uint8Array<ArrayBuffer> =>
  concat(
    u32(banks.length),
    ...banks.map(([hash, pcrs, size]) => concat(u16(hash), u8(size ?? 3), pcrBitmap(pcrs, size))),
  );

/** `TPMS_CLOCK_INFO`. */
export interface ClockParts {
  /** Milliseconds since the TPM was cleared. */
  readonly clock: bigint;
  /** Resets since the last clear. */
  readonly resetCount: number;
  /** Restarts since the last reset. */
  readonly restartCount: number;
  /** Whether the clock never went backwards. */
  readonly safe: boolean;
}

/** Parts of a quote `TPMS_ATTEST`. */
export interface QuoteParts {
  /** The qualifying data (the nonce). */
  readonly extraData: Uint8Array;
  /** Hash of the selected PCR values. */
  readonly pcrDigest: Uint8Array;
  /** The PCR selection; default sha256 PCRs 0, 7 and 10. */
  readonly banks?: readonly PcrBank[];
  /** Default `TPM_GENERATED_VALUE`. */
  readonly magic?: number;
  /** Default `TPM_ST_ATTEST_QUOTE`. */
  readonly type?: number;
  /** The signer's qualified name (`TPM2B_NAME` body); default a fixed sha256 name. */
  readonly qualifiedSigner?: Uint8Array;
  /** The clock; default 123456789 ms, 7 resets, 2 restarts, safe. */
  readonly clock?: ClockParts;
  /** Default `0x2019102300163636`. */
  readonly firmwareVersion?: bigint;
}

const DEFAULT_CLOCK: ClockParts = { clock: 123456789n, resetCount: 7, restartCount: 2, safe: true };

/** Marshals a quote `TPMS_ATTEST` (no `TPM2B_ATTEST` size prefix). */
export const quoteAttest = (p: QuoteParts): Uint8Array<ArrayBuffer> => {
  const clock = p.clock ?? DEFAULT_CLOCK;
  return concat(
    u32(p.magic ?? 0xff544347),
    u16(p.type ?? 0x8018),
    tpm2b(p.qualifiedSigner ?? concat(u16(ALG.SHA256), new Uint8Array(32).fill(0xab))),
    tpm2b(p.extraData),
    u64(clock.clock),
    u32(clock.resetCount),
    u32(clock.restartCount),
    u8(clock.safe ? 1 : 0),
    u64(p.firmwareVersion ?? 0x2019102300163636n),
    pcrSelection(p.banks ?? [[ALG.SHA256, [0, 7, 10]]]),
    tpm2b(p.pcrDigest),
  );
};

/** Marshals an RSA `TPMT_SIGNATURE`. */
export const rsaSignature = (
  sigAlg: number,
  signature: Uint8Array,
  hash: number = ALG.SHA256,
): Uint8Array<ArrayBuffer> => concat(u16(sigAlg), u16(hash), tpm2b(signature));

/** Marshals an ECDSA `TPMT_SIGNATURE`. */
export const ecdsaSignature = (
  r: Uint8Array,
  s: Uint8Array,
  hash: number = ALG.SHA256,
): Uint8Array<ArrayBuffer> => concat(u16(ALG.ECDSA), u16(hash), tpm2b(r), tpm2b(s));

/** SHA-256. */
export const sha256 = async (bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> =>
  new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));

/** The qualifying data of a payload id, as the verifier expects it: SHA-256(UTF-8)[:16]. */
export const nonceOf = async (payloadId: string): Promise<Uint8Array<ArrayBuffer>> =>
  (await sha256(new TextEncoder().encode(payloadId))).slice(0, 16);

const hexBytes = (hex: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));

/** SHA-256 of the concatenated hex values, in the order given. */
export const pcrDigestOf = (values: readonly string[]): Promise<Uint8Array<ArrayBuffer>> =>
  sha256(concat(...values.map(hexBytes)));

const b64url = (text: string | undefined): Uint8Array<ArrayBuffer> => {
  const decoded = Encoding.decodeBase64Url(text ?? "");
  if (decoded._tag === "Left") throw new Error("Cannot read JWK: bad base64url");
  return new Uint8Array(decoded.right);
};

/** A signing scheme of a software AIK. */
export type SoftwareAikScheme = "rsassa" | "rsapss" | "ecdsa";

/** An AIK made in software, and how it signs as a TPM would. */
export interface SoftwareAik {
  /** The scheme it signs with. */
  readonly scheme: SoftwareAikScheme;
  /** The WebCrypto public key (export it as SPKI for other verifiers). */
  readonly publicKey: CryptoKey;
  /** The marshaled `TPMT_PUBLIC` (its SHA-256 is the key's name). */
  readonly tpmtPublic: Uint8Array<ArrayBuffer>;
  /** Signs `quote` and marshals the `TPMT_SIGNATURE`. */
  readonly sign: (quote: Uint8Array<ArrayBuffer>) => Promise<Uint8Array<ArrayBuffer>>;
}

/** Options of {@linkcode generateSoftwareAik}. */
export interface SoftwareAikOptions {
  /** RSA-PSS salt length; default 32, as libtpms. */
  readonly saltLength?: number;
  /** The key's `[scheme, hash]` in its public area, or `null`; default its own scheme. */
  readonly keyScheme?: readonly [number, number] | null;
  /** How r and s are marshaled; default 32 bytes each. */
  readonly marshalEcdsa?: (
    r: Uint8Array<ArrayBuffer>,
    s: Uint8Array<ArrayBuffer>,
  ) => Uint8Array<ArrayBuffer>;
}

/**
 * Makes a fresh AIK: RSA-2048 (RSASSA or RSA-PSS, SHA-256) or ECDSA P-256 (SHA-256).
 *
 * @param scheme The signing scheme.
 * @param options Salt length, key scheme and r/s marshaling, for tests of odd TPMs.
 * @returns The key and its TPM marshaling.
 */
export const generateSoftwareAik = async (
  scheme: SoftwareAikScheme,
  options: SoftwareAikOptions = {},
): Promise<SoftwareAik> => {
  if (scheme === "ecdsa") {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ]);
    const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
    const keyScheme = options.keyScheme === undefined
      ? [ALG.ECDSA, ALG.SHA256] as const
      : options.keyScheme;
    const marshal = options.marshalEcdsa ?? ((r, s) => ecdsaSignature(r, s));
    return {
      scheme,
      publicKey: pair.publicKey,
      tpmtPublic: eccTpmtPublic(b64url(jwk.x), b64url(jwk.y), keyScheme),
      sign: async (quote) => {
        const rs = new Uint8Array(
          await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, quote),
        );
        return marshal(rs.slice(0, 32), rs.slice(32));
      },
    };
  }
  const name = scheme === "rsassa" ? "RSASSA-PKCS1-v1_5" : "RSA-PSS";
  const pair = await crypto.subtle.generateKey(
    { name, modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const sigAlg = scheme === "rsassa" ? ALG.RSASSA : ALG.RSAPSS;
  const keyScheme = options.keyScheme === undefined
    ? [sigAlg, ALG.SHA256] as const
    : options.keyScheme;
  const algorithm = scheme === "rsassa" ? { name } : { name, saltLength: options.saltLength ?? 32 };
  return {
    scheme,
    publicKey: pair.publicKey,
    tpmtPublic: rsaTpmtPublic({ modulus: b64url(jwk.n), scheme: keyScheme }),
    sign: async (quote) =>
      rsaSignature(
        sigAlg,
        new Uint8Array(await crypto.subtle.sign(algorithm, pair.privateKey, quote)),
      ),
  };
};

/**
 * The PCR values a software quote reports unless told otherwise: PCRs 0, 7 and 10, each the
 * SHA-256 of `"nomyo software TPM PCR <index>"` (made-up values, no real machine's).
 */
export const DEFAULT_PCR_VALUES: Readonly<Record<string, string>> = Object.freeze({
  "0": "2055375e7c153c84b618ef4b798d2a5350ed74d79c69decb76d669633b834810",
  "7": "16e90508e9206c5e0ff1c8a5f8f59d8ede335b332aae3689a23f09bb15f5b757",
  "10": "44f34169751dadf1f49bea7445be09b69d99fccd1c9b67a0edb2245bd9edd920",
});

/** Options of {@linkcode makeSoftwareQuote}. */
export interface SoftwareQuoteOptions {
  /** The AIK's scheme; default `"rsassa"`. */
  readonly aik?: SoftwareAikScheme;
  /**
   * PCR index (decimal string, 0–23) → 64 lowercase hex digits; default
   * {@linkcode DEFAULT_PCR_VALUES}. Only own properties are read.
   */
  readonly pcrValues?: Readonly<Record<string, string>>;
  /** The TPM clock; default milliseconds since this module loaded, safe. */
  readonly clock?: ClockParts;
}

/** A quote made in software, with the key that signed it. */
export interface SoftwareQuote {
  /** The block a router puts at `_metadata.tpm_attestation`. */
  readonly block: TpmAttestationBlock;
  /** The AIK's public key (for verifiers that take PEM or SPKI). */
  readonly aikPublicKey: CryptoKey;
  /** The signed `TPMS_ATTEST` bytes (what `quote_b64` holds). */
  readonly quote: Uint8Array<ArrayBuffer>;
  /** The marshaled `TPMT_SIGNATURE` (what `signature_b64` holds). */
  readonly signature: Uint8Array<ArrayBuffer>;
  /** The marshaled `TPML_PCR_SELECTION` of the quote. */
  readonly pcrSelection: Uint8Array<ArrayBuffer>;
}

const PCR_KEY = /^(?:[0-9]|1[0-9]|2[0-3])$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const loadedAt = Date.now();

/**
 * The PCR values as `[index, hex]` sorted by index, own data properties only.
 *
 * @param values PCR index (decimal string, 0–23) → 64 lowercase hex digits.
 * @returns The entries; a `TypeError` for anything that is not a non-empty sha256 bank.
 */
export const pcrEntries = (values: Readonly<Record<string, string>>): Array<[number, string]> => {
  if (typeof values !== "object" || values === null) {
    throw new TypeError("Cannot make quote: pcrValues is not an object");
  }
  const entries: Array<[number, string]> = [];
  for (const key of Object.keys(values)) {
    const value = Object.getOwnPropertyDescriptor(values, key)?.value;
    if (!PCR_KEY.test(key)) throw new TypeError(`Cannot make quote: ${key} is not a PCR index`);
    if (typeof value !== "string" || !SHA256_HEX.test(value)) {
      throw new TypeError(`Cannot make quote: PCR ${key} is not 64 lowercase hex digits`);
    }
    entries.push([Number(key), value]);
  }
  if (entries.length === 0) throw new TypeError("Cannot make quote: pcrValues is empty");
  return entries.sort(([a], [b]) => a - b);
};

/**
 * Makes a TPM 2.0 quote in software for a payload id: a fresh AIK, qualifying data
 * SHA-256(payload id)[:16], the PCR digest over the values in ascending index order, the
 * AIK's qualified name, and a signature over the `TPMS_ATTEST` bytes.
 *
 * @param payloadId The request's `X-Payload-ID`.
 * @param options AIK scheme, PCR values and clock.
 * @returns The block and its parts; a `TypeError` for bad PCR values.
 *
 * @example A quote our verifier accepts
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifyAttestation } from "@nomyo/client";
 * import { makeSoftwareQuote } from "@nomyo/client/testing";
 * const { block } = await makeSoftwareQuote("payload-1", { aik: "ecdsa" });
 * const result = await verifyAttestation({
 *   _metadata: { payload_id: "payload-1", tpm_attestation: block },
 * });
 * assert.equal(result.aikType, "ecc");
 * ```
 */
export const makeSoftwareQuote = async (
  payloadId: string,
  options: SoftwareQuoteOptions = {},
): Promise<SoftwareQuote> => {
  if (typeof payloadId !== "string") {
    throw new TypeError("Cannot make quote: payloadId is not a string");
  }
  const entries = pcrEntries(options.pcrValues ?? DEFAULT_PCR_VALUES);
  const aik = await generateSoftwareAik(options.aik ?? "rsassa");
  // The name is nameAlg || H(TPMT_PUBLIC); a key under a primary would hash its parent's too.
  const name = concat(u16(ALG.SHA256), await sha256(aik.tpmtPublic));
  const banks: PcrBank[] = [[ALG.SHA256, entries.map(([i]) => i)]];
  const quote = quoteAttest({
    extraData: await nonceOf(payloadId),
    pcrDigest: await pcrDigestOf(entries.map(([, v]) => v)),
    banks,
    qualifiedSigner: name,
    clock: options.clock ??
      { clock: BigInt(Date.now() - loadedAt), resetCount: 0, restartCount: 0, safe: true },
  });
  const signature = await aik.sign(quote);
  const pcrValues: Record<string, string> = {};
  for (const [i, v] of entries) pcrValues[String(i)] = v;
  return {
    block: {
      aik_pubkey_b64: Encoding.encodeBase64(tpm2b(aik.tpmtPublic)),
      quote_b64: Encoding.encodeBase64(quote),
      signature_b64: Encoding.encodeBase64(signature),
      pcr_bank: "sha256",
      pcr_values: pcrValues,
    },
    aikPublicKey: aik.publicKey,
    quote,
    signature,
    pcrSelection: pcrSelection(banks),
  };
};
