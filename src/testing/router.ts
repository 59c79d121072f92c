/**
 * A NOMYO-compatible router for tests: the two endpoints of the protocol on `node:http` (so it
 * runs under Deno, Node and Bun), bound to 127.0.0.1, answering with a deterministic echo model,
 * recording every request, and able to inject faults (error statuses, delays, broken packages)
 * and rotate its key.
 *
 * It decrypts what clients send and keeps the plaintext in {@linkcode TestRouter.requests}: it
 * is for tests only, never for real data.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import type * as Scope from "effect/Scope";
import { makeHybridCipher } from "../crypto/hybrid_cipher.ts";
import { makeSecureBytes } from "../crypto/secure_bytes.ts";
import { PUBLIC_KEY_PATH, SECURE_COMPLETION_PATH } from "../protocol/endpoints.ts";
import {
  AUTHORIZATION_HEADER,
  PAYLOAD_ID_HEADER,
  PROTOCOL_REQUEST_HEADERS,
  PUBLIC_KEY_HEADER,
  SECURITY_TIER_HEADER,
  SECURITY_TIERS,
} from "../protocol/headers.ts";
import { type DecodedPackage, parsePackage, type SealedPackage } from "../protocol/package.ts";
import { checkOrigins, type CorsOrigins, makeCors } from "../server/cors.ts";
import { type Refusal, serveHttp } from "../server/http_server.ts";
import { checkChatRequest, echoCompletion, type EchoMetadata } from "./echo_model.ts";
import {
  type Fault,
  type FaultPath,
  HTML_PAGE,
  makeFaultQueue,
  NOT_JSON_BODY,
  type Tamper,
  tamperPackage,
} from "./faults.ts";
import { generateRouterKey, importCallerKey, type RouterKey } from "./router_key_pair.ts";
import { makeSoftwareQuote, pcrEntries, type SoftwareQuoteOptions } from "./software_tpm.ts";

export type { Fault, Tamper } from "./faults.ts";
export type { CorsOrigins } from "../server/cors.ts";
export { DEFAULT_PCR_VALUES, type SoftwareQuoteOptions } from "./software_tpm.ts";

/** Options of {@linkcode startTestRouter}. */
export interface TestRouterOptions {
  /** Port on 127.0.0.1; default 0, a free port chosen by the system. */
  readonly port?: number;
  /**
   * Router key size in bits. Default 2048, not the 4096 of real routers: key generation and
   * every unwrap are several times faster, which matters in test suites.
   */
  readonly keySize?: 2048 | 4096;
  /** When set, require `Authorization: Bearer <apiKey>` on completions, else 401. */
  readonly apiKey?: string;
  /**
   * Whether the router has a TPM; default `false`: tier `maximum` is answered 503. With `true`
   * (or options), `maximum`-tier answers carry a `_metadata.tpm_attestation` quote made in
   * software for their payload id: a fresh AIK per request (`aik`, default `"rsassa"`) over
   * `pcrValues` (default {@linkcode DEFAULT_PCR_VALUES}). It proves nothing about a machine.
   */
  readonly tpm?: boolean | SoftwareQuoteOptions;
  /**
   * Makes the block put at `_metadata.tpm_attestation` of answers, whatever their tier
   * (`undefined`: none), or a Promise of it; wins over the quotes of `tpm`.
   */
  readonly attestation?: (payloadId: string) => unknown;
  /**
   * Rewrites each answer before it is sealed: called with the echo model's completion (a fresh
   * object, `_metadata` included), it returns the value whose JSON is sealed to the caller. For
   * tests of answers other servers send (a `finish_reason` of `"abort"`, another `object`, a
   * plaintext that is not a chat completion). Default: the echo model's completion.
   */
  readonly answer?: (completion: Record<string, unknown>) => unknown;
  /** Unix seconds for `processed_at` and `created`; default the clock, floored. */
  readonly now?: () => number;
  /** Largest request body accepted; default 16 MiB; larger gets 413. */
  readonly maxBodyBytes?: number;
  /**
   * Log one line per request (method, path, status, time; never headers or bodies): `true`
   * writes to `console.error`, a function receives the lines. Default: silent.
   */
  readonly log?: boolean | ((line: string) => void);
  /**
   * CORS, for browser pages on another origin: `true` allows any origin (`*`), a list allows
   * exactly those origins (`"http://127.0.0.1:5173"`). Preflights (`OPTIONS`) of both endpoints
   * are then answered 204 with the protocol's request headers (`Content-Type`, `X-Payload-ID`,
   * `X-Public-Key`, `Authorization`, `X-Security-Tier`), and every answer, errors included,
   * carries `Access-Control-Allow-Origin`. Preflights are recorded but take no fault and are
   * not counted in `publicKeyFetches`. Default `false`: no CORS header, `OPTIONS` gets 405.
   */
  readonly cors?: boolean | CorsOrigins;
}

