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
import type * as Tracer from "effect/Tracer";
import type { AttestationMode } from "./secure_completion.ts";
import { DEFAULT_BASE_URL, SECURITY_TIERS, type SecurityTier } from "../protocol/headers.ts";
import { SecurityError } from "../errors.ts";
import type { RsaKeySize } from "../keys/rsa_key.ts";
import { type ClosedKeys, closedKeysError } from "../protocol/closed_keys.ts";
import type { RouterKeyChangeHandler } from "../transport/router_key_trust.ts";
import {
  isEffectTracer,
  isNomyoLogger,
  LOG_LEVEL_NAMES,
  type LogLevelName,
  type NomyoLogger,
} from "./observability.ts";
import { checkAdmittedBaseUrl } from "./warnings.ts";

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
  /**
   * Log each request's progress (payload id, status, retries; never secrets): the same as
   * `logLevel: "debug"`. Default `false`. Given with a `logLevel` other than `"debug"`, it is a
   * `TypeError`.
   */
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
  /**
   * `"tofu"`: trust on first use. The first key seen for a router origin is recorded in the
   * known-routers file (`knownRoutersPath`, else `keyDir/known_routers.json`, one of them
   * required); a later different key is a `SecurityError` `"RouterKeyChanged"` before anything
   * is encrypted to it, unless `onRouterKeyChange` returns `true`. `serverKeyFingerprint`, when
   * set, decides instead. Default `"off"`.
   */
  readonly routerKeyPolicy?: "off" | "tofu" | undefined;
  /** The known-routers file of `routerKeyPolicy: "tofu"` (mode 0600). Default: in `keyDir`. */
  readonly knownRoutersPath?: string | undefined;
  /**
   * Under `routerKeyPolicy: "tofu"`, asked when a router's key is not the recorded one: `true`
   * (or a Promise of it) records and uses the new key; anything else, or a throw, refuses it.
   */
  readonly onRouterKeyChange?: RouterKeyChangeHandler | undefined;
  // --- Observability (issue 17.5, 17.6) ---
  /**
   * Where the client's lines go (openai-node's `Logger` shape: `error`, `warn`, `info`,
   * `debug`, each `(message, ...rest)`). Default: the console (`console.warn` for warnings).
   * No line ever holds a prompt, an answer, a key or the API key.
   */
  readonly logger?: NomyoLogger | undefined;
  /**
   * How much is logged: `"off"`, `"error"`, `"warn"` (default), `"info"` or `"debug"` (each
   * request's progress).
   */
  readonly logLevel?: LogLevelName | undefined;
  /**
   * An Effect `Tracer` for the client's `nomyo.*` spans (`nomyo.create`, `nomyo.seal`,
   * `nomyo.send`, …), e.g. from `@effect/opentelemetry`. Default: the tracer in context, which
   * records nothing unless one is set. Span attributes never hold message content or keys.
   */
  readonly tracer?: Tracer.Tracer | undefined;
}

/** Default per-attempt timeout: 60 s. */
export const DEFAULT_TIMEOUT_MS = 60_000;
/** Default number of retries after a retryable failure: 2. */
export const DEFAULT_MAX_RETRIES: number = 2;
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
const NomyoLoggerSchema = Schema.declare(isNomyoLogger);
const TracerSchema = Schema.declare(isEffectTracer);
const ApiKey = Schema.Union(NonEmptyString, Schema.RedactedFromSelf(Schema.String));
const KeyChangeHandler = Schema.declare((u: unknown): u is RouterKeyChangeHandler =>
  typeof u === "function"
);

const withDefault = <S extends Schema.Schema.AnyNoContext>(
  schema: S,
  value: Schema.Schema.Type<S>,
) => Schema.optionalWith(schema, { default: () => value });
/**
 * An option without a constant default: `undefined` when left out, but always an own key of the
 * result, so that reading it never reaches a (polluted) `Object.prototype`.
 */
const optional = <A, I>(schema: Schema.Schema<A, I, never>) =>
  Schema.optionalWith(Schema.UndefinedOr(schema), { default: () => undefined });

