/**
 * Verifies a quote's `TPMT_SIGNATURE` with the AIK through WebCrypto only.
 *
 * The TPM signs SHA-256 of the `TPMS_ATTEST` bytes. WebCrypto's `verify` hashes its input
 * itself, so it is given the quote bytes, not their digest. The AIK is imported from a JWK built
 * from the `TPMT_PUBLIC` (modulus and exponent, or x and y). Any WebCrypto exception, and any
 * mismatch between key, scheme and hash, is reported as `"BadSignature"`.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Encoding from "effect/Encoding";
import { AttestationError } from "../errors.ts";
import type {
  TpmEcdsaSignature,
  TpmPublic,
  TpmSignature,
  TpmSignatureScheme,
} from "./tpm_structures.ts";

const SHA256_BYTES = 32;

// TPMA_OBJECT (TPM 2.0 Part 2, 8.3): an AIK is fixedTPM (bit 1), restricted (16) and sign
// (18); it never decrypts (17), and the reserved bits (0, 3, 8, 9, 12-15, 20-31) are zero.
const AIK_REQUIRED = (1 << 1) | (1 << 16) | (1 << 18);
const AIK_FORBIDDEN = ((1 << 0) | (1 << 3) | (1 << 8) | (1 << 9) | (0xf << 12) | (1 << 17) |
  (0xfff << 20)) >>> 0;
const P256_BYTES = 32;

const stripLeadingZeros = (bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> => {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  return bytes.subarray(start);
};

/** Minimal big-endian bytes of a positive integer below 2^32. */
const uintBytes = (value: number): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return stripLeadingZeros(out);
};

const bitLength = (bytes: Uint8Array<ArrayBuffer>): number => {
  const stripped = stripLeadingZeros(bytes);
  const top = stripped[0];
  return top === undefined ? 0 : 8 * (stripped.length - 1) + (32 - Math.clz32(top));
};

/** Builds WebCrypto's P1363 `r || s`, or `undefined` when r or s is longer than 32 bytes. */
export const ecdsaP1363 = (
  signature: TpmEcdsaSignature,
): Uint8Array<ArrayBuffer> | undefined => {
  const r = stripLeadingZeros(signature.r);
  const s = stripLeadingZeros(signature.s);
  if (r.length > P256_BYTES || s.length > P256_BYTES) return undefined;
  const out = new Uint8Array(2 * P256_BYTES);
  out.set(r, P256_BYTES - r.length);
  out.set(s, 2 * P256_BYTES - s.length);
  return out;
};

/** The AIK as a WebCrypto key for the scheme that signed. */
export interface ImportedAik {
  /** The verification key. */
  readonly key: CryptoKey;
  /** The scheme it verifies. */
  readonly scheme: TpmSignatureScheme;
  /** RSA-PSS: the salt lengths a TPM may use (the hash length, or the maximum). */
  readonly saltLengths: readonly number[];
}

const importKey = async (aik: TpmPublic, scheme: TpmSignatureScheme): Promise<ImportedAik> => {
  if (aik.type === "ecc") {
    const jwk: JsonWebKey = {
      kty: "EC",
      crv: "P-256",
      x: Encoding.encodeBase64Url(aik.x),
      y: Encoding.encodeBase64Url(aik.y),
      ext: true,
    };
    const algorithm = { name: "ECDSA", namedCurve: "P-256" };
    const key = await crypto.subtle.importKey("jwk", jwk, algorithm, false, ["verify"]);
    return { key, scheme, saltLengths: [] };
  }
  const jwk: JsonWebKey = {
    kty: "RSA",
    n: Encoding.encodeBase64Url(aik.modulus),
    e: Encoding.encodeBase64Url(uintBytes(aik.exponent)),
    ext: true,
  };
  const name = scheme === "rsassa" ? "RSASSA-PKCS1-v1_5" : "RSA-PSS";
  const key = await crypto.subtle.importKey("jwk", jwk, { name, hash: "SHA-256" }, false, [
    "verify",
  ]);
  // libtpms uses a salt as long as the hash; some hardware TPMs use the maximum
  // (emLen - hLen - 2, RFC 8017 9.1.1). Both are accepted, nothing in between.
  const emLength = Math.ceil((bitLength(aik.modulus) - 1) / 8);
  const saltLengths = scheme === "rsapss"
    ? [SHA256_BYTES, emLength - SHA256_BYTES - 2].filter((n) => n >= 0)
    : [];
  return { key, scheme, saltLengths };
};

const verifyWith = async (
  aik: ImportedAik,
  signature: TpmSignature,
  quote: Uint8Array<ArrayBuffer>,
): Promise<boolean> => {
  if (signature.sigAlg === "ecdsa") {
    const rs = ecdsaP1363(signature);
    if (rs === undefined) return false; // already refused by incompatibility()
    return await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, aik.key, rs, quote);
  }
  if (signature.sigAlg === "rsassa") {
    return await crypto.subtle.verify("RSASSA-PKCS1-v1_5", aik.key, signature.signature, quote);
  }
  for (const saltLength of aik.saltLengths) {
    const algorithm = { name: "RSA-PSS", saltLength };
    if (await crypto.subtle.verify(algorithm, aik.key, signature.signature, quote)) return true;
  }
  return false;
};

