// A bounded, redacted protocol transcript: the last MAX_LINES lines, each cut to MAX_LINE_CHARS.
import type { Scrub } from '../security/redact.js';
import { createLineRedactor } from './redact.js';
import type { Protocol, TranscriptLine } from './types.js';

export const MAX_TRANSCRIPT_LINES = 200;
export const MAX_TRANSCRIPT_LINE_CHARS = 512;

export interface Transcript {
  /** A line the client sent (one or more, separated by CRLF). */
  client(text: string): void;
  /** A line (or a multi-line reply) the server sent. */
  server(text: string): void;
  /** Something the probe observed that is not protocol text (connected, TLS, closed). */
  note(text: string): void;
  /** Lines seen so far, oldest first (a copy). */
  lines(): TranscriptLine[];
  /** Count of server lines seen (the first one is the greeting). */
  serverLineCount(): number;
}

export function createTranscript(protocol: Protocol, scrub: Scrub, elapsedMs: () => number): Transcript {
  const redactor = createLineRedactor(protocol);
  const lines: TranscriptLine[] = [];
  let serverLines = 0;

  const push = (dir: TranscriptLine['dir'], line: string): void => {
    let text = scrub(line);
    if (text.length > MAX_TRANSCRIPT_LINE_CHARS) text = `${text.slice(0, MAX_TRANSCRIPT_LINE_CHARS - 1)}…`;
    lines.push({ t: Math.round(elapsedMs()), dir, line: text });
    if (lines.length > MAX_TRANSCRIPT_LINES) lines.splice(0, lines.length - MAX_TRANSCRIPT_LINES);
  };
  const split = (text: string): string[] => text.split(/\r?\n/).filter((l) => l.length > 0);

  return {
    client(text) {
      for (const line of split(text)) push('C', redactor.client(line));
    },
    server(text) {
      for (const line of split(text)) {
        serverLines++;
        push('S', redactor.server(line));
      }
    },
    note(text) {
      push('*', text);
    },
    lines: () => lines.map((l) => ({ ...l })),
    serverLineCount: () => serverLines,
  };
}
