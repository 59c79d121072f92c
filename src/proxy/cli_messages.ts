/**
 * The proxy command's words for the library's messages: the core names its API options
 * (`allowHttp`, `allowedOrigins`, `maxRetries`), a command-line user knows the flags
 * (`--allow-http`, `--allow-origin`, `--max-retries`) and the environment variable of the key
 * password (`NOMYO_KEY_PASSWORD`). The door translates; the core's messages stay API-named.
 *
 * @module
 */

/** API option names as the messages spell them, and the flag for each, most specific first. */
const FLAGS: ReadonlyArray<readonly [RegExp, string]> = [
  // The proxy already names both: keep only the flag.
  [/\ballowRemote \(--allow-remote\)/g, "--allow-remote"],
  [/\bset allowHttp\b/g, "pass --allow-http"],
  [/\buse apiKey\b/g, "use --api-key or NOMYO_API_KEY"],
  [/\ballowHttp\b/g, "--allow-http"],
  [/\ballowRemote\b/g, "--allow-remote"],
  [/\ballowedOrigins\b/g, "--allow-origin"],
  [/\b(?:baseUrl|baseURL)\b/g, "--base-url"],
  [/\bsecurityTier\b/g, "--security-tier"],
  [/\bapiKey\b/g, "--api-key"],
  // `routerKeyPolicy: "tofu"` is `--router-key-policy tofu` on a command line.
  [/\brouterKeyPolicy:? "(off|tofu)"/g, "--router-key-policy $1"],
  [/\brouterKeyPolicy\b/g, "--router-key-policy"],
  [/\bknownRoutersPath\b/g, "--known-routers"],
  [/\bkeyDir\b/g, "--key-dir"],
  [/\bkeyPassword\b/g, "NOMYO_KEY_PASSWORD"],
  [/\bserverKeyFingerprint\b/g, "--server-key-fingerprint"],
  [/\bmaxRetries\b/g, "--max-retries"],
  [/\blogLevel\b/g, "--log-level"],
  // A plain word elsewhere ("a timeout"): only the option's own refusal is the flag.
  [/\btimeout must be\b/g, "--timeout must be"],
];

/**
 * A library message with each API option named by its flag.
 *
 * @param message The message of an error from `new SecureChatCompletion` or `serveProxy`.
 * @returns The message in the command's words.
 */
export const inFlagWords = (message: string): string =>
  FLAGS.reduce((text, [pattern, flag]) => text.replace(pattern, flag), message);
