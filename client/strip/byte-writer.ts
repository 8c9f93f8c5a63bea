/** @module client/strip/byte-writer — a growable output buffer for the strippers. */

/** Appends slices into one buffer sized for the worst case (the input) and trims at the end. */
export class ByteWriter {
  private buffer: Uint8Array;
  private length = 0;
  constructor(capacity: number) {
    this.buffer = new Uint8Array(capacity);
  }
  push(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.buffer.length) {
      const bigger = new Uint8Array(Math.max(this.buffer.length * 2, this.length + bytes.length));
      bigger.set(this.buffer.subarray(0, this.length));
      this.buffer = bigger;
    }
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}
