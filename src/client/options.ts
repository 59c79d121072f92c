/**
 * The client's options (the names of nomyo-js and the OpenAI SDK), their defaults, and their
 * checks, all in one `effect/Schema`. The options are closed: an unknown key is a `TypeError`
 * that names it and suggests the right one, never silently dropped (a dropped `baseURL` would
 * send the caller's traffic, API key included, to the default router). The peers' names for the
 * base URL (`routerUrl`, `baseURL`, `base_url`) are aliases of `baseUrl`.
 *
 * Caller misuse (an unknown key, a wrong type or range) is a `TypeError`; a refused base URL or
 * security tier is a `SecurityError`. No message ever holds an option's value.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as ParseResult from "effect/ParseResult";
import * as Redacted from "effect/Redacted";
import * as Schedule from "effect/Schedule";
import * as Schema from "effect/Schema";
import type { AttestationMode } from "./secure_completion.ts";
import { DEFAULT_BASE_URL, SECURITY_TIERS, type SecurityTier } from "../protocol/headers.ts";
import { SecurityError } from "../errors.ts";
import type { RsaKeySize } from "../keys/rsa_key.ts";
import { admitBaseUrl } from "./warnings.ts";

/**
 * Options of `SecureChatCompletion`, `SecureCompletionClient` and `nomyoLayer`. Unknown keys
 * are refused with a `TypeError`; `undefined` is the same as leaving an option out.
 */