/** A request the router received, as it arrived. */
export interface RecordedRequest {
  /** HTTP method. */
  readonly method: string;
  /** The request target, query included. */
  readonly path: string;
  /** Headers, names lowercased; repeated headers joined with `", "`. */
  readonly headers: Readonly<Record<string, string>>;
  /** The raw body (empty when it was over `maxBodyBytes`). */
  readonly body: Uint8Array;
  /** The decrypted request JSON, when the package opened and was JSON. */
  readonly plaintext?: unknown;
  /** The `X-Payload-ID` header, when there was one. */
  readonly payloadId?: string;
}

/** A running test router. */
export interface TestRouter {
  /** `"http://127.0.0.1:PORT"`, no trailing slash. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** Its current public key, PEM SPKI, as `GET /pki/public_key` serves it. */
  readonly publicKeyPem: string;
  /** SHA-256 of its current DER SPKI, lowercase hex. */
  readonly fingerprint: string;
  /** Every request, both endpoints (and unknown paths), in arrival order. A copy. */
  readonly requests: ReadonlyArray<RecordedRequest>;
  /** How many times `GET /pki/public_key` was called. */
  readonly publicKeyFetches: number;
  /**
   * Queues faults; each request takes the first queued fault for its endpoint.
   *
   * @param faults The faults, applied in order.
   */
  inject(...faults: Fault[]): void;
  /** Drops every queued fault. */
  clearFaults(): void;
  /**
   * Replaces the router key. A package sealed to an old key then gets 400
   * `{"detail": "Cannot decrypt payload: the router's public key has changed"}`.
   *
   * @returns When the new key is in use.
   */
  rotateKey(): Promise<void>;
  /**
   * Stops listening, ends pending delays, destroys open sockets and waits for running handlers.
   * Idempotent.
   *
   * @returns When everything is closed.
   */
  close(): Promise<void>;
}

// The protocol's request headers as `headerRecord` keys them (lower case).
const AUTHORIZATION = AUTHORIZATION_HEADER.toLowerCase();
const PAYLOAD_ID = PAYLOAD_ID_HEADER.toLowerCase();
const PUBLIC_KEY = PUBLIC_KEY_HEADER.toLowerCase();
const SECURITY_TIER = SECURITY_TIER_HEADER.toLowerCase();
const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Caller keys the router keeps imported (the most recent). */
const CALLER_KEY_CACHE = 16;
const TIERS: ReadonlySet<string> = new Set(SECURITY_TIERS);
const JSON_TYPE = "application/json";
const TEXT_TYPE = "text/plain; charset=utf-8";

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string | Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
}

const jsonAnswer = (status: number, value: unknown): Answer => ({
  status,
  contentType: JSON_TYPE,
  body: JSON.stringify(value),
});

const detail = (status: number, text: string): Answer => jsonAnswer(status, { detail: text });

type MutableRecord = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

