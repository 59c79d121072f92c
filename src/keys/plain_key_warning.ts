/**
 * The once-per-process warning that a private key was saved without a password.
 *
 * @module
 */

/** Whether the warning was printed (tests reset it). */
export const plainKeyWarning: { warned: boolean } = { warned: false };

/**
 * Warns once per process that a private key was saved without a password.
 *
 * @param path Where it was saved.
 */
export const warnPlainKeyOnce = (path: string): void => {
  if (plainKeyWarning.warned) return;
  plainKeyWarning.warned = true;
  console.warn(
    `[@nomyo/client] WARNING: the private key was saved unencrypted to ${path} (mode 0600). ` +
      "Anyone who can read the file can decrypt your responses; pass a password to encrypt it.",
  );
};
