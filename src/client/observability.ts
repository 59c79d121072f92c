/**
 * Where the client's log lines and spans go. Every line the client writes is an Effect log
 * call (so Effect users see it through their `Logger`); around the client's own effects this
 * module sets the minimum level (`logLevel`), stands the caller's `logger` (openai-node's
 * shape; by default the console) in for Effect's default logger, gives the client its own
 * memory of once-only warnings, and installs the `tracer` option when one was given.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as FiberRef from "effect/FiberRef";
import * as HashMap from "effect/HashMap";
import * as HashSet from "effect/HashSet";
import * as Layer from "effect/Layer";
import * as Logger from "effect/Logger";
import * as LogLevel from "effect/LogLevel";
import * as Tracer from "effect/Tracer";
import { warnedOnce } from "../protocol/warn_once.ts";

/** One logging method, as in openai-node: a message, then any details. */
export type LogFn = (message: string, ...rest: unknown[]) => void;

/**
 * A logger, in openai-node's `Logger` shape: `console`, pino, winston and most loggers fit.
 * The client calls it with lines that hold no secret (no prompt, answer, key or API key), and
 * for lines about a request, a second argument `{ payload_id }`.
 *
 * @example Every line of the client into an array
 * ```ts
 * import { type NomyoLogger, SecureChatCompletion } from "@nomyo/client";
 * const lines: string[] = [];
 * const keep = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
 * const logger: NomyoLogger = {
 *   error: keep("error"),
 *   warn: keep("warn"),
 *   info: keep("info"),
 *   debug: keep("debug"),
 * };
 * await using client = new SecureChatCompletion({ logger, logLevel: "debug" });
 * ```
 */
export interface NomyoLogger {
  /** Failures the client could not handle itself. */
  readonly error: LogFn;
  /** Risky settings: plain HTTP, an unencrypted key file, a proxy off loopback. */
  readonly warn: LogFn;
  /** Notable events. */
  readonly info: LogFn;
  /** Each request's progress: sends, attempts, failures, retries, router key fetches. */
  readonly debug: LogFn;
}

/** How much the client logs, as in openai-node: each level includes the ones before it. */
export type LogLevelName = "off" | "error" | "warn" | "info" | "debug";

/** The log levels, from quietest to loudest. */
export const LOG_LEVEL_NAMES: readonly ["off", "error", "warn", "info", "debug"] = [
  "off",
  "error",
  "warn",
  "info",
  "debug",
];

const EFFECT_LEVEL: { readonly [L in LogLevelName]: LogLevel.LogLevel } = {
  off: LogLevel.None,
  error: LogLevel.Error,
  warn: LogLevel.Warning,
  info: LogLevel.Info,
  debug: LogLevel.Debug,
};

const PREFIX = "[@nomyo/client]";

/** Details as ` key=value` text, so that a console line stands alone (one line, one string). */
const detailsText = (rest: readonly unknown[]): string =>
  rest.map((detail) =>
    typeof detail === "object" && detail !== null
      ? Object.entries(detail).map(([key, value]) => ` ${key}=${String(value)}`).join("")
      : ` ${String(detail)}`
  ).join("");

/**
 * The default logger: `console.warn` / `console.error` / `console.info` / `console.debug`,
 * one string per line, prefixed with `[@nomyo/client]` (and `WARNING:` for warnings), the
 * details after it as `key=value` (`payload_id=…`).
 */
export const consoleLogger: NomyoLogger = {
  error: (message, ...rest) => console.error(`${PREFIX} ERROR: ${message}${detailsText(rest)}`),
  warn: (message, ...rest) => console.warn(`${PREFIX} WARNING: ${message}${detailsText(rest)}`),
  info: (message, ...rest) => console.info(`${PREFIX} ${message}${detailsText(rest)}`),
  debug: (message, ...rest) => console.debug(`${PREFIX} ${message}${detailsText(rest)}`),
};

/** The text of a log call's message (`Effect.log("a", "b")` gives an array). */
const textOf = (message: unknown): string =>
  Array.isArray(message) ? message.map(textOf).join(" ") : String(message);