/** What processing a completion request gave: an error answer, or a completion to seal. */
type Outcome =
  | { readonly kind: "error"; readonly answer: Answer }
  | {
    readonly kind: "ok";
    readonly completion: unknown;
    readonly callerKey: CryptoKey;
  };

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

const parseJson = (bytes: Uint8Array): { readonly ok: true; readonly value: unknown } | {
  readonly ok: false;
} => {
  try {
    return { ok: true, value: JSON.parse(strictUtf8.decode(bytes)) };
  } catch {
    return { ok: false };
  }
};

const checkOptions = (options: TestRouterOptions): void => {
  const { port, keySize, maxBodyBytes, apiKey } = options;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new TypeError(`Cannot start test router: port ${port} is not a port number`);
  }
  if (keySize !== undefined && keySize !== 2048 && keySize !== 4096) {
    throw new TypeError(`Cannot start test router: keySize must be 2048 or 4096`);
  }
  if (maxBodyBytes !== undefined && !(Number.isInteger(maxBodyBytes) && maxBodyBytes > 0)) {
    throw new TypeError(`Cannot start test router: maxBodyBytes must be a positive integer`);
  }
  if (apiKey !== undefined && /[\r\n\0]/.test(apiKey)) {
    throw new TypeError("Cannot start test router: apiKey holds CR, LF or NUL");
  }
  if (options.answer !== undefined && typeof options.answer !== "function") {
    throw new TypeError("Cannot start test router: answer must be a function");
  }
  checkCorsOption(options.cors);
};

/** The own `aik` and `pcrValues` of the `tpm` option (a bad value is a `TypeError` at start). */
const softwareTpmOptions = (tpm: SoftwareQuoteOptions): SoftwareQuoteOptions => {
  if (typeof tpm !== "object" || tpm === null) {
    throw new TypeError("Cannot start test router: tpm must be a boolean or an object");
  }
  const aik = Object.getOwnPropertyDescriptor(tpm, "aik")?.value;
  const pcrValues = Object.getOwnPropertyDescriptor(tpm, "pcrValues")?.value;
  if (aik !== undefined && aik !== "rsassa" && aik !== "rsapss" && aik !== "ecdsa") {
    throw new TypeError("Cannot start test router: tpm.aik must be rsassa, rsapss or ecdsa");
  }
  return {
    ...(aik === undefined ? {} : { aik }),
    ...(pcrValues === undefined
      ? {}
      : { pcrValues: Object.fromEntries(pcrEntries(pcrValues).map(([i, v]) => [String(i), v])) }),
  };
};

/** Checks the `cors` option: a boolean, or a non-empty list of exact origins. */
const checkCorsOption = (cors: unknown): void => {
  if (cors === undefined || typeof cors === "boolean") return;
  if (!Array.isArray(cors) || cors.length === 0) {
    throw new TypeError(
      "Cannot start test router: cors must be true, false or a non-empty list of origins",
    );
  }
  checkOrigins(cors, "Cannot start test router: cors origin");
};

/** Headers, names lowercased; repeated headers joined with `", "` (what `Headers` does). */
const headerRecord = (headers: Headers): Record<string, string> => Object.fromEntries(headers);

/** Answer headers a page must be able to read beyond the safelisted ones (the client reads `Retry-After`). */
const EXPOSED_HEADERS = "Retry-After, WWW-Authenticate";

/** Connection deadlines of the test router: generous, a test never waits on them. */
const HEADERS_TIMEOUT_MS = 10_000;
const IDLE_TIMEOUT_MS = 5_000;
const BODY_TIMEOUT_MS = 30_000;

