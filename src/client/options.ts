/**
 * The client's options (the names of nomyo-js and the OpenAI SDK), their defaults, and their
 * checks. Caller misuse (a wrong type, a key size that is not offered) is a `TypeError`, thrown
 * at construction; an insecure base URL is a `SecurityError`.
 *
 * @module
 */
import { Either, Redacted, type Schedule } from "effect";
import type { AttestationMode } from "./secure_completion.ts";
import {
  checkBaseUrl,
  checkSecurityTier,
  DEFAULT_BASE_URL,
  type SecurityTier,
} from "../protocol/headers.ts";
import type { RsaKeySize } from "../keys/rsa_key.ts";

/** Options of `SecureChatCompletion` and `SecureCompletionClient`. */
export interface ClientOptions {
  /** Router base URL. Default `https://api.nomyo.ai`. */
  readonly baseUrl?: string;
  /** Allow `http://` routers (local development only; prints one warning). Default `false`. */
  readonly allowHttp?: boolean;
  /** API key. Default: the `NOMYO_API_KEY` environment variable, where it can be read. */
  readonly apiKey?: string;
  /** Zero plaintext buffers after use. Default `true`; turning it off is not recommended. */
  readonly secureMemory?: boolean;
  /** Time allowed per attempt, in milliseconds. Default 60,000. */
  readonly timeout?: number;
  /** Log each request's progress (payload id, status, retries; never secrets). Default `false`. */
  readonly debug?: boolean;
  /** Directory of `private_key.pem` / `public_key.pem`: loaded when present, else made and saved. */
  readonly keyDir?: string;
  /** Password of the key files in `keyDir` (encrypted PKCS#8). */
  readonly keyPassword?: string;
  /** Milliseconds between key rotations; `0` turns rotation off. Default 24 h. */
  readonly keyRotationInterval?: number;
  /** An Effect `Schedule` for rotations, instead of `keyRotationInterval`. */
  readonly keyRotationSchedule?: Schedule.Schedule<unknown, unknown>;
  /** Where rotated keys are saved (when persistence is on). Default: `keyDir`. */
  readonly keyRotationDir?: string;
  /** Password for rotated key files. Default: `keyPassword`. */
  readonly keyRotationPassword?: string;
  /** Retries after a failed attempt (429, 5xx, network). Default 2. */
  readonly maxRetries?: number;
  /** Size of generated RSA keys: 4096 (default) or 2048. */
  readonly keySize?: RsaKeySize;
  /** SHA-256 fingerprint (hex) the router's public key must have. */
  readonly serverKeyFingerprint?: string;
  /** Default security tier of requests. */
  readonly securityTier?: SecurityTier;
  /** TPM attestation policy. Default `"off"`. */
  readonly attestation?: AttestationMode;
  /** Expected PCR values (index → hex), checked whenever attestation is verified. */
  readonly pcrBaseline?: Readonly<Record<string, string>>;
  /** A `Retry-After` longer than this (ms) is ignored for the normal backoff. Default 60,000. */
  readonly maxRetryAfter?: number;
  /** Largest response body accepted, in bytes. Default 64 MiB. */
  readonly maxResponseBytes?: number;
  /** The `fetch` to use. Default: the runtime's. */
  readonly fetch?: typeof globalThis.fetch;
}

/** Options after defaults and checks. */
export interface ResolvedOptions {
  readonly baseUrl: string;
  readonly allowHttp: boolean;
  readonly apiKey: Redacted.Redacted<string> | undefined;
  readonly secureMemory: boolean;
  readonly timeout: number;
  readonly debug: boolean;
  readonly keyDir: string | undefined;
  readonly keyPassword: string | undefined;
  readonly keyRotationInterval: number;
  readonly keyRotationSchedule: Schedule.Schedule<unknown, unknown> | undefined;
  readonly keyRotationDir: string | undefined;
  readonly keyRotationPassword: string | undefined;
  readonly maxRetries: number;
  readonly keySize: RsaKeySize;
  readonly serverKeyFingerprint: string | undefined;
  readonly securityTier: SecurityTier | undefined;
  readonly attestation: AttestationMode;
  readonly pcrBaseline: Readonly<Record<string, string>> | undefined;
  readonly maxRetryAfter: number;
  readonly maxResponseBytes: number;
  readonly fetch: typeof globalThis.fetch | undefined;
}

