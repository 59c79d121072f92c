/**
 * This library's name and version, written once: the `User-Agent` it sends and the evidence
 * documents it writes both carry them (a test checks them against deno.json).
 *
 * @module
 */

/** The package name. */
export const CLIENT_NAME = "@nomyo/client" as const;

/** The package version (as in deno.json). */
export const CLIENT_VERSION = "0.1.0" as const;