export interface ClientOptions {
  /** Router base URL. Default `https://api.nomyo.ai`. */
  readonly baseUrl?: string | undefined;
  /** Alias of `baseUrl` (the OpenAI SDK's name). Giving two different URLs is a `TypeError`. */
  readonly baseURL?: string | undefined;
  /** Alias of `baseUrl` (the Python client's name). */
  readonly base_url?: string | undefined;
  /** Alias of `baseUrl` (nomyo-js's name). */
  readonly routerUrl?: string | undefined;
  /** Allow `http://` routers (local development only; prints one warning). Default `false`. */
  readonly allowHttp?: boolean | undefined;
  /** API key. Default: the `NOMYO_API_KEY` environment variable, where it can be read. */
  readonly apiKey?: string | Redacted.Redacted<string> | undefined;
  /** Zero plaintext buffers after use. Default `true`; turning it off is not recommended. */
  readonly secureMemory?: boolean | undefined;
  /** Time allowed per attempt, in milliseconds (positive). Default 60,000. */
  readonly timeout?: number | undefined;
  /** Log each request's progress (payload id, status, retries; never secrets). Default `false`. */
  readonly debug?: boolean | undefined;
  /** Directory of `private_key.pem` / `public_key.pem`: loaded when present, else made and saved. */
  readonly keyDir?: string | undefined;
  /** Password of the key files in `keyDir` (encrypted PKCS#8). */
  readonly keyPassword?: string | undefined;
  /** Milliseconds between key rotations; `0` turns rotation off. Default 24 h. */
  readonly keyRotationInterval?: number | undefined;
  /** An Effect `Schedule` for rotations, instead of `keyRotationInterval`. */
  readonly keyRotationSchedule?: Schedule.Schedule<unknown, unknown> | undefined;
  /** Where rotated keys are saved (when persistence is on). Default: `keyDir`. */
  readonly keyRotationDir?: string | undefined;
  /** Password for rotated key files. Default: `keyPassword`. */
  readonly keyRotationPassword?: string | undefined;
  /**
   * Retries after a failed attempt: on 429, 500, 502, 503, 504, a timeout or a network failure
   * (not on a browser refusal, a security error or any other status). A whole number. Default 2.
   */
  readonly maxRetries?: number | undefined;
  /** Size of generated RSA keys: 4096 (default) or 2048. */
  readonly keySize?: RsaKeySize | undefined;
  /**
   * SHA-256 fingerprint the router's public key must have: 64 hex digits (colons and spaces
   * allowed). Checked when the client is made.
   */
  readonly serverKeyFingerprint?: string | undefined;
  /** Default security tier of requests. */
  readonly securityTier?: SecurityTier | undefined;
  /** TPM attestation policy. Default `"off"`. */
  readonly attestation?: AttestationMode | undefined;
  /** Expected PCR values (index → 64 hex digits), checked whenever attestation is verified. */
  readonly pcrBaseline?: Readonly<Record<string, string>> | undefined;
  /** A `Retry-After` longer than this (ms) is ignored for the normal backoff. Default 60,000. */
  readonly maxRetryAfter?: number | undefined;
  /** Largest response body accepted, in bytes (a positive whole number). Default 64 MiB. */
  readonly maxResponseBytes?: number | undefined;
  /** The `fetch` to use. Default: the runtime's. */
  readonly fetch?: typeof globalThis.fetch | undefined;
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

// ---------------------------------------------------------------------------------------------
// The schema: every field typed and range-checked, the static defaults applied.

const NonEmptyString = Schema.String.pipe(Schema.minLength(1));
const Millis = Schema.Number.pipe(Schema.finite(), Schema.nonNegative());
const PositiveMillis = Schema.Number.pipe(Schema.finite(), Schema.positive());
const Count = Schema.Number.pipe(Schema.int(), Schema.nonNegative());
const PositiveCount = Schema.Number.pipe(Schema.int(), Schema.positive());
const Hex64 = /^[0-9a-fA-F]{64}$/;
const Fingerprint = Schema.String.pipe(
  Schema.filter((s) => Hex64.test(s.replace(/[:\s]/g, ""))),
);
const PcrBaseline = Schema.Record({
  key: Schema.String.pipe(Schema.pattern(/^(?:0|[1-9][0-9]{0,3})$/)),
  value: Schema.String.pipe(Schema.pattern(Hex64)),
}).pipe(Schema.filter((r) => Object.keys(r).length > 0));
const Fetch = Schema.declare((u: unknown): u is typeof globalThis.fetch => typeof u === "function");
const RotationSchedule = Schema.declare((u: unknown): u is Schedule.Schedule<unknown, unknown> =>
  Schedule.isSchedule(u)
);
const ApiKey = Schema.Union(NonEmptyString, Schema.RedactedFromSelf(Schema.String));

const optional = Schema.optional;
const withDefault = <S extends Schema.Schema.AnyNoContext>(
  schema: S,
  value: Schema.Schema.Type<S>,
) => Schema.optionalWith(schema, { default: () => value });

const Options = Schema.Struct({
  baseUrl: optional(NonEmptyString),
  baseURL: optional(NonEmptyString),
  base_url: optional(NonEmptyString),
  routerUrl: optional(NonEmptyString),
  allowHttp: withDefault(Schema.Boolean, false),
  apiKey: optional(ApiKey),
  secureMemory: withDefault(Schema.Boolean, true),
  timeout: withDefault(PositiveMillis, DEFAULT_TIMEOUT_MS),
  debug: withDefault(Schema.Boolean, false),
  keyDir: optional(NonEmptyString),
  keyPassword: optional(NonEmptyString),
  keyRotationInterval: withDefault(Millis, DEFAULT_ROTATION_MS),
  keyRotationSchedule: optional(RotationSchedule),
  keyRotationDir: optional(NonEmptyString),
  keyRotationPassword: optional(NonEmptyString),
  maxRetries: withDefault(Count, 2),
  keySize: withDefault(Schema.Literal(4096, 2048), 4096),
  serverKeyFingerprint: optional(Fingerprint),
  // A string here; an unknown tier is a `SecurityError` (`InvalidSecurityTier`), as per request.
  securityTier: optional(Schema.String),
  attestation: withDefault(Schema.Literal("off", "verify-if-present", "require"), "off"),
  pcrBaseline: optional(PcrBaseline),
  maxRetryAfter: withDefault(Millis, 60_000),
  maxResponseBytes: withDefault(PositiveCount, DEFAULT_MAX_RESPONSE_BYTES),
  fetch: optional(Fetch),
});

type OptionKey = keyof typeof Options.fields;

/** What each option must be, for the `TypeError` (never the value the caller gave). */
const EXPECTED: { readonly [K in OptionKey]: string } = {
  baseUrl: "a non-empty string (a URL)",
  baseURL: "a non-empty string (a URL)",
  base_url: "a non-empty string (a URL)",
  routerUrl: "a non-empty string (a URL)",
  allowHttp: "a boolean",
  apiKey: "a non-empty string or a Redacted string",
  secureMemory: "a boolean",
  timeout: "a positive number of milliseconds",
  debug: "a boolean",
  keyDir: "a non-empty string (a directory)",
  keyPassword: "a non-empty string",
  keyRotationInterval: "a non-negative number of milliseconds (0 turns rotation off)",
  keyRotationSchedule: "an Effect Schedule",
  keyRotationDir: "a non-empty string (a directory)",
  keyRotationPassword: "a non-empty string",
  maxRetries: "a non-negative whole number",
  keySize: "4096 or 2048",
  serverKeyFingerprint: "a SHA-256 fingerprint: 64 hex digits (colons and spaces allowed)",
  securityTier: `one of ${SECURITY_TIERS.map((t) => `"${t}"`).join(", ")}`,
  attestation: '"off", "verify-if-present" or "require"',
  pcrBaseline: "a non-empty object of PCR index to 64 hex digits",
  maxRetryAfter: "a non-negative number of milliseconds",
  maxResponseBytes: "a positive whole number of bytes",
  fetch: "a function (a fetch)",
};

// The compiler proves that the schema knows every key of `ClientOptions`, and no other: a key
// added to one and not the other would be refused as unknown, or accepted without a type.
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? true
  : false;
const schemaCoversClientOptions: SameKeys<ClientOptions, typeof Options.Encoded> = true;
void schemaCoversClientOptions;

/** `baseUrl` and its aliases, in the order they are reported. */
export const BASE_URL_NAMES: readonly ["baseUrl", "baseURL", "base_url", "routerUrl"] = [
  "baseUrl",
  "baseURL",
  "base_url",
  "routerUrl",
];

// ---------------------------------------------------------------------------------------------
// Unknown keys: a suggestion from the peers' names, a case- and separator-blind match, or the
// edit distance.

/** Names the peers (Python client, nomyo-js, openai-node) or habit use for our options. */
const RENAMED: Readonly<Record<string, OptionKey>> = {
  router_url: "baseUrl",
  url: "baseUrl",
  endpoint: "baseUrl",
  host: "baseUrl",
  server: "baseUrl",
  serverUrl: "baseUrl",
  timeout_ms: "timeout",
  timeoutMs: "timeout",
  timeoutMillis: "timeout",
  request_timeout: "timeout",
  retries: "maxRetries",
  retry: "maxRetries",
  maxRetry: "maxRetries",
  max_attempts: "maxRetries",
  password: "keyPassword",
  key_passphrase: "keyPassword",
  fingerprint: "serverKeyFingerprint",
  serverFingerprint: "serverKeyFingerprint",
  pin: "serverKeyFingerprint",
  tier: "securityTier",
  log_level: "debug",
  logLevel: "debug",
  verbose: "debug",
  token: "apiKey",
  api_token: "apiKey",
  authToken: "apiKey",
  bearer: "apiKey",
  rotation_interval: "keyRotationInterval",
  key_rotation: "keyRotationInterval",
  rsa_key_size: "keySize",
  bits: "keySize",
  max_response_size: "maxResponseBytes",
};

/** Options other clients have that this one does not, and what to do instead. */
const NO_EQUIVALENT: Readonly<Record<string, string>> = {
  organization: "an OpenAI SDK option this client does not have",
  project: "an OpenAI SDK option this client does not have",
  defaultHeaders:
    "an OpenAI SDK option this client does not have; headers are fixed by the protocol",
  defaultQuery: "an OpenAI SDK option this client does not have",
  fetchOptions: "an OpenAI SDK option; pass a `fetch` that sets them instead",
  httpAgent: "an OpenAI SDK option; pass a `fetch` that uses the agent instead",
  dangerouslyAllowBrowser: "not needed: this client runs in browsers as it is",
  logger: "not an option; set debug: true to log request progress",
  webhookSecret: "an OpenAI SDK option this client does not have",
  model: "a request field: pass it to create()",
  messages: "a request field: pass it to create()",
  signal: "a per-request option: create(body, { signal })",
};

/** Lower case, without `_`, `-` or spaces: `api_key`, `APIKEY` and `apiKey` are the same. */
const fold = (key: string): string => key.toLowerCase().replace(/[_\-\s]/g, "");

/** The peers' aliases of `baseUrl` are suggested as `baseUrl` itself. */
const canonical = (key: OptionKey): OptionKey =>
  (BASE_URL_NAMES as ReadonlyArray<string>).includes(key) ? "baseUrl" : key;

const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length]!;
};

