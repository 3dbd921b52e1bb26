/**
 * The process around a command, passed in rather than reached for, so commands can run against
 * in-memory streams: standard streams, environment, terminal facts, clock and Ctrl-C.
 */
import type { Readable, Writable } from 'node:stream';

export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stderr is a terminal: progress lines are drawn only there. */
  readonly stderrIsTty: boolean;
  readonly stdoutIsTty: boolean;
  /** Monotonic milliseconds, for rates and durations. */
  now(): number;
  /** Calls `handler` on Ctrl-C (SIGINT) until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
}

/** The real process. A second Ctrl-C while a command is stopping exits at once with 130. */
export function processIo(): CliIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    stderrIsTty: process.stderr.isTTY === true,
    stdoutIsTty: process.stdout.isTTY === true,
    now: () => performance.now(),
    onInterrupt(handler) {
      let interrupted = false;
      const listener = (): void => {
        if (interrupted) process.exit(130);
        interrupted = true;
        handler();
      };
      process.on('SIGINT', listener);
      return () => process.off('SIGINT', listener);
    },
  };
}

/**
 * Writes command output to stdout with backpressure, and notices a reader that went away
 * (`starlane consume t | head`): after EPIPE `closed` is true and writes are dropped, so the
 * command can stop cleanly instead of crashing.
 */
export class OutputSink {
  private closedByReader = false;
  private failure: Error | undefined;

  constructor(private readonly stream: Writable) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') this.closedByReader = true;
      else this.failure = error;
    });
  }

  /** True once the reader has gone away (or writing failed). */
  get closed(): boolean {
    return this.closedByReader || this.failure !== undefined;
  }

  get error(): Error | undefined {
    return this.failure;
  }

  /** Writes; returns false when the caller should wait for `drained()` before writing more. */
  write(chunk: string | Uint8Array): boolean {
    if (this.closed) return true;
    return this.stream.write(chunk);
  }

  /** Resolves when the stream has room again (or has closed). */
  drained(): Promise<void> {
    if (this.closed || !this.stream.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
      this.stream.on('close', done);
    });
  }
}
