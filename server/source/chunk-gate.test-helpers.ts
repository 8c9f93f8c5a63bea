/**
 * A chunk request whose body comes only as the test pushes it, for the chunk gate's tests
 * (server/source/chunk-gate.test.ts, server/source/spill-file.test.ts). Each piece is filled with
 * its own byte (its first byte its number), and `sent` keeps the pieces, to compare what came back.
 */
export function body(length: number) {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const request = new Request('http://gate.test/', {
    method: 'PUT', body: stream, headers: { 'Content-Length': String(length) }, duplex: 'half',
  } as RequestInit);
  const sent: Uint8Array[] = [];
  return {
    request,
    sent,
    push: (n: number) => {
      const piece = new Uint8Array(n).fill(sent.length * 37 + 11);
      if (n > 0) piece[0] = sent.length;
      sent.push(piece);
      controller.enqueue(piece);
    },
    end: () => controller.close(),
    /** the client goes away */
    fail: () => controller.error(new Error('gone')),
  };
}