const KNOWN_KEYS = Object.keys(Options.fields) as ReadonlyArray<OptionKey>;

/** The option the caller probably meant by `key`, if any. */
const suggestionFor = (key: string): OptionKey | undefined => {
  if (Object.hasOwn(RENAMED, key)) return RENAMED[key];
  if (key.length > 64) return undefined; // no option is that long; spare the edit distance
  const folded = fold(key);
  const renamed = Object.entries(RENAMED).find(([name]) => fold(name) === folded);
  if (renamed !== undefined) return renamed[1];
  const same = KNOWN_KEYS.find((known) => fold(known) === folded);
  if (same !== undefined) return canonical(same);
  let best: { key: OptionKey; distance: number } | undefined;
  for (const known of KNOWN_KEYS) {
    const distance = editDistance(folded, fold(known));
    if (best === undefined || distance < best.distance) best = { key: known, distance };
  }
  const allowed = folded.length <= 4 ? 1 : folded.length <= 8 ? 2 : 3;
  return best !== undefined && best.distance <= allowed ? canonical(best.key) : undefined;
};

/** How a key the caller gave is shown: quoted, control characters escaped, cut at 64. */
const showKey = (key: PropertyKey): string => JSON.stringify(String(key).slice(0, 64));

/** One unknown key, with what it probably meant (`undefined` when nothing comes close). */
const unknownOption = (key: PropertyKey): string | undefined => {
  if (typeof key !== "string") return undefined;
  const note = Object.hasOwn(NO_EQUIVALENT, key) ? NO_EQUIVALENT[key] : undefined;
  if (note !== undefined) return `unknown option ${showKey(key)} (${note})`;
  const suggestion = suggestionFor(key);
  return suggestion === undefined
    ? undefined
    : `unknown option ${showKey(key)} (did you mean "${suggestion}"?)`;
};

