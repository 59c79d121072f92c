/**
 * The two endpoints of the protocol, as paths appended to a router's base URL (which has no
 * trailing slash). The client, the test router and the CORS preflights all use these.
 *
 * @module
 */

/** `GET {base}/pki/public_key`: the router's RSA public key, PEM SPKI text. */
export const PUBLIC_KEY_PATH = "/pki/public_key";

/** `POST {base}/v1/chat/secure_completion`: a sealed request package in, a sealed answer out. */
export const SECURE_COMPLETION_PATH = "/v1/chat/secure_completion";