const Options = Schema.Struct({
  baseUrl: optional(NonEmptyString),
  baseURL: optional(NonEmptyString),
  base_url: optional(NonEmptyString),
  routerUrl: optional(NonEmptyString),
  allowHttp: withDefault(Schema.Boolean, false),
  apiKey: optional(ApiKey),
  secureMemory: withDefault(Schema.Boolean, true),
  timeout: withDefault(PositiveMillis, DEFAULT_TIMEOUT_MS),
  debug: optional(Schema.Boolean),
  keyDir: optional(NonEmptyString),
  keyPassword: optional(NonEmptyString),
  keyRotationInterval: withDefault(Millis, DEFAULT_ROTATION_MS),
  keyRotationSchedule: optional(RotationSchedule),
  keyRotationDir: optional(NonEmptyString),
  keyRotationPassword: optional(NonEmptyString),
  maxRetries: withDefault(Count, DEFAULT_MAX_RETRIES),
  keySize: withDefault(Schema.Literal(4096, 2048), 4096),
  serverKeyFingerprint: optional(Fingerprint),
  // A string here; an unknown tier is a `SecurityError` (`InvalidSecurityTier`), as per request.
  securityTier: optional(Schema.String),
  attestation: withDefault(Schema.Literal("off", "verify-if-present", "require"), "off"),
  pcrBaseline: optional(PcrBaseline),
  maxRetryAfter: withDefault(Millis, 60_000),
  maxResponseBytes: withDefault(PositiveCount, DEFAULT_MAX_RESPONSE_BYTES),
  fetch: optional(Fetch),
  routerKeyPolicy: withDefault(Schema.Literal("off", "tofu"), "off"),
  knownRoutersPath: optional(NonEmptyString),
  onRouterKeyChange: optional(KeyChangeHandler),
  // Observability
  logger: optional(NomyoLoggerSchema),
  logLevel: optional(Schema.Literal(...LOG_LEVEL_NAMES)),
  tracer: optional(TracerSchema),
});

type OptionKey = keyof typeof Options.fields;
type BaseUrlAlias = "baseURL" | "base_url" | "routerUrl";

/**
 * Options after defaults and checks: the schema's output, every key present, the aliases of
 * `baseUrl` folded into it, the API key as a `Redacted`, the tier checked.
 */
export type ResolvedOptions =
  & Omit<
    typeof Options.Type,
    BaseUrlAlias | "baseUrl" | "apiKey" | "securityTier" | "debug" | "logLevel"
  >
  & {
    /** `logLevel`, with `debug: true` folded into it. */
    readonly logLevel: LogLevelName;
    readonly baseUrl: string;
    readonly apiKey: Redacted.Redacted<string> | undefined;
    readonly securityTier: SecurityTier | undefined;
  };

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
  routerKeyPolicy: '"off" or "tofu"',
  knownRoutersPath: "a non-empty string (a file path)",
  onRouterKeyChange: "a function returning true, false or a Promise of one",
  logger: "an object with error, warn, info and debug functions (openai-node's Logger shape)",
  logLevel: `one of ${LOG_LEVEL_NAMES.map((l) => `"${l}"`).join(", ")}`,
  tracer: "an Effect Tracer (Tracer.make, or @effect/opentelemetry's)",
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
const RENAMED: Readonly<Record<string, string>> = {
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
  tofu: "routerKeyPolicy",
  trustOnFirstUse: "routerKeyPolicy",
  knownHosts: "knownRoutersPath",
  knownHostsPath: "knownRoutersPath",
  onKeyChange: "onRouterKeyChange",
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
  webhookSecret: "an OpenAI SDK option this client does not have",
  model: "a request field: pass it to create()",
  messages: "a request field: pass it to create()",
  signal: "a per-request option: create(body, { signal })",
};

/** The peers' aliases of `baseUrl` are suggested as `baseUrl` itself. */
const canonical = (key: string): string =>
  (BASE_URL_NAMES as ReadonlyArray<string>).includes(key) ? "baseUrl" : key;

const KNOWN_KEYS = Object.keys(Options.fields) as ReadonlyArray<OptionKey>;

/** The closed keys of the options, for the one closed-keys check. */
const OPTION_KEYS: ClosedKeys = {
  action: "create client",
  label: "option",
  known: KNOWN_KEYS,
  listed: KNOWN_KEYS.filter((k) => canonical(k) === k),
  renamed: RENAMED,
  notes: NO_EQUIVALENT,
  suggest: canonical,
};