/** Unknown keys named in one message; the others are counted. */
const MAX_NAMED = 5;

/** The unknown keys, then the list of options when one of them matched nothing. */
const unknownOptions = (all: ReadonlyArray<PropertyKey>): string => {
  const keys = all.slice(0, MAX_NAMED);
  const hints = keys.map(unknownOption);
  const parts = hints.map((hint, i) => hint ?? `unknown option ${showKey(keys[i]!)}`);
  if (all.length > keys.length) parts.push(`${all.length - keys.length} more unknown options`);
  if (hints.every((hint) => hint !== undefined)) return parts.join("; ");
  const names = KNOWN_KEYS.filter((k) => canonical(k) === k).join(", ");
  return `${parts.join("; ")} (the options are ${names})`;
};

// ---------------------------------------------------------------------------------------------
// Resolution: schema, then aliases and derived defaults, then the security checks.

const decode = Schema.decodeUnknownEither(Options, { onExcessProperty: "error", errors: "all" });

const refuse = (what: string): TypeError => new TypeError(`Cannot create client: ${what}`);

/** The caller's mistakes as one `TypeError`: every unknown key, else the first wrong value. */
const toTypeError = (error: ParseResult.ParseError): TypeError => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error);
  const unknown = issues.filter((i) => i._tag === "Unexpected" && i.path.length === 1);
  if (unknown.length > 0) return refuse(unknownOptions(unknown.map((i) => i.path[0]!)));
  const key = issues.find((i) => i.path.length > 0)?.path[0];
  if (key === undefined) return refuse("options must be an object");
  return refuse(`${String(key)} must be ${EXPECTED[key as OptionKey]}`);
};

/** Where defaults that are not constants come from. */
export interface ResolveFrom {
  /** Read `NOMYO_API_KEY` from the process environment when no `apiKey` is given. Default on. */
  readonly environment?: boolean;
}

