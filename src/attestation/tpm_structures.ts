/**
 * Strict readers for the three marshaled TPM 2.0 structures of a quote: the AIK's
 * `TPM2B_PUBLIC`, the signed `TPMS_ATTEST` and its `TPMT_SIGNATURE` (TPM 2.0 Part 2,
 * "Structures"). Every size is checked against what remains, counts are capped, unknown
 * algorithms are refused and no trailing byte is allowed. Failures are `AttestationError`s with
 * reason `"Malformed"`; nothing throws.
 *
 * @module
 */
import type * as Effect from "effect/Effect";
import type { AttestationError } from "../errors.ts";
import { readStructure, TpmParseFailure, type TpmReader } from "./tpm_reader.ts";

/** `TPM_GENERATED_VALUE`: the magic a TPM puts first in everything it signs. */
export const TPM_GENERATED_VALUE = 0xff544347;
/** `TPM_ST_ATTEST_QUOTE`: the `TPMS_ATTEST` type of a quote. */
export const TPM_ST_ATTEST_QUOTE = 0x8018;

/** A hash algorithm a TPM structure may name. */
export type TpmHashAlg = "sha1" | "sha256" | "sha384" | "sha512";
/** A signature scheme this library can verify. */
export type TpmSignatureScheme = "rsassa" | "rsapss" | "ecdsa";

/** `TPMT_SYM_DEF_OBJECT` when not NULL (a signing AIK normally has NULL). */
export interface TpmSymmetric {
  /** The block cipher. */
  readonly algorithm: "aes" | "sm4" | "camellia";
  /** Key size in bits. */
  readonly keyBits: number;
  /** Block mode. */
  readonly mode: "ctr" | "ofb" | "cbc" | "cfb" | "ecb" | "null";
}

/** A key's signing scheme (`TPMT_RSA_SCHEME` / `TPMT_ECC_SCHEME`) when not NULL. */
export interface TpmKeyScheme {
  /** The scheme. */
  readonly scheme: TpmSignatureScheme;
  /** Its hash. */
  readonly hashAlg: TpmHashAlg;
}

/** Fields every `TPMT_PUBLIC` has. */
export interface TpmPublicCommon {
  /** Hash of the key's name. */
  readonly nameAlg: TpmHashAlg;
  /** `TPMA_OBJECT` bits (an AIK: `0x00050072`, restricted signing). */
  readonly objectAttributes: number;
  /** `authPolicy` digest (empty for an AIK). */
  readonly authPolicy: Uint8Array<ArrayBuffer>;
  /** `null` for `TPM_ALG_NULL`. */
  readonly symmetric: TpmSymmetric | null;
  /** `null` for `TPM_ALG_NULL` (any scheme of the key type may sign). */
  readonly scheme: TpmKeyScheme | null;
}

/** An RSA `TPMT_PUBLIC`. */
export interface TpmRsaPublic extends TpmPublicCommon {
  /** Key type. */
  readonly type: "rsa";
  /** Modulus size in bits (2048, 3072 or 4096). */
  readonly keyBits: number;
  /** Public exponent; the wire value 0 is already replaced by 65537. */
  readonly exponent: number;
  /** Big-endian modulus, exactly `keyBits / 8` bytes. */
  readonly modulus: Uint8Array<ArrayBuffer>;
}

/** An ECC `TPMT_PUBLIC` on NIST P-256. */
export interface TpmEccPublic extends TpmPublicCommon {
  /** Key type. */
  readonly type: "ecc";
  /** The curve (only P-256 is accepted). */
  readonly curve: "P-256";
  /** `TPMT_KDF_SCHEME`: `null` for NULL. */
  readonly kdf: { readonly scheme: number; readonly hashAlg: TpmHashAlg } | null;
  /** Big-endian x coordinate, left-padded to 32 bytes. */
  readonly x: Uint8Array<ArrayBuffer>;
  /** Big-endian y coordinate, left-padded to 32 bytes. */
  readonly y: Uint8Array<ArrayBuffer>;
}

