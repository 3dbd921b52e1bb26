/**
 * What a running command is given: the process streams, its output sink, and the gateway
 * connection (opened on first use, closed when the command ends).
 */
import { Gateway, defaultCallTimeoutMs } from './gateway';
import { OutputSink, type CliIo } from './io';
import { parseInteger, resolveGatewayAddress } from './values';
import type { ParsedArgs } from './command';

export class CommandContext {
  readonly out: OutputSink;
  readonly gatewayAddress: string;
  readonly callTimeoutMs: number;
  private gatewayClients: Gateway | undefined;

  constructor(
    readonly io: CliIo,
    args: ParsedArgs,
  ) {
    this.out = new OutputSink(io.stdout);
    this.gatewayAddress = resolveGatewayAddress(args.string('gateway'), io.env);
    const timeout = args.string('timeout-ms');
    this.callTimeoutMs = timeout === undefined ? defaultCallTimeoutMs : parseInteger(timeout, '--timeout-ms', 1);
  }

  /** The gateway clients; the channel connects lazily on the first call. */
  get gateway(): Gateway {
    this.gatewayClients ??= new Gateway(this.gatewayAddress, this.callTimeoutMs);
    return this.gatewayClients;
  }

  /** Writes one line to stdout. */
  print(line: string): void {
    this.out.write(`${line}\n`);
  }

  /** Writes one line to stderr (notes, warnings, summaries). */
  note(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  close(): void {
    this.gatewayClients?.close();
  }
}