/**
 * Starts a test router on 127.0.0.1.
 *
 * @param options Port, key size, API key, TPM, attestation, answer rewrite, clock, body cap,
 *   logging, CORS.
 * @returns The running router; call {@linkcode TestRouter.close} when done.
 *
 * @example Serve, fetch the key, close
 * ```ts
 * import { startTestRouter } from "@nomyo/client/testing";
 * const router = await startTestRouter({ apiKey: "test-key" });
 * try {
 *   const pem = await (await fetch(`${router.url}/pki/public_key`)).text();
 *   console.assert(pem === router.publicKeyPem);
 *   router.inject({ status: 429, retryAfter: "1" }); // the next completion gets a 429
 * } finally {
 *   await router.close();
 * }
 * ```
 */
export const startTestRouter = async (options: TestRouterOptions = {}): Promise<TestRouter> => {
  checkOptions(options);
  const keySize = options.keySize ?? 2048;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const now = (): number => Math.floor(options.now?.() ?? Date.now() / 1000);
  const log = options.log === true
    ? (line: string) => console.error(line)
    : typeof options.log === "function"
    ? options.log
    : undefined;
  const cipher = makeHybridCipher(makeSecureBytes());
  // The last few callers' keys, imported once: a client sends the same header on every request
  // until it rotates, and importing RSA-4096 costs the router more than opening a 1 KiB package.
  const callerKeys = new Map<string, Promise<CryptoKey | string>>();
  const callerKeyOf = (header: string): Promise<CryptoKey | string> => {
    let key = callerKeys.get(header);
    if (key === undefined) {
      key = importCallerKey(header);
      if (callerKeys.size >= CALLER_KEY_CACHE) callerKeys.delete(callerKeys.keys().next().value!);
      callerKeys.set(header, key);
    }
    return key;
  };
  const cors = options.cors === undefined || options.cors === false ? undefined : makeCors({
    origins: options.cors,
    methods: "POST",
    allowHeaders: PROTOCOL_REQUEST_HEADERS,
    exposeHeaders: EXPOSED_HEADERS,
  });
  const tpm: SoftwareQuoteOptions | undefined = options.tpm === true
    ? {}
    : options.tpm === undefined || options.tpm === false
    ? undefined
    : softwareTpmOptions(options.tpm);

  let key: RouterKey = await generateRouterKey(keySize);
  const retiredKeys: CryptoKey[] = [];
  // Made on first use only: most tests never need them.
  let spareKey: Promise<RouterKey> | undefined;
  let weakKey: Promise<RouterKey> | undefined;
  const spare = (): Promise<RouterKey> => spareKey ??= generateRouterKey(2048);
  const weak = (): Promise<RouterKey> => weakKey ??= generateRouterKey(1024);

  const records: RecordedRequest[] = [];
  const faults = makeFaultQueue();
  let publicKeyFetches = 0;
  let closed = false;
  const pendingWaits = new Set<() => void>();

  /** Waits `ms`, or less when the caller hangs up or the router closes. */
  const wait = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        pendingWaits.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      pendingWaits.add(done);
      signal.addEventListener("abort", done);
    });

  const faultAnswer = (fault: Fault): Answer => {
    const headers = fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter };
    if (fault.rawBody !== undefined) {
      return { status: fault.status ?? 500, contentType: TEXT_TYPE, body: fault.rawBody, headers };
    }
    const status = fault.status ?? 500;
    return {
      ...detail(status, fault.detail ?? `Injected fault: status ${status}`),
      headers,
    };
  };

  /** Opens a package with `privateKey` and parses the plaintext; the bytes are zeroed after. */
  const openJson = (pkg: DecodedPackage, privateKey: CryptoKey, payloadId: string) =>
    Effect.runPromise(Effect.either(Effect.scoped(
      Effect.map(cipher.open(pkg, privateKey, payloadId), parseJson),
    )));

  const processCompletion = async (
    headers: Readonly<Record<string, string>>,
    body: Uint8Array,
    record: MutableRecord,
  ): Promise<Outcome> => {
    const fail = (status: number, text: string): Outcome => ({
      kind: "error",
      answer: detail(status, text),
    });
    if (options.apiKey !== undefined && headers[AUTHORIZATION] !== `Bearer ${options.apiKey}`) {
      return {
        kind: "error",
        answer: { ...detail(401, "Invalid API key"), headers: { "www-authenticate": "Bearer" } },
      };
    }
    const mediaType = (headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (mediaType !== "application/octet-stream") {
      return fail(400, "Invalid Content-Type: expected application/octet-stream");
    }
    const payloadId = headers[PAYLOAD_ID];
    if (payloadId === undefined || payloadId.length === 0) {
      return fail(400, `Missing ${PAYLOAD_ID_HEADER} header`);
    }
    const publicKeyHeader = headers[PUBLIC_KEY];
    if (publicKeyHeader === undefined || publicKeyHeader.length === 0) {
      return fail(400, `Missing ${PUBLIC_KEY_HEADER} header`);
    }
    const callerKey = await callerKeyOf(publicKeyHeader);
    if (typeof callerKey === "string") return fail(400, callerKey);
    const tier = headers[SECURITY_TIER];
    if (tier !== undefined && !TIERS.has(tier)) {
      return fail(400, `Invalid ${SECURITY_TIER_HEADER}: expected standard, high or maximum`);
    }
    if (tier === "maximum" && (options.tpm === undefined || options.tpm === false)) {
      return fail(503, "Security tier maximum is unavailable: this router has no TPM");
    }
    const parsed = parsePackage(body, payloadId);
    if (Either.isLeft(parsed)) {
      const reason = parsed.left.message.replace(/^Cannot open package: /, "");
      return fail(400, `Cannot decrypt payload: ${reason}`);
    }
    const raw = parseJson(body);
    const declared = raw.ok ? raw.value as Record<string, unknown> : {};
    if (declared.key_algorithm === undefined || declared.payload_algorithm === undefined) {
      return fail(400, "Cannot decrypt payload: key_algorithm and payload_algorithm are required");
    }
    const opened = await openJson(parsed.right, key.privateKey, payloadId);
    if (Either.isLeft(opened)) {
      for (const old of retiredKeys) {
        if (Either.isRight(await openJson(parsed.right, old, payloadId))) {
          return fail(400, "Cannot decrypt payload: the router's public key has changed");
        }
      }
      return fail(400, "Cannot decrypt payload: decryption failed");
    }
    if (!opened.right.ok) return fail(400, "Invalid request: the payload is not UTF-8 JSON");
    const request = opened.right.value;
    record.plaintext = request;
    const invalid = checkChatRequest(request);
    if (invalid !== undefined) return fail(400, invalid);
    const attestation = options.attestation !== undefined
      ? await options.attestation(payloadId)
      : tier === "maximum" && tpm !== undefined
      ? (await makeSoftwareQuote(payloadId, tpm)).block
      : undefined;
    const metadata: EchoMetadata = {
      ...(tier === undefined ? {} : { model_tier: tier }),
      ...(attestation === undefined ? {} : { tpm_attestation: attestation }),
    };
    const completion = await echoCompletion(
      request as Record<string, unknown>,
      payloadId,
      now(),
      metadata,
    );
    return {
      kind: "ok",
      completion: options.answer === undefined ? completion : options.answer(completion),
      callerKey,
    };
  };

  /** Seals the completion to the caller (or breaks it as `tamper` says). */
  const sealAnswer = async (
    outcome: Extract<Outcome, { kind: "ok" }>,
    tamper: Tamper | undefined,
  ): Promise<Answer> => {
    if (tamper === "not-json") return { status: 200, contentType: JSON_TYPE, body: NOT_JSON_BODY };
    if (tamper === "html") return { status: 200, contentType: "text/html", body: HTML_PAGE };
    const plaintext = tamper === "plaintext-not-json"
      ? utf8.encode(`Echo: this plaintext is not JSON`)
      : utf8.encode(JSON.stringify(outcome.completion));
    const recipient = tamper === "wrong-recipient" ? (await spare()).publicKey : outcome.callerKey;
    const sealed = await Effect.runPromise(Effect.either(cipher.seal(plaintext, recipient)));
    if (Either.isLeft(sealed)) return detail(500, "Cannot seal answer: encryption failed");
    const pkg: SealedPackage = { ...sealed.right, processed_at: now() };
    const answer = jsonAnswer(200, tamper === undefined ? pkg : tamperPackage(pkg, tamper));
    return { ...answer, headers: { "x-request-id": `req_${crypto.randomUUID()}` } }; // as routers do
  };

  const publicKeyAnswer = async (tamper: Tamper | undefined): Promise<Answer> => {
    switch (tamper) {
      case undefined:
        return { status: 200, contentType: TEXT_TYPE, body: key.publicKeyPem };
      case "wrong-recipient":
        return { status: 200, contentType: TEXT_TYPE, body: (await spare()).publicKeyPem };
      case "downgrade":
        return { status: 200, contentType: TEXT_TYPE, body: (await weak()).publicKeyPem };
      case "html":
        return { status: 200, contentType: "text/html", body: HTML_PAGE };
      default:
        return { status: 200, contentType: TEXT_TYPE, body: NOT_JSON_BODY };
    }
  };

  /** Records a request as it arrived (the body a copy: the bridge wipes its own). */
  const recordOf = (
    method: string,
    target: string,
    headers: Record<string, string>,
    body: Uint8Array,
  ): MutableRecord => {
    const record: MutableRecord = { method, path: target, headers, body };
    if (target.split("?")[0] === SECURE_COMPLETION_PATH && headers[PAYLOAD_ID] !== undefined) {
      record.payloadId = headers[PAYLOAD_ID];
    }
    records.push(record);
    return record;
  };

  const pathOf = (pathname: string): FaultPath | undefined =>
    pathname === SECURE_COMPLETION_PATH
      ? "completion"
      : pathname === PUBLIC_KEY_PATH
      ? "public_key"
      : undefined;

  const route = async (request: Request): Promise<Answer | undefined> => {
    const url = new URL(request.url);
    const target = `${url.pathname}${url.search}`;
    const method = request.method;
    const headers = headerRecord(request.headers);
    const record = recordOf(method, target, headers, new Uint8Array(await request.arrayBuffer()));
    const path = pathOf(url.pathname);
    if (path === undefined) return detail(404, "Not Found");
    const expected = path === "completion" ? "POST" : "GET";
    if (cors !== undefined && method === "OPTIONS" && "access-control-request-method" in headers) {
      const allow = cors.preflight({
        origin: headers.origin,
        privateNetwork: headers["access-control-request-private-network"] === "true",
      }, expected);
      return allow === undefined
        ? detail(403, "CORS preflight refused: origin not allowed")
        : { status: 204, contentType: TEXT_TYPE, body: "", headers: allow };
    }
    if (method !== expected) {
      return { ...detail(405, "Method Not Allowed"), headers: { allow: expected } };
    }
    if (path === "public_key") publicKeyFetches += 1;
    const fault = faults.take(path);
    if (fault !== undefined) log?.(`fault on ${path}: ${JSON.stringify(fault)}`);
    if (fault?.delayMs !== undefined) await wait(fault.delayMs, request.signal);
    if (closed || request.signal.aborted) return undefined;
    if (fault?.status !== undefined || fault?.rawBody !== undefined) {
      // Still open the request, so the recorded plaintext is there for retry tests.
      if (path === "completion") await processCompletion(headers, record.body, record);
      return faultAnswer(fault);
    }
    if (path === "public_key") return publicKeyAnswer(fault?.tamper);
    const outcome = await processCompletion(headers, record.body, record);
    return outcome.kind === "error" ? outcome.answer : sealAnswer(outcome, fault?.tamper);
  };

  /** The answer as a `Response`: its length, and CORS headers on every status. */
  const responseOf = (answer: Answer, origin: string | null): Response => {
    const body = typeof answer.body === "string" ? utf8.encode(answer.body) : answer.body;
    // A 204 has no body, so neither Content-Type nor Content-Length (RFC 9110 §8.6).
    const entity: Record<string, string> = answer.status === 204
      ? {}
      : { "content-type": answer.contentType, "content-length": String(body.length) };
    return new Response(answer.status === 204 ? null : body as Uint8Array<ArrayBuffer>, {
      status: answer.status,
      headers: { ...entity, ...cors?.answer(origin), ...answer.headers },
    });
  };

  const handle = async (request: Request): Promise<Response> => {
    const started = Date.now();
    let answer: Answer | undefined;
    try {
      answer = await route(request);
    } catch {
      answer = request.signal.aborted
        ? undefined
        : detail(500, "Internal error of the test router");
    }
    const { pathname } = new URL(request.url);
    if (answer === undefined || closed) {
      log?.(`${request.method} ${pathname} -> no answer: the caller left or the router closed`);
      return Response.error();
    }
    log?.(`${request.method} ${pathname} -> ${answer.status} (${Date.now() - started} ms)`);
    return responseOf(answer, request.headers.get("origin"));
  };

  /** What the bridge refuses itself (a body over the cap, late, a method fetch cannot carry). */
  const refuse = (refusal: Refusal): Response => {
    const headers = headerRecord(refusal.headers);
    recordOf(refusal.method, refusal.target, headers, new Uint8Array(0));
    const path = pathOf(refusal.target.split("?")[0]!);
    const answer = refusal.status === 413
      ? detail(413, `Request body is larger than ${maxBodyBytes} bytes`)
      : refusal.status === 405 && path !== undefined
      ? {
        ...detail(405, "Method Not Allowed"),
        headers: { allow: path === "completion" ? "POST" : "GET" },
      }
      : refusal.status === 405
      ? detail(404, "Not Found")
      : detail(refusal.status, refusal.message);
    log?.(`${refusal.method} ${refusal.target.split("?")[0]} -> ${answer.status}`);
    return responseOf(answer, headers.origin ?? null);
  };

  const server = await serveHttp(handle, {
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    maxBodyBytes,
    headersTimeout: HEADERS_TIMEOUT_MS,
    idleTimeout: IDLE_TIMEOUT_MS,
    bodyTimeout: BODY_TIMEOUT_MS,
    refuse,
  });
  const { url, port } = server;
  log?.(`listening on ${url}`);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    closing ??= (async () => {
      closed = true;
      faults.clear();
      for (const done of [...pendingWaits]) done();
      await server.close();
    })();

  return {
    url,
    port,
    get publicKeyPem(): string {
      return key.publicKeyPem;
    },
    get fingerprint(): string {
      return key.fingerprint;
    },
    get requests(): ReadonlyArray<RecordedRequest> {
      return records.slice();
    },
    get publicKeyFetches(): number {
      return publicKeyFetches;
    },
    inject: (...injected: Fault[]): void => faults.push(injected),
    clearFaults: (): void => faults.clear(),
    rotateKey: async (): Promise<void> => {
      const next = await generateRouterKey(keySize);
      retiredKeys.push(key.privateKey);
      key = next;
    },
    close,
  };
};

/**
 * A test router as a scoped resource: started when acquired, closed when the scope closes.
 *
 * @param options As for {@linkcode startTestRouter}.
 * @returns The router, in the current scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { testRouter } from "@nomyo/client/testing";
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const router = yield* testRouter();
 *   return router.url;
 * }));
 * console.log(await Effect.runPromise(program)); // closed by now
 * ```
 */
export const testRouter = (
  options?: TestRouterOptions,
): Effect.Effect<TestRouter, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startTestRouter(options)),
    (router) => Effect.promise(() => router.close()),
  );