const methodOf = (level: LogLevel.LogLevel): keyof NomyoLogger =>
  LogLevel.greaterThanEqual(level, LogLevel.Error)
    ? "error"
    : LogLevel.greaterThanEqual(level, LogLevel.Warning)
    ? "warn"
    : LogLevel.greaterThanEqual(level, LogLevel.Info)
    ? "info"
    : "debug";

/**
 * An Effect `Logger` that forwards each line to `sink`: the message, then the line's
 * annotations (`{ payload_id }`) when it has any. The cause of a log call is never passed on.
 * The sink's methods are read once, here; a sink that throws is ignored (logging never fails
 * a request).
 *
 * @param sink The logger to forward to.
 * @returns The Effect logger.
 */
export const forwardingLogger = (sink: NomyoLogger): Logger.Logger<unknown, void> => {
  const methods = {
    error: sink.error,
    warn: sink.warn,
    info: sink.info,
    debug: sink.debug,
  };
  return Logger.make(({ logLevel, message, annotations }) => {
    const details = Object.fromEntries(HashMap.toEntries(annotations));
    const args: unknown[] = [textOf(message)];
    if (Object.keys(details).length > 0) args.push(details);
    try {
      Reflect.apply(methods[methodOf(logLevel)], sink, args);
    } catch {
      // A logger's failure is not the request's.
    }
  });
};

/** Whether `u` is an Effect `Tracer`. */
export const isEffectTracer = (u: unknown): u is Tracer.Tracer =>
  typeof u === "object" && u !== null && Tracer.TracerTypeId in u;

/** Whether `u` has the four methods of a {@linkcode NomyoLogger}. */
export const isNomyoLogger = (u: unknown): u is NomyoLogger =>
  typeof u === "object" && u !== null &&
  (["error", "warn", "info", "debug"] as const).every((m) =>
    typeof (u as Record<string, unknown>)[m] === "function"
  );

/** What the client's effects log to and trace with. */
export interface ObservabilitySettings {
  /** Where lines go instead of Effect's default logger; default {@linkcode consoleLogger}. */
  readonly logger?: NomyoLogger | undefined;
  /** The least severe level logged. */
  readonly logLevel: LogLevelName;
  /** The tracer of the client's spans; default: the one in context (a no-op unless set). */
  readonly tracer?: Tracer.Tracer | undefined;
}

/** Runs the client's effects with its logger, level, warning memory and tracer. */
export interface ClientObservability {
  /** `effect` with the client's logging and tracing. */
  readonly within: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>;
  /** `layer`, built (its forked fibers included) with the client's logging and tracing. */
  readonly layer: <A, E, R>(layer: Layer.Layer<A, E, R>) => Layer.Layer<A, E, R>;
}

/**
 * The client's observability. The lines go to every logger in context, except that Effect's
 * default logger (when present) is replaced by the `logger` (by default the console), as
 * `Logger.replace(Logger.defaultLogger, …)` would; a `logger` given explicitly is added even
 * when the default logger was already replaced. Each client remembers its own once-only
 * warnings.
 *
 * @param settings Logger, level and tracer.
 * @returns The wrappers for effects and layers.
 */
export const makeClientObservability = (settings: ObservabilitySettings): ClientObservability => {
  const explicit = settings.logger !== undefined;
  const forwarding = forwardingLogger(settings.logger ?? consoleLogger);
  const level = EFFECT_LEVEL[settings.logLevel];
  const warned = new Set<string>();
  const loggers = (current: HashSet.HashSet<Logger.Logger<unknown, unknown>>) =>
    explicit || HashSet.has(current, Logger.defaultLogger)
      ? HashSet.add(HashSet.remove(current, Logger.defaultLogger), forwarding)
      : current;
  const within = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    const logged = effect.pipe(
      Effect.locallyWith(FiberRef.currentLoggers, loggers),
      Effect.locally(FiberRef.currentMinimumLogLevel, level),
      Effect.locally(warnedOnce, warned),
    );
    return settings.tracer === undefined ? logged : Effect.withTracer(logged, settings.tracer);
  };
  const layer = <A, E, R>(l: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
    Layer.locallyEffect(l, within);
  return { within, layer };
};