/** A parsed `TPM2B_PUBLIC`. */
export type TpmPublic = TpmRsaPublic | TpmEccPublic;

/** `TPMS_CLOCK_INFO`. */
export interface TpmClockInfo {
  /** Milliseconds the TPM has been powered since it was last cleared. */
  readonly clock: bigint;
  /** TPM resets since the last clear. */
  readonly resetCount: number;
  /** TPM restarts since the last reset. */
  readonly restartCount: number;
  /** Whether `clock` has never gone backwards. */
  readonly safe: boolean;
}

/** One `TPMS_PCR_SELECTION`. */
export interface TpmPcrSelection {
  /** The PCR bank. */
  readonly hashAlg: TpmHashAlg;
  /** Bitmap: PCR `i` is bit `i % 8` of byte `i / 8`. */
  readonly select: Uint8Array<ArrayBuffer>;
}

/** `TPMS_QUOTE_INFO`, the body of a quote. */
export interface TpmQuoteInfo {
  /** Discriminant: the attestation is a quote. */
  readonly kind: "quote";
  /** `TPML_PCR_SELECTION`. */
  readonly pcrSelections: readonly TpmPcrSelection[];
  /** Hash of the selected PCR values. */
  readonly pcrDigest: Uint8Array<ArrayBuffer>;
}

/** The body of any other attestation type, kept opaque. */
export interface TpmOtherAttestInfo {
  /** Discriminant: not a quote. */
  readonly kind: "other";
  /** The unparsed body. */
  readonly body: Uint8Array<ArrayBuffer>;
}

/** A parsed `TPMS_ATTEST`. */
export interface TpmAttest {
  /** Must be {@linkcode TPM_GENERATED_VALUE}. */
  readonly magic: number;
  /** `TPM_ST_ATTEST_*`; a quote is {@linkcode TPM_ST_ATTEST_QUOTE}. */
  readonly type: number;
  /** The signing key's qualified name. */
  readonly qualifiedSigner: Uint8Array<ArrayBuffer>;
  /** The caller's qualifying data (the nonce). */
  readonly extraData: Uint8Array<ArrayBuffer>;
  /** The TPM's clock. */
  readonly clockInfo: TpmClockInfo;
  /** Vendor firmware version. */
  readonly firmwareVersion: bigint;
  /** Quote body when `type` is a quote, else opaque. */
  readonly attested: TpmQuoteInfo | TpmOtherAttestInfo;
}

/** An RSA `TPMT_SIGNATURE`. */
export interface TpmRsaSignature {
  /** RSASSA-PKCS1-v1_5 or RSASSA-PSS. */
  readonly sigAlg: "rsassa" | "rsapss";
  /** The hash that was signed. */
  readonly hashAlg: TpmHashAlg;
  /** The raw signature. */
  readonly signature: Uint8Array<ArrayBuffer>;
}

/** An ECDSA `TPMT_SIGNATURE`. */
export interface TpmEcdsaSignature {
  /** ECDSA. */
  readonly sigAlg: "ecdsa";
  /** The hash that was signed. */
  readonly hashAlg: TpmHashAlg;
  /** Big-endian r, as sent (may be shorter than the curve size). */
  readonly r: Uint8Array<ArrayBuffer>;
  /** Big-endian s, as sent. */
  readonly s: Uint8Array<ArrayBuffer>;
}

/** A parsed `TPMT_SIGNATURE`. */
export type TpmSignature = TpmRsaSignature | TpmEcdsaSignature;

// Algorithm ids (TPM 2.0 Part 2, TPM_ALG_ID).
const ALG_RSA = 0x0001;
const ALG_ECC = 0x0023;
const ALG_NULL = 0x0010;
const ALG_RSASSA = 0x0014;
const ALG_RSAPSS = 0x0016;
const ALG_ECDSA = 0x0018;
const ECC_NIST_P256 = 0x0003;

