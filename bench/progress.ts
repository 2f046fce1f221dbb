// Progress on a TTY (one rewritten status line); plain lines when stderr is not a terminal.
export interface Progress {
  say(text: string): void;
  tick(done: number, total: number): void;
  done(): void;
}

export function createProgress(stream: NodeJS.WriteStream): Progress {
  const tty = stream.isTTY === true;
  const t0 = Date.now();
  let last = '';
  const stamp = (): string => `[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s]`;
  const write = (line: string): void => {
    if (tty) stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 120) - 1)}`);
    else stream.write(`${line}\n`);
  };
  return {
    say(text) {
      if (tty && last) stream.write('\n');
      last = `${stamp()} ${text}`;
      write(last);
    },
    tick(done, total) {
      if (tty) write(`${last}  ${done}/${total}`);
    },
    done() {
      if (tty) stream.write('\n');
    },
  };
}
