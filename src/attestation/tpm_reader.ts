/**
 * A strict big-endian cursor over marshaled TPM 2.0 bytes.
 *
 * Every read checks the bytes that remain first, so a hostile size field can neither read past
 * the end nor make the cursor allocate more than the input holds. A read that does not fit
 * throws {@linkcode TpmParseFailure}; {@linkcode readStructure} is the one place that catches it
 * and turns it into an {@linkcode AttestationError} with reason `"Malformed"`, so no caller ever
 * sees a throw.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { AttestationError } from "../errors.ts";

/**
 * Thrown by {@linkcode TpmReader} when the bytes do not hold the structure read; never escapes
 * {@linkcode readStructure}.
 */
export class TpmParseFailure extends Error {
  /** @param message The state that was found (`"extraData needs 16 bytes, 3 remain"`). */
  constructor(message: string) {
    super(message);
    this.name = "TpmParseFailure";
  }
}

/** Reads big-endian TPM wire values from a byte array, refusing any read past the end. */
export class TpmReader {
  readonly #bytes: Uint8Array<ArrayBuffer>;
  readonly #view: DataView<ArrayBuffer>;
  #offset = 0;

  /** @param bytes The marshaled structure; not copied, never written. */
  constructor(bytes: Uint8Array<ArrayBuffer>) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  /** Throws unless `n` more bytes are there; `field` names what was being read. */
  #need(n: number, field: string): void {
    if (n > this.remaining) {
      throw new TpmParseFailure(`${field} needs ${n} bytes, ${this.remaining} remain`);
    }
  }

  /** Reads a `UINT8`. */
  u8(field: string): number {
    this.#need(1, field);
    const value = this.#view.getUint8(this.#offset);
    this.#offset += 1;
    return value;
  }

  /** Reads a big-endian `UINT16`. */
  u16(field: string): number {
    this.#need(2, field);
    const value = this.#view.getUint16(this.#offset, false);
    this.#offset += 2;
    return value;
  }

  /** Reads a big-endian `UINT32`. */
  u32(field: string): number {
    this.#need(4, field);
    const value = this.#view.getUint32(this.#offset, false);
    this.#offset += 4;
    return value;
  }

  /** Reads a big-endian `UINT64` as a `bigint` (TPM clocks exceed 2^53). */
  u64(field: string): bigint {
    this.#need(8, field);
    const value = this.#view.getBigUint64(this.#offset, false);
    this.#offset += 8;
    return value;
  }

  /** Reads `n` raw bytes into a fresh copy. */
  bytes(n: number, field: string): Uint8Array<ArrayBuffer> {
    this.#need(n, field);
    const value = this.#bytes.slice(this.#offset, this.#offset + n);
    this.#offset += n;
    return value;
  }

  /**
   * Reads a `TPM2B_*`: a `UINT16` size, then that many bytes. The size is checked against
   * `max` (the structure's own limit) and against the bytes that remain.
   */
  sized(field: string, max: number): Uint8Array<ArrayBuffer> {
    const size = this.u16(`${field} size`);
    if (size > max) {
      throw new TpmParseFailure(`${field} size ${size} exceeds ${max}`);
    }
    return this.bytes(size, field);
  }

  /** Reads everything that remains (an opaque tail). */
  rest(): Uint8Array<ArrayBuffer> {
    return this.bytes(this.remaining, "tail");
  }

  /** Throws when bytes remain: each input holds exactly one structure. */
  end(): void {
    if (this.remaining !== 0) {
      throw new TpmParseFailure(`${this.remaining} trailing bytes`);
    }
  }
}

/**
 * Runs `read` over `bytes` and requires it to consume every byte. A {@linkcode TpmParseFailure}
 * becomes an {@linkcode AttestationError} with reason `"Malformed"`; anything else thrown is a
 * bug and surfaces as a defect.
 *
 * @param bytes The marshaled structure.
 * @param what The structure's name, for messages (`"TPMS_ATTEST"`).
 * @param read Reads the structure with the cursor.
 * @returns The parsed value, or a `"Malformed"` failure.
 */
export const readStructure = <A>(
  bytes: Uint8Array<ArrayBuffer>,
  what: string,
  read: (reader: TpmReader) => A,
): Effect.Effect<A, AttestationError> =>
  Effect.suspend(() => {
    const reader = new TpmReader(bytes);
    try {
      const value = read(reader);
      reader.end();
      return Effect.succeed(value);
    } catch (error) {
      if (error instanceof TpmParseFailure) {
        return Effect.fail(
          new AttestationError({
            reason: "Malformed",
            message: `Cannot parse ${what}: ${error.message}`,
          }),
        );
      }
      return Effect.die(error);
    }
  });