/** Why the key, scheme and hash cannot go together, or `undefined` when they can. */
const incompatibility = (aik: TpmPublic, signature: TpmSignature): string | undefined => {
  if (signature.hashAlg !== "sha256") return "the signature's hash is not SHA-256";
  const fits = aik.type === "rsa" ? signature.sigAlg !== "ecdsa" : signature.sigAlg === "ecdsa";
  if (!fits) return "the signature scheme does not fit the AIK type";
  // PKCS#1 signatures are exactly as long as the modulus.
  if (
    aik.type === "rsa" && signature.sigAlg !== "ecdsa" &&
    signature.signature.length !== aik.modulus.length
  ) {
    return "the signature is not as long as the modulus";
  }
  if (signature.sigAlg === "ecdsa" && ecdsaP1363(signature) === undefined) {
    return "r or s is longer than 32 bytes";
  }
  // A TPM signs only with the scheme a key was created with, when it names one.
  if (
    aik.scheme !== null &&
    (aik.scheme.scheme !== signature.sigAlg || aik.scheme.hashAlg !== signature.hashAlg)
  ) {
    return "the signature scheme differs from the AIK's scheme";
  }
  return undefined;
};

const signatureError = (state: string, payloadId: string): AttestationError =>
  new AttestationError({
    reason: "BadSignature",
    message: `Cannot verify quote signature: ${state}`,
    payloadId,
  });

/**
 * Imports the AIK into WebCrypto for the signature's scheme, after checking that its
 * attributes are an AIK's (a restricted signing key, fixed to its TPM: only such a key signs
 * nothing but TPM-made structures) and that key, scheme and hash go together.
 *
 * @param aik The parsed AIK public area.
 * @param signature The parsed signature (its scheme decides the WebCrypto algorithm).
 * @param payloadId The request's payload id, for the error.
 * @returns The key, or an `AttestationError` `"BadSignature"`.
 */
export const importAik = (
  aik: TpmPublic,
  signature: TpmSignature,
  payloadId: string,
): Effect.Effect<ImportedAik, AttestationError> => {
  const attributes = aik.objectAttributes;
  if ((attributes & AIK_REQUIRED) !== AIK_REQUIRED || (attributes & AIK_FORBIDDEN) !== 0) {
    return Effect.fail(
      new AttestationError({
        reason: "Malformed",
        message: "Cannot accept AIK: its attributes are not those of a restricted signing key",
        payloadId,
      }),
    );
  }
  const problem = incompatibility(aik, signature);
  if (problem !== undefined) return Effect.fail(signatureError(problem, payloadId));
  return Effect.tryPromise({
    try: () => importKey(aik, signature.sigAlg),
    catch: () => signatureError("WebCrypto refused the AIK", payloadId),
  });
};

/**
 * Verifies `signature` over SHA-256 of `quote` with an imported AIK.
 *
 * @param aik The AIK from {@linkcode importAik}.
 * @param signature The parsed signature.
 * @param quote The exact `TPMS_ATTEST` bytes that were signed.
 * @param payloadId The request's payload id, for the error.
 * @returns The scheme that verified, or an `AttestationError` `"BadSignature"`.
 */
export const verifyWithAik = (
  aik: ImportedAik,
  signature: TpmSignature,
  quote: Uint8Array<ArrayBuffer>,
  payloadId: string,
): Effect.Effect<TpmSignatureScheme, AttestationError> =>
  Effect.tryPromise({
    try: () => verifyWith(aik, signature, quote),
    catch: () => signatureError("WebCrypto refused the key or signature", payloadId),
  }).pipe(
    Effect.filterOrFail(
      (ok) => ok,
      () => signatureError("it does not verify with the AIK", payloadId),
    ),
    Effect.as(signature.sigAlg),
  );

/**
 * Verifies `signature` over SHA-256 of `quote` with the AIK: {@linkcode importAik}, then
 * {@linkcode verifyWithAik}.
 *
 * @param aik The parsed AIK public area.
 * @param signature The parsed signature.
 * @param quote The exact `TPMS_ATTEST` bytes that were signed.
 * @param payloadId The request's payload id, for the error.
 * @returns The scheme that verified, or an `AttestationError` `"BadSignature"`.
 */
export const verifyQuoteSignature = (
  aik: TpmPublic,
  signature: TpmSignature,
  quote: Uint8Array<ArrayBuffer>,
  payloadId: string,
): Effect.Effect<TpmSignatureScheme, AttestationError> =>
  Effect.flatMap(
    importAik(aik, signature, payloadId),
    (key) => verifyWithAik(key, signature, quote, payloadId),
  );