/**
 * Why the keys of client options are refused (unknown, inherited from the caller's prototype,
 * a getter), or `undefined`; for doors that read options before resolving them.
 *
 * @param options The caller's options, an object.
 * @returns The `TypeError`, or `undefined`.
 */
export const optionKeysError = (options: object): TypeError | undefined =>
  closedKeysError(options, OPTION_KEYS);

// ---------------------------------------------------------------------------------------------
// Resolution: schema, then aliases and derived defaults, then the security checks.

const decode = Schema.decodeUnknownEither(Options, { onExcessProperty: "error", errors: "all" });

const refuse = (what: string): TypeError => new TypeError(`Cannot create client: ${what}`);

/** The caller's mistakes as one `TypeError`: every unknown key, else the first wrong value. */
const toTypeError = (error: ParseResult.ParseError): TypeError => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error);
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
  // Only own data keys are read: an inherited `baseUrl` (`Object.create(defaults)`, a getter on
  // a class) would be dropped, and the traffic would go to the default router.
  const keysError = closedKeysError(input, OPTION_KEYS);
  if (keysError !== undefined) return Either.left(keysError);
  const decoded = decode(input);
  if (Either.isLeft(decoded)) return Either.left(toTypeError(decoded.left));
  const o = decoded.right;

  const given = BASE_URL_NAMES.filter((name) => o[name] !== undefined);
  const [first, ...others] = given;
  const clash = others.find((name) => o[name] !== o[first!]);
  if (clash !== undefined) {
    return Either.left(refuse(`${first} and ${clash} are aliases but give different URLs`));
  }
  // Checked here; its plain-HTTP warning is the service's, to the client's logger.
  const baseUrl = checkAdmittedBaseUrl(
    first === undefined ? DEFAULT_BASE_URL : o[first]!,
    o.allowHttp,
    { action: "create client", name: first ?? "baseUrl" },
  );
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

  // Trust on first use needs a file, and its options mean nothing without it: a path given with
  // the policy off would look like protection that is not there.
  if (o.routerKeyPolicy === "tofu" && o.keyDir === undefined && o.knownRoutersPath === undefined) {
    return Either.left(
      refuse('routerKeyPolicy "tofu" needs keyDir or knownRoutersPath (where keys are recorded)'),
    );
  }
  if (o.routerKeyPolicy !== "tofu") {
    const stray = (["knownRoutersPath", "onRouterKeyChange"] as const).find((k) =>
      o[k] !== undefined
    );
    if (stray !== undefined) {
      return Either.left(refuse(`${stray} is only used with routerKeyPolicy: "tofu"`));
    }
  }
  // `debug` is a shorthand of `logLevel: "debug"`; given both, they must agree.
  if (o.debug !== undefined && o.logLevel !== undefined && o.debug !== (o.logLevel === "debug")) {
    return Either.left(refuse(`debug: ${o.debug} and logLevel: "${o.logLevel}" disagree`));
  }
  const logLevel: LogLevelName = o.logLevel ?? (o.debug === true ? "debug" : "warn");

  const key = o.apiKey ?? (from.environment === false ? undefined : apiKeyFromEnvironment());
  const apiKey = key === undefined
    ? undefined
    : Redacted.isRedacted(key)
    ? key
    : Redacted.make(key);
  const {
    baseURL: _baseURL,
    base_url: _base_url,
    routerUrl: _routerUrl,
    debug: _debug,
    logLevel: _logLevel,
    ...rest
  } = o;
  return Either.right({
    ...rest,
    baseUrl: baseUrl.right,
    // An empty key (an empty NOMYO_API_KEY) is no key.
    apiKey: apiKey === undefined || Redacted.value(apiKey) === "" ? undefined : apiKey,
    keyRotationDir: o.keyRotationDir ?? o.keyDir,
    keyRotationPassword: o.keyRotationPassword ?? o.keyPassword,
    securityTier: o.securityTier as SecurityTier | undefined,
    logLevel,
  });
};

/**
 * Applies defaults and checks the options.
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