const resolveEither = (
  input: unknown,
  from: ResolveFrom,
): Either.Either<ResolvedOptions, TypeError | SecurityError> => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return Either.left(refuse("options must be an object"));
  }
  if (input instanceof Map) return Either.left(refuse("options must be an object, not a Map"));
  // Only own keys are read: an inherited `baseUrl` (`Object.create(defaults)`, a getter on a
  // class) would be dropped, and the traffic would go to the default router.
  const inherited = KNOWN_KEYS.find((key) => key in input && !Object.hasOwn(input, key));
  if (inherited !== undefined) {
    return Either.left(
      refuse(`option ${inherited} is inherited, not an own property; pass a plain object`),
    );
  }
  const decoded = decode(input);
  if (Either.isLeft(decoded)) return Either.left(toTypeError(decoded.left));
  const o = decoded.right;

  const given = BASE_URL_NAMES.filter((name) => o[name] !== undefined);
  const [first, ...others] = given;
  const clash = others.find((name) => o[name] !== o[first!]);
  if (clash !== undefined) {
    return Either.left(refuse(`${first} and ${clash} are aliases but give different URLs`));
  }
  const baseUrl = admitBaseUrl(first === undefined ? DEFAULT_BASE_URL : o[first]!, o.allowHttp);
  if (Either.isLeft(baseUrl)) return Either.left(baseUrl.left);

  if (
    o.securityTier !== undefined &&
    !(SECURITY_TIERS as ReadonlyArray<string>).includes(o.securityTier)
  ) {
    return Either.left(
      new SecurityError({
        reason: "InvalidSecurityTier",
        message: `Cannot create client: securityTier must be ${EXPECTED.securityTier}`,
      }),
    );
  }

  const key = o.apiKey ?? (from.environment === false ? undefined : apiKeyFromEnvironment());
  const apiKey = key === undefined
    ? undefined
    : Redacted.isRedacted(key)
    ? key
    : Redacted.make(key);
  return Either.right({
    baseUrl: baseUrl.right,
    allowHttp: o.allowHttp,
    // An empty key (an empty NOMYO_API_KEY) is no key.
    apiKey: apiKey === undefined || Redacted.value(apiKey) === "" ? undefined : apiKey,
    secureMemory: o.secureMemory,
    timeout: o.timeout,
    debug: o.debug,
    keyDir: o.keyDir,
    keyPassword: o.keyPassword,
    keyRotationInterval: o.keyRotationInterval,
    keyRotationSchedule: o.keyRotationSchedule,
    keyRotationDir: o.keyRotationDir ?? o.keyDir,
    keyRotationPassword: o.keyRotationPassword ?? o.keyPassword,
    maxRetries: o.maxRetries,
    keySize: o.keySize,
    serverKeyFingerprint: o.serverKeyFingerprint,
    securityTier: o.securityTier as SecurityTier | undefined,
    attestation: o.attestation,
    pcrBaseline: o.pcrBaseline,
    maxRetryAfter: o.maxRetryAfter,
    maxResponseBytes: o.maxResponseBytes,
    fetch: o.fetch,
  });
};

/**
 * Applies defaults and checks the options (prints the plain-HTTP warning once per URL).
 *
 * @param options What the caller passed.
 * @param from Where non-constant defaults come from.
 * @returns The resolved options.
 * @throws {TypeError} On an unknown option, or one of the wrong type or range.
 * @throws {SecurityError} On a refused base URL or security tier.
 */
export const resolveOptions = (
  options: ClientOptions = {},
  from: ResolveFrom = {},
): ResolvedOptions => Either.getOrThrowWith(resolveEither(options, from), (e) => e);

/**
 * {@linkcode resolveOptions} as an effect, for layers: a refused base URL or tier fails with
 * its `SecurityError`; a caller's `TypeError` is a defect (a bug to fix, not to handle).
 *
 * @param options What the caller passed.
 * @param from Where non-constant defaults come from.
 * @returns The resolved options.
 */
export const resolveOptionsEffect = (
  options: unknown,
  from: ResolveFrom = {},
): Effect.Effect<ResolvedOptions, SecurityError> =>
  Effect.suspend(() =>
    Either.match(resolveEither(options, from), {
      onLeft: (e) => e instanceof TypeError ? Effect.die(e) : Effect.fail(e),
      onRight: Effect.succeed,
    })
  );
