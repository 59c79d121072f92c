/**
 * Test-only TPM marshaling: builds `TPM2B_PUBLIC`, `TPMS_ATTEST` and `TPMT_SIGNATURE` around
 * WebCrypto keys, to cover cases the swtpm vectors do not (RSA-PSS maximum salt, short ECDSA
 * r/s, scheme mismatches, odd PCR selections).
 *
 * @module
 */
import { Encoding } from "effect";
import type { TpmAttestationBlock } from "../../src/attestation/mod.ts";

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

/** Big-endian u8. */
export const u8 = (n: number): Uint8Array<ArrayBuffer> => Uint8Array.of(n & 0xff);
/** Big-endian u16. */
export const u16 = (n: number): Uint8Array<ArrayBuffer> => Uint8Array.of((n >> 8) & 0xff, n & 0xff);
/** Big-endian u32. */
export const u32 = (n: number): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0, false);
  return out;
};
/** Big-endian u64. */
export const u64 = (n: bigint): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, false);
  return out;
};
/** A `TPM2B_*`: u16 size then the bytes. */
export const tpm2b = (bytes: Uint8Array): Uint8Array<ArrayBuffer> =>
  concat(u16(bytes.length), bytes);

/** Algorithm ids used by the tests. */
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

const ATTRIBUTES = 0x00050072;

const b64url = (text: string): Uint8Array<ArrayBuffer> => {
  const decoded = Encoding.decodeBase64Url(text);
  if (decoded._tag === "Left") throw new Error("bad base64url in JWK");
  return new Uint8Array(decoded.right);
};

/** Parts of an RSA `TPMT_PUBLIC` a test may change. */
export interface RsaPublicParts {
  readonly modulus: Uint8Array;
  readonly keyBits?: number;
  readonly exponent?: number;
  /** `[scheme, hash]`, or `null` for a NULL scheme. */
  readonly scheme?: readonly [number, number] | null;
  /** `[alg, keyBits, mode]`, or `null` for NULL. */
  readonly symmetric?: readonly [number, number, number] | null;
}

/** Marshals an RSA `TPM2B_PUBLIC`. */
export const rsaPublic = (p: RsaPublicParts): Uint8Array<ArrayBuffer> => {
  const scheme = p.scheme === undefined ? [ALG.RSASSA, ALG.SHA256] : p.scheme;
  const body = concat(
    u16(ALG.RSA),
    u16(ALG.SHA256),
    u32(ATTRIBUTES),
    tpm2b(new Uint8Array(0)),
    p.symmetric
      ? concat(u16(p.symmetric[0]), u16(p.symmetric[1]), u16(p.symmetric[2]))
      : u16(ALG.NULL),
    scheme === null ? u16(ALG.NULL) : concat(u16(scheme[0]), u16(scheme[1])),
    u16(p.keyBits ?? p.modulus.length * 8),
    u32(p.exponent ?? 0),
    tpm2b(p.modulus),
  );
  return tpm2b(body);
};

/** Marshals a NIST P-256 ECC `TPM2B_PUBLIC`. */
export const eccPublic = (
  x: Uint8Array,
  y: Uint8Array,
  scheme: readonly [number, number] | null = [ALG.ECDSA, ALG.SHA256],
  curve = 0x0003,
): Uint8Array<ArrayBuffer> =>
  tpm2b(concat(
    u16(ALG.ECC),
    u16(ALG.SHA256),
    u32(ATTRIBUTES),
    tpm2b(new Uint8Array(0)),
    u16(ALG.NULL),
    scheme === null ? u16(ALG.NULL) : concat(u16(scheme[0]), u16(scheme[1])),
    u16(curve),
    u16(ALG.NULL),
    tpm2b(x),
    tpm2b(y),
  ));

/** A PCR bank selection: `[hashAlg, PCR indices, sizeofSelect]`. */
export type Bank = readonly [number, readonly number[], number?];

/** Bitmap of a PCR selection. */
export const bitmap = (pcrs: readonly number[], size = 3): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(size);
  for (const i of pcrs) out[i >> 3] = (out[i >> 3] ?? 0) | (1 << (i & 7));
  return out;
};

/** Parts of a `TPMS_ATTEST` a test may change. */
export interface AttestParts {
  readonly extraData: Uint8Array;
  readonly pcrDigest: Uint8Array;
  readonly banks?: readonly Bank[];
  readonly magic?: number;
  readonly type?: number;
}

/** Marshals a quote `TPMS_ATTEST`. */
export const attest = (p: AttestParts): Uint8Array<ArrayBuffer> => {
  const banks = p.banks ?? [[ALG.SHA256, [0, 7, 10]]];
  return concat(
    u32(p.magic ?? 0xff544347),
    u16(p.type ?? 0x8018),
    tpm2b(concat(u16(ALG.SHA256), new Uint8Array(32).fill(0xab))),
    tpm2b(p.extraData),
    u64(123456789n),
    u32(7),
    u32(2),
    u8(1),
    u64(0x2019102300163636n),
    u32(banks.length),
    ...banks.map(([hash, pcrs, size]) => concat(u16(hash), u8(size ?? 3), bitmap(pcrs, size ?? 3))),
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

/** The quote nonce of a payload id: SHA-256(UTF-8)[:16]. */
export const nonceOf = async (payloadId: string): Promise<Uint8Array<ArrayBuffer>> =>
  (await sha256(new TextEncoder().encode(payloadId))).slice(0, 16);

/** Lowercase hex. */
export const hex = (bytes: Uint8Array): string => Encoding.encodeHex(bytes);

/** Fixed PCR values for synthetic quotes. */
export const PCR_VALUES: Readonly<Record<string, string>> = {
  "0": "11".repeat(32),
  "7": "22".repeat(32),
  "10": "33".repeat(32),
};

/** SHA-256 of the concatenated values, in the order given. */
export const pcrDigestOf = (values: readonly string[]): Promise<Uint8Array<ArrayBuffer>> =>
  sha256(
    concat(...values.map((v) => Uint8Array.from(v.match(/../g) ?? [], (h) => parseInt(h, 16)))),
  );

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
  const name = scheme === "rsassa" ? "RSASSA-PKCS1-v1_5" : "RSA-PSS";
  const pair = await crypto.subtle.generateKey(
    { name, modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const modulus = b64url(jwk.n ?? "");
  const sigAlg = scheme === "rsassa" ? ALG.RSASSA : ALG.RSAPSS;
  const keyScheme = options.keyScheme === undefined
    ? [sigAlg, ALG.SHA256] as const
    : options.keyScheme;
  return {
    modulus,
    aik: rsaPublic({ modulus, scheme: keyScheme }),
    sign: async (quote) => {
      const algorithm = scheme === "rsassa"
        ? { name }
        : { name, saltLength: options.saltLength ?? 32 };
      const signature = new Uint8Array(await crypto.subtle.sign(algorithm, pair.privateKey, quote));
      return rsaSignature(sigAlg, signature);
    },
  };
};

/** P-256 signer; `marshal` decides how r and s go on the wire (default: as 32 bytes each). */
export const ecdsaSigner = async (
  marshal: (r: Uint8Array<ArrayBuffer>, s: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer> = (
    r,
    s,
  ) => ecdsaSignature(r, s),
): Promise<Signer> => {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return {
    aik: eccPublic(b64url(jwk.x ?? ""), b64url(jwk.y ?? "")),
    sign: async (quote) => {
      const rs = new Uint8Array(
        await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, quote),
      );
      return marshal(rs.slice(0, 32), rs.slice(32));
    },
  };
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
