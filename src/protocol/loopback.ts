/**
 * Which host names mean "this machine": the one rule the proxy's bind and `Host` checks and the
 * browser's mixed-content exemption share.
 *
 * @module
 */

/**
 * Whether a hostname names the loopback interface: `localhost` and its subdomains (RFC 6761,
 * which browsers resolve to loopback themselves), `127.0.0.0/8` and `::1` (bare or bracketed as
 * in URLs).
 *
 * @param hostname An address or name, as `URL.hostname` or a `Host` header gives it (no port).
 * @returns `true` when it names loopback.
 *
 * @example
 * ```ts
 * import { isLoopback } from "./loopback.ts";
 * console.assert(isLoopback("127.0.0.1") && isLoopback("[::1]"));
 * console.assert(!isLoopback("127.0.0.1.evil.example"));
 * ```
 */
export const isLoopback = (hostname: string): boolean => {
  const name = hostname.toLowerCase();
  return name === "localhost" || name.endsWith(".localhost") || name === "::1" ||
    name === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
};