const HASHES: ReadonlyMap<number, TpmHashAlg> = new Map([
  [0x0004, "sha1"],
  [0x000b, "sha256"],
  [0x000c, "sha384"],
  [0x000d, "sha512"],
]);
const SYMMETRICS: ReadonlyMap<number, TpmSymmetric["algorithm"]> = new Map([
  [0x0006, "aes"],
  [0x0013, "sm4"],
  [0x0026, "camellia"],
]);
const MODES: ReadonlyMap<number, TpmSymmetric["mode"]> = new Map([
  [0x0040, "ctr"],
  [0x0041, "ofb"],
  [0x0042, "cbc"],
  [0x0043, "cfb"],
  [0x0044, "ecb"],
  [ALG_NULL, "null"],
]);
const KDFS: ReadonlySet<number> = new Set([0x0007, 0x0020, 0x0021, 0x0022]);

// Limits from TPM 2.0 Part 2 (sizeof TPMU_HA, TPMT_HA, MAX_RSA_KEY_BYTES, MAX_ECC_KEY_BYTES),
// plus the caps on counts so hostile sizes cannot make loops or allocations large.
const MAX_DIGEST = 64;
const MAX_NAME = 2 + MAX_DIGEST;
const MAX_DATA = 2 + MAX_DIGEST;
const MAX_RSA_BYTES = 512;
const MAX_ECC_BYTES = 66;
const P256_BYTES = 32;
const MAX_PCR_BANKS = 16;
const MAX_SIZEOF_SELECT = 64;
const RSA_KEY_BITS: ReadonlySet<number> = new Set([2048, 3072, 4096]);

/** Reads a u16 algorithm id and looks it up, refusing unknown ids. */
const lookup = <A>(reader: TpmReader, table: ReadonlyMap<number, A>, field: string): A => {
  const id = reader.u16(field);
  const value = table.get(id);
  if (value === undefined) throw new TpmParseFailure(`${field} 0x${hex16(id)} is not supported`);
  return value;
};

const hex16 = (n: number): string => n.toString(16).padStart(4, "0");

const readHash = (reader: TpmReader, field: string): TpmHashAlg => lookup(reader, HASHES, field);

const readSymmetric = (reader: TpmReader): TpmSymmetric | null => {
  const id = reader.u16("symmetric");
  if (id === ALG_NULL) return null;
  const algorithm = SYMMETRICS.get(id);
  if (algorithm === undefined) {
    throw new TpmParseFailure(`symmetric 0x${hex16(id)} is not supported`);
  }
  const keyBits = reader.u16("symmetric keyBits");
  const mode = lookup(reader, MODES, "symmetric mode");
  return { algorithm, keyBits, mode };
};

/** `TPMT_RSA_SCHEME` / `TPMT_ECC_SCHEME`, restricted to the signing schemes we verify. */
const readKeyScheme = (
  reader: TpmReader,
  allowed: ReadonlyMap<number, TpmSignatureScheme>,
): TpmKeyScheme | null => {
  const id = reader.u16("scheme");
  if (id === ALG_NULL) return null;
  const scheme = allowed.get(id);
  if (scheme === undefined) throw new TpmParseFailure(`scheme 0x${hex16(id)} is not supported`);
  return { scheme, hashAlg: readHash(reader, "scheme hashAlg") };
};

const RSA_SCHEMES: ReadonlyMap<number, TpmSignatureScheme> = new Map([
  [ALG_RSASSA, "rsassa"],
  [ALG_RSAPSS, "rsapss"],
]);
const ECC_SCHEMES: ReadonlyMap<number, TpmSignatureScheme> = new Map([[ALG_ECDSA, "ecdsa"]]);
const SIGNATURE_ALGS: ReadonlyMap<number, TpmSignatureScheme> = new Map([
  ...RSA_SCHEMES,
  ...ECC_SCHEMES,
]);

