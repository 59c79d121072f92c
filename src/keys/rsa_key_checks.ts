/**
 * The checks every RSA key passes before WebCrypto sees it, read from its DER: an
 * `rsaEncryption` key (OID 1.2.840.113549.1.1.1, NULL parameters; OAEP- or PSS-restricted keys
 * refused), a modulus of 2048 to 16384 bits, odd, and an odd public exponent above 65536 (some
 * runtimes import e = 1 or 3 happily) and below the modulus. Also the public key built from a
 * checked SPKI, its fingerprint, and the pairwise check of a private key against its public key.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Encoding from "effect/Encoding";
import { KeyError } from "../errors.ts";
import {
  bytesEqual,
  derBitString,
  type DerNode,
  derNull,
  derOid,
  derSequence,
  derUnsignedInteger,
  type DerValue,
  encodeDer,
  encodeOid,
  isOid,
  parseDer,
  readBitString,
  readNested,
  readNull,
  readOid,
  readSequence,
  readUnsignedInteger,
} from "./der.ts";
import { formatPem } from "./pem.ts";
import { MAX_RSA_BITS, MIN_PUBLIC_EXPONENT, MIN_RSA_BITS, type RsaPublicKey } from "./rsa_key.ts";

const OID_RSA_ENCRYPTION = encodeOid("1.2.840.113549.1.1.1");

/**
 * RSA keys restricted to one scheme are refused, not read as plain RSA:
 * - id-RSAES-OAEP keys carry parameters (hash, MGF, label) that bind the key to one OAEP variant.
 *   Honouring them would mean checking them against the protocol's SHA-256 everywhere; ignoring
 *   them would use the key in a way its owner forbade. WebCrypto also only imports
 *   `rsaEncryption` SPKI/PKCS#8 for RSA-OAEP, NOMYO routers publish `rsaEncryption` keys, and
 *   neither pyca nor `openssl genpkey -algorithm RSA` write OAEP-restricted keys.
 * - id-RSASSA-PSS keys are for signatures only.
 */
const RESTRICTED_RSA: ReadonlyMap<string, string> = new Map([
  ["1.2.840.113549.1.1.7", "id-RSAES-OAEP"],
  ["1.2.840.113549.1.1.10", "id-RSASSA-PSS"],
]);

/** How every key is imported into WebCrypto. */
export const RSA_OAEP_SHA256: RsaHashedImportParams = { name: "RSA-OAEP", hash: "SHA-256" };

/** n and e as big-endian magnitudes (views). */
export interface RsaNumbers {
  readonly n: Uint8Array<ArrayBuffer>;
  readonly e: Uint8Array<ArrayBuffer>;
}

/** A `KeyError` whose message is "Cannot <action>: <detail>". */
export const keyError = (reason: KeyError["reason"], action: string, detail: string): KeyError =>
  new KeyError({ reason, message: `Cannot ${action}: ${detail}` });

/**
 * Checks an AlgorithmIdentifier is rsaEncryption with NULL parameters (inside `parseDer`: it
 * throws the `KeyError` that `parseDer` turns into a failure).
 */
export const readRsaAlgorithm = (node: DerNode | undefined, action: string): void => {
  const [oid, params] = readSequence(node, "algorithm", 1, 2);
  if (isOid(oid, OID_RSA_ENCRYPTION)) {
    readNull(params, "rsaEncryption parameters");
    return;
  }
  const dotted = readOid(oid, "algorithm");
  const restricted = RESTRICTED_RSA.get(dotted);
  throw keyError(
    "NotRsa",
    action,
    restricted === undefined
      ? `the key is not RSA (algorithm ${dotted})`
      : `${restricted} keys are not supported, only rsaEncryption`,
  );
};

const bitLength = (m: Uint8Array): number => {
  const first = m[0] ?? 0;
  return first === 0 ? 0 : (m.length - 1) * 8 + (32 - Math.clz32(first));
};

/** Checks n and e; returns the modulus length. */
const checkNumbers = (
  { n, e }: RsaNumbers,
  action: string,
): Effect.Effect<number, KeyError> => {
  const bits = bitLength(n);
  if (bits < MIN_RSA_BITS) {
    return Effect.fail(
      keyError("WeakKey", action, `the modulus has ${bits} bits, under ${MIN_RSA_BITS}`),
    );
  }
  if (bits > MAX_RSA_BITS) {
    return Effect.fail(
      keyError("Malformed", action, `a modulus over ${MAX_RSA_BITS} bits is not supported`),
    );
  }
  if ((n[n.length - 1]! & 1) === 0) {
    return Effect.fail(keyError("Malformed", action, "the modulus is even"));
  }
  if ((e[e.length - 1]! & 1) === 0) {
    return Effect.fail(keyError("WeakKey", action, "the public exponent is even"));
  }
  const eBits = bitLength(e);
  if (eBits <= 17) {
    let value = 0;
    for (const b of e) value = value * 256 + b;
    if (value < MIN_PUBLIC_EXPONENT) {
      return Effect.fail(
        keyError(
          "WeakKey",
          action,
          `the public exponent ${value} is too small (it must be above 65536)`,
        ),
      );
    }
  }
  if (eBits >= bits) {
    return Effect.fail(
      keyError("Malformed", action, "the public exponent is not below the modulus"),
    );
  }
  return Effect.succeed(bits);
};

