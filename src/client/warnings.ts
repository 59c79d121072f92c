/**
 * Warnings the client prints for the user to see, each once per process.
 *
 * @module
 */

const warned = new Set<string>();

/**
 * Warns, once per base URL, that plain HTTP is in use: the encrypted payload is still
 * end-to-end encrypted, but headers (API key included) travel in the clear.
 *
 * @param baseUrl The `http://` router.
 */
export const warnPlainHttpOnce = (baseUrl: string): void => {
  if (!baseUrl.startsWith("http:") || warned.has(baseUrl)) return;
  warned.add(baseUrl);
  console.warn(
    `[@nomyo/client] WARNING: plain HTTP to ${baseUrl} (allowHttp). Payloads stay end-to-end ` +
      "encrypted, but headers, including the API key, are sent in the clear. " +
      "Use this for local development only.",
  );
};