/** Left-pads a big-endian integer to `size` bytes (callers have checked it fits). */
const leftPad = (bytes: Uint8Array<ArrayBuffer>, size: number): Uint8Array<ArrayBuffer> => {
  if (bytes.length === size) return bytes;
  const out = new Uint8Array(size);
  out.set(bytes, size - bytes.length);
  return out;
};

const readRsaDetail = (reader: TpmReader, common: TpmPublicCommon): TpmRsaPublic => {
  const keyBits = reader.u16("keyBits");
  if (!RSA_KEY_BITS.has(keyBits)) throw new TpmParseFailure(`keyBits ${keyBits} is not supported`);
  const rawExponent = reader.u32("exponent");
  // Part 2: exponent 0 means the default 2^16 + 1; anything else must be odd and above 1.
  const exponent = rawExponent === 0 ? 65537 : rawExponent;
  if (exponent < 3 || exponent % 2 === 0) {
    throw new TpmParseFailure(`exponent ${exponent} is not valid`);
  }
  const modulus = reader.sized("modulus", MAX_RSA_BYTES);
  if (modulus.length !== keyBits / 8) {
    throw new TpmParseFailure(`modulus is ${modulus.length} bytes, keyBits says ${keyBits / 8}`);
  }
  return { type: "rsa", ...common, keyBits, exponent, modulus };
};

const readEccDetail = (reader: TpmReader, common: TpmPublicCommon): TpmEccPublic => {
  const curveId = reader.u16("curveID");
  if (curveId !== ECC_NIST_P256) {
    throw new TpmParseFailure(`curveID 0x${hex16(curveId)} is not supported`);
  }
  const kdfId = reader.u16("kdf");
  let kdf: TpmEccPublic["kdf"] = null;
  if (kdfId !== ALG_NULL) {
    if (!KDFS.has(kdfId)) throw new TpmParseFailure(`kdf 0x${hex16(kdfId)} is not supported`);
    kdf = { scheme: kdfId, hashAlg: readHash(reader, "kdf hashAlg") };
  }
  const x = reader.sized("x", P256_BYTES);
  const y = reader.sized("y", P256_BYTES);
  return {
    type: "ecc",
    ...common,
    curve: "P-256",
    kdf,
    x: leftPad(x, P256_BYTES),
    y: leftPad(y, P256_BYTES),
  };
};

const readTpmtPublic = (reader: TpmReader): TpmPublic => {
  const type = reader.u16("type");
  if (type !== ALG_RSA && type !== ALG_ECC) {
    throw new TpmParseFailure(`type 0x${hex16(type)} is not supported`);
  }
  const nameAlg = readHash(reader, "nameAlg");
  const objectAttributes = reader.u32("objectAttributes");
  const authPolicy = reader.sized("authPolicy", MAX_DIGEST);
  const symmetric = readSymmetric(reader);
  const scheme = readKeyScheme(reader, type === ALG_RSA ? RSA_SCHEMES : ECC_SCHEMES);
  const common: TpmPublicCommon = { nameAlg, objectAttributes, authPolicy, symmetric, scheme };
  return type === ALG_RSA ? readRsaDetail(reader, common) : readEccDetail(reader, common);
};

/**
 * Parses a marshaled `TPM2B_PUBLIC` (u16 size, then exactly that many bytes of `TPMT_PUBLIC`):
 * an RSA (2048/3072/4096-bit) or NIST P-256 ECC key.
 *
 * @param bytes The decoded `aik_pubkey_b64`.
 * @returns The key, or an `AttestationError` with reason `"Malformed"`.
 */
export const parseTpm2bPublic = (
  bytes: Uint8Array<ArrayBuffer>,
): Effect.Effect<TpmPublic, AttestationError> =>
  readStructure(bytes, "TPM2B_PUBLIC", (reader) => {
    const size = reader.u16("size");
    if (size !== reader.remaining) {
      throw new TpmParseFailure(
        `size ${size} does not match the ${reader.remaining} bytes after it`,
      );
    }
    return readTpmtPublic(reader);
  });

