// The JSON frame codec of protocol v2: one frame carries one or more JSON
// objects separated by '\n' (PROTOCOL.md section 2).

/** Encodes commands into one frame. */
export function encodeFrame(commands: readonly object[]): string {
  return commands.map((c) => JSON.stringify(c)).join('\n');
}

/** Decodes a frame into its replies and pushes; throws SyntaxError on malformed JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function decodeFrame(frame: string): any[] {
  const out = [];
  for (const line of frame.split('\n')) {
    if (line.trim()) out.push(JSON.parse(line));
  }
  return out;
}