/** Reads n and e of a DER `SubjectPublicKeyInfo` (views into `spki`), checking its shape. */
const readSpki = (
  spki: Uint8Array<ArrayBuffer>,
  action: string,
): Effect.Effect<RsaNumbers, KeyError> =>
  parseDer(spki, action, (root) => {
    const [algorithm, subjectPublicKey] = readSequence(root, "SubjectPublicKeyInfo", 2);
    readRsaAlgorithm(algorithm, action);
    const inner = readNested(readBitString(subjectPublicKey, "subjectPublicKey"));
    const [n, e] = readSequence(inner, "RSAPublicKey", 2);
    return { n: readUnsignedInteger(n, "modulus"), e: readUnsignedInteger(e, "publicExponent") };
  });

/** The AlgorithmIdentifier of every key written: rsaEncryption, NULL parameters. */
export const rsaAlgorithmIdentifier = (): DerValue =>
  derSequence(derOid(OID_RSA_ENCRYPTION), derNull());

/** The DER `SubjectPublicKeyInfo` of n and e. */
export const buildSpki = ({ n, e }: RsaNumbers): Uint8Array<ArrayBuffer> =>
  encodeDer(
    derSequence(
      rsaAlgorithmIdentifier(),
      derBitString(encodeDer(derSequence(derUnsignedInteger(n), derUnsignedInteger(e)))),
    ),
  );

/** Checks an SPKI and builds the public key (importing it unless `existing` is given). */
export const checkedPublicKey = (
  spki: Uint8Array<ArrayBuffer>,
  action: string,
  existing?: CryptoKey,
): Effect.Effect<RsaPublicKey, KeyError> =>
  Effect.gen(function* () {
    const numbers = yield* readSpki(spki, action);
    const bits = yield* checkNumbers(numbers, action);
    const key = existing ?? (yield* Effect.tryPromise({
      try: () =>
        crypto.subtle.importKey("spki", spki, RSA_OAEP_SHA256, true, ["encrypt", "wrapKey"]),
      catch: () => keyError("Malformed", action, "WebCrypto refused the public key"),
    }));
    if ((key.algorithm as RsaHashedKeyAlgorithm).modulusLength !== bits) {
      return yield* Effect.fail(
        keyError("Malformed", action, "WebCrypto read another modulus length"),
      );
    }
    const fingerprint = yield* fingerprintSpki(spki);
    return { key, spki, pem: formatPem("PUBLIC KEY", spki), bits, fingerprint };
  });

/**
 * Encrypts a random probe with the public key and decrypts it with the private key. WebCrypto
 * imports inconsistent private keys (a corrupted prime or CRT value), and PBES2 has no integrity
 * check, so this is what catches a corrupted key file before it is used.
 */
export const pairwiseConsistent = (
  publicKey: CryptoKey,
  privateKey: CryptoKey,
): Effect.Effect<boolean> =>
  Effect.promise(async () => {
    const probe = crypto.getRandomValues(new Uint8Array(32));
    try {
      const sealed = await crypto.subtle.encrypt({ name: "RSA-OAEP" }, publicKey, probe);
      return bytesEqual(
        new Uint8Array(await crypto.subtle.decrypt({ name: "RSA-OAEP" }, privateKey, sealed)),
        probe,
      );
    } catch {
      return false;
    }
  });

/**
 * SHA-256 over a DER `SubjectPublicKeyInfo`, lowercase hex: the key's fingerprint.
 *
 * @param spki The DER SPKI.
 * @returns 64 lowercase hex digits.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { fingerprintSpki } from "@nomyo/client";
 * const hex = await Effect.runPromise(fingerprintSpki(new Uint8Array([0x30, 0x00])));
 * console.assert(hex.length === 64);
 * ```
 */
export const fingerprintSpki = (spki: Uint8Array): Effect.Effect<string, never> =>
  Effect.promise(() => crypto.subtle.digest("SHA-256", new Uint8Array(spki))).pipe(
    Effect.map((d) => Encoding.encodeHex(new Uint8Array(d))),
  );