const readPcrSelections = (reader: TpmReader): TpmPcrSelection[] => {
  const count = reader.u32("TPML_PCR_SELECTION count");
  if (count > MAX_PCR_BANKS) {
    throw new TpmParseFailure(`TPML_PCR_SELECTION count ${count} exceeds ${MAX_PCR_BANKS}`);
  }
  const selections: TpmPcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hashAlg = readHash(reader, "pcrSelect hash");
    const sizeofSelect = reader.u8("sizeofSelect");
    if (sizeofSelect > MAX_SIZEOF_SELECT) {
      throw new TpmParseFailure(`sizeofSelect ${sizeofSelect} exceeds ${MAX_SIZEOF_SELECT}`);
    }
    selections.push({ hashAlg, select: reader.bytes(sizeofSelect, "pcrSelect") });
  }
  return selections;
};

/**
 * Parses a marshaled `TPMS_ATTEST` (no `TPM2B_ATTEST` size prefix). For a quote the body is
 * parsed as `TPMS_QUOTE_INFO`; for any other type only the header is parsed and the body kept
 * opaque, so the caller can refuse the type. The magic is read but not checked here.
 *
 * @param bytes The decoded `quote_b64`.
 * @returns The attestation, or an `AttestationError` with reason `"Malformed"`.
 */
export const parseTpmsAttest = (
  bytes: Uint8Array<ArrayBuffer>,
): Effect.Effect<TpmAttest, AttestationError> =>
  readStructure(bytes, "TPMS_ATTEST", (reader): TpmAttest => {
    const magic = reader.u32("magic");
    const type = reader.u16("type");
    const qualifiedSigner = reader.sized("qualifiedSigner", MAX_NAME);
    const extraData = reader.sized("extraData", MAX_DATA);
    const clock = reader.u64("clock");
    const resetCount = reader.u32("resetCount");
    const restartCount = reader.u32("restartCount");
    const safe = reader.u8("safe");
    if (safe > 1) throw new TpmParseFailure(`safe ${safe} is not a TPMI_YES_NO`);
    const firmwareVersion = reader.u64("firmwareVersion");
    const attested: TpmAttest["attested"] = type === TPM_ST_ATTEST_QUOTE
      ? {
        kind: "quote",
        pcrSelections: readPcrSelections(reader),
        pcrDigest: reader.sized("pcrDigest", MAX_DIGEST),
      }
      : { kind: "other", body: reader.rest() };
    return {
      magic,
      type,
      qualifiedSigner,
      extraData,
      clockInfo: { clock, resetCount, restartCount, safe: safe === 1 },
      firmwareVersion,
      attested,
    };
  });

/**
 * Parses a marshaled `TPMT_SIGNATURE`: RSASSA (`0x0014`), RSAPSS (`0x0016`) or ECDSA
 * (`0x0018`). Other algorithms are refused.
 *
 * @param bytes The decoded `signature_b64`.
 * @returns The signature, or an `AttestationError` with reason `"Malformed"`.
 */
export const parseTpmtSignature = (
  bytes: Uint8Array<ArrayBuffer>,
): Effect.Effect<TpmSignature, AttestationError> =>
  readStructure(bytes, "TPMT_SIGNATURE", (reader): TpmSignature => {
    const sigAlg = lookup(reader, SIGNATURE_ALGS, "sigAlg");
    const hashAlg = readHash(reader, "hashAlg");
    if (sigAlg === "ecdsa") {
      const r = reader.sized("signatureR", MAX_ECC_BYTES);
      const s = reader.sized("signatureS", MAX_ECC_BYTES);
      return { sigAlg, hashAlg, r, s };
    }
    return { sigAlg, hashAlg, signature: reader.sized("signature", MAX_RSA_BYTES) };
  });