/** Default per-attempt timeout: 60 s. */
export const DEFAULT_TIMEOUT_MS = 60_000;
/** Default rotation interval: 24 h. */
export const DEFAULT_ROTATION_MS: number = 24 * 60 * 60 * 1000;
/** Default response cap: 64 MiB. */
export const DEFAULT_MAX_RESPONSE_BYTES: number = 64 * 1024 * 1024;

/** `NOMYO_API_KEY`, where the runtime lets us read it (no permission prompt, no throw). */
export const apiKeyFromEnvironment = (): string | undefined => {
  try {
    const deno = (globalThis as { Deno?: { env: { get(k: string): string | undefined } } }).Deno;
    if (deno !== undefined) return deno.env.get("NOMYO_API_KEY");
    const process = (globalThis as { process?: { env?: Record<string, string | undefined> } })
      .process;
    return process?.env?.NOMYO_API_KEY;
  } catch {
    return undefined; // no --allow-env: the caller passes apiKey instead
  }
};

const nonNegative = (name: string, value: number | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`Cannot create client: ${name} must be a non-negative number`);
  }
  return value;
};

const optionalString = (name: string, value: unknown): string | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`Cannot create client: ${name} must be a non-empty string`);
  }
  return value;
};

/**
 * Applies defaults and checks the options.
 *
 * @param options What the caller passed.
 * @returns The resolved options.
 * @throws {TypeError} On an option of the wrong type or range.
 * @throws {SecurityError} On a refused base URL or security tier.
 */
export const resolveOptions = (options: ClientOptions = {}): ResolvedOptions => {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot create client: options must be an object");
  }
  const allowHttp = options.allowHttp === true;
  const baseUrl = Either.getOrThrowWith(
    checkBaseUrl(optionalString("baseUrl", options.baseUrl) ?? DEFAULT_BASE_URL, allowHttp),
    (e) => e,
  );
  const keySize = options.keySize ?? 4096;
  if (keySize !== 4096 && keySize !== 2048) {
    throw new TypeError("Cannot create client: keySize must be 4096 or 2048");
  }
  const attestation = options.attestation ?? "off";
  if (!["off", "verify-if-present", "require"].includes(attestation)) {
    throw new TypeError(
      'Cannot create client: attestation must be "off", "verify-if-present" or "require"',
    );
  }
  const apiKey = optionalString("apiKey", options.apiKey) ?? apiKeyFromEnvironment();
  const maxRetries = nonNegative("maxRetries", options.maxRetries, 2);
  if (!Number.isInteger(maxRetries)) {
    throw new TypeError("Cannot create client: maxRetries must be a whole number");
  }
  const keyDir = optionalString("keyDir", options.keyDir);
  return {
    baseUrl,
    allowHttp,
    apiKey: apiKey === undefined || apiKey === "" ? undefined : Redacted.make(apiKey),
    secureMemory: options.secureMemory !== false,
    timeout: nonNegative("timeout", options.timeout, DEFAULT_TIMEOUT_MS),
    debug: options.debug === true,
    keyDir,
    keyPassword: optionalString("keyPassword", options.keyPassword),
    keyRotationInterval: nonNegative(
      "keyRotationInterval",
      options.keyRotationInterval,
      DEFAULT_ROTATION_MS,
    ),
    keyRotationSchedule: options.keyRotationSchedule,
    keyRotationDir: optionalString("keyRotationDir", options.keyRotationDir) ?? keyDir,
    keyRotationPassword: optionalString("keyRotationPassword", options.keyRotationPassword) ??
      optionalString("keyPassword", options.keyPassword),
    maxRetries,
    keySize,
    serverKeyFingerprint: optionalString("serverKeyFingerprint", options.serverKeyFingerprint),
    securityTier: options.securityTier === undefined
      ? undefined
      : Either.getOrThrowWith(checkSecurityTier(options.securityTier), (e) => e),
    attestation,
    pcrBaseline: options.pcrBaseline,
    maxRetryAfter: nonNegative("maxRetryAfter", options.maxRetryAfter, 60_000),
    maxResponseBytes: nonNegative(
      "maxResponseBytes",
      options.maxResponseBytes,
      DEFAULT_MAX_RESPONSE_BYTES,
    ),
    fetch: options.fetch,
  };
};
