/**
 * The one service host every Starlane app runs in: typed config, structured logs, metrics,
 * a gRPC server with health and reflection, and graceful shutdown. Apps supply only their
 * options and a `start` function that wires their libraries to I/O.
 */
import { StarlaneError } from '@starlane/model';
import {
  durationMsOption,
  enumOption,
  hostOption,
  parseConfig,
  portOption,
  type ConfigOf,
  type ConfigSpec,
} from './config';
import { formatAddress, routeGrpcLogs, setServing, startGrpcServer, stopGrpcServer, type GrpcEndpoint, type GrpcService } from './grpc';
import { createLogger, logLevels, type Logger } from './logging';
import { createMetricsRegistry, startMetricsServer, type HttpEndpoint } from './metrics';
import { createRpcMetrics, type RpcMetrics } from './rpc-metrics';
import { tuneRuntime } from './runtime';
import type { Registry } from 'prom-client';

/** Exit codes, documented in docs/operations.md. */
export const exitCodes = {
  ok: 0,
  /** The process failed while running (a bug or an unrecoverable operating error). */
  failure: 1,
  /** The configuration is invalid: nothing was started. */
  config: 2,
} as const;

/** How long a stop may run past the shutdown grace before the process exits anyway. */
export const stopOverrunMs = 1000;

/** Options every app has; app-specific ones are merged in. */
export function hostOptions(defaults: { grpcPort: number; metricsPort: number }) {
  return {
    listenHost: hostOption({ help: 'address the gRPC and metrics servers listen on', default: '127.0.0.1' }),
    grpcPort: portOption({ help: 'gRPC port (0 picks a free port)', default: defaults.grpcPort }),
    metricsPort: portOption({ help: 'HTTP port for /metrics, /healthz and /readyz (0 picks a free port)', default: defaults.metricsPort }),
    logLevel: enumOption({ help: 'log level', default: 'info', values: logLevels }),
    shutdownGraceMs: durationMsOption({ help: 'how long in-flight calls may run on, once a stop is asked', default: 3000, minMs: 0, maxMs: 600_000 }),
  };
}

export type HostConfig = ConfigOf<ReturnType<typeof hostOptions>>;

export interface AppContext<C> {
  readonly config: C;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** Per-request latency and error codes of requests carried in streams (unary calls are timed by the host). */
  readonly rpc: RpcMetrics;
}

export interface RunningApp {
  readonly services: readonly GrpcService[];
  /**
   * Called once the servers listen, with the gRPC port actually bound (the one to advertise
   * when the configured port was 0), just before the `ready` line.
   */
  listening?(bound: { readonly grpcHost: string; readonly grpcPort: number }): void;
  /** Called on shutdown, after the gRPC server has stopped. */
  stop?(): Promise<void>;
  /**
   * Settles once the app can do its work, when listening is not enough (the gateway: once it
   * has cluster metadata). Until then `/readyz` answers 503 and gRPC health NOT_SERVING, so
   * load balancers and Kubernetes send no traffic to a process that could only refuse it; the
   * process still listens, and answers what comes with errors that say why. Unset: ready once
   * listening.
   */
  readonly ready?: Promise<void>;
}

export interface ServiceDescription<S extends ConfigSpec> {
  /** Process name used in logs, metrics and error lines, e.g. `controller`. */
  readonly name: string;
  readonly version: string;
  readonly options: S;
  /** Serialized FileDescriptorSet for reflection. */
  readonly fileDescriptorSet?: Uint8Array;
  start(context: AppContext<ConfigOf<S>>): Promise<RunningApp>;
}

export interface RunningService<C> {
  readonly config: C;
  readonly logger: Logger;
  readonly grpc: GrpcEndpoint;
  readonly metricsHttp: HttpEndpoint;
  stop(reason: string): Promise<void>;
}

/** Starts a service from explicit argv/env. Throws StarlaneError on bad config. */
export async function startService<S extends ConfigSpec>(
  description: ServiceDescription<S>,
  config: ConfigOf<S> & HostConfig,
): Promise<RunningService<ConfigOf<S> & HostConfig>> {
  const logger = createLogger(description.name, config.logLevel);
  routeGrpcLogs(logger);
  const metrics = createMetricsRegistry(description.name, description.version);
  const { rpc, guard } = createRpcMetrics(metrics);
  const app = await description.start({ config, logger, metrics, rpc });
  let grpcEndpoint: GrpcEndpoint | undefined;
  let metricsHttp: HttpEndpoint | undefined;
  try {
    grpcEndpoint = await startGrpcServer({
      host: config.listenHost,
      port: config.grpcPort,
      services: app.services,
      onUnexpectedError: (error, method) => logger.error({ err: error, method }, 'an RPC handler failed unexpectedly'),
      observer: guard,
      ...(description.fileDescriptorSet ? { fileDescriptorSet: description.fileDescriptorSet } : {}),
    });
    const endpoint = grpcEndpoint;
    let serving = false;
    metricsHttp = await startMetricsServer({ registry: metrics, host: config.listenHost, port: config.metricsPort, isReady: () => serving }).catch(
      (error: unknown) => {
        throw new StarlaneError('CONFIG_INVALID', `cannot listen for metrics on ${formatAddress(config.listenHost, config.metricsPort)} (${error instanceof Error ? error.message : String(error)})`);
      },
    );
    let stopped = false;
    const startServing = (): void => {
      if (stopped) return;
      setServing(endpoint, true);
      serving = true;
    };
    if (app.ready === undefined) startServing();
    else
      app.ready.then(
        () => {
          if (!stopped) logger.info({ event: 'serving' }, `${description.name} is ready to serve`);
          startServing();
        },
        (error: unknown) => logger.error({ err: error }, `${description.name} will not become ready`),
      );
    app.listening?.({ grpcHost: endpoint.host, grpcPort: endpoint.port });
    const http = metricsHttp;
    const grpcAddress = formatAddress(endpoint.host, endpoint.port);
    const metricsAddress = formatAddress(http.host, http.port);
    logger.info(
      { event: 'ready', grpcAddress, metricsAddress, services: endpoint.serviceNames },
      `${description.name} serving gRPC on ${grpcAddress}, metrics on http://${metricsAddress}/metrics`,
    );
    let stopping: Promise<void> | undefined;
    return {
      config,
      logger,
      grpc: endpoint,
      metricsHttp: http,
      stop(reason) {
        stopping ??= (async () => {
          logger.info({ event: 'stopping', reason }, `${description.name} stopping (${reason})`);
          stopped = true;
          serving = false;
          setServing(endpoint, false);
          await stopGrpcServer(endpoint, config.shutdownGraceMs);
          await app.stop?.();
          await http.close();
          logger.info({ event: 'stopped' }, `${description.name} stopped`);
        })();
        return stopping;
      },
    };
  } catch (error) {
    grpcEndpoint?.server.forceShutdown();
    await metricsHttp?.close();
    await app.stop?.();
    throw error;
  }
}

/**
 * The `main` of every app: parse flags and environment, start, and stop cleanly on SIGTERM or
 * SIGINT. A bad configuration prints one line to stderr and exits 2; a failure while running
 * exits 1.
 */
export function runService<S extends ConfigSpec>(description: ServiceDescription<S>, hostDefaults: { grpcPort: number; metricsPort: number }): void {
  const spec = { ...hostOptions(hostDefaults), ...description.options };
  const fail = (error: unknown): void => {
    const isConfig = error instanceof StarlaneError && error.code === 'CONFIG_INVALID';
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${description.name}: ${isConfig ? '' : 'fatal: '}${message.replace(/\s*\n\s*/g, ' ')}\n`);
    if (!isConfig && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exit(isConfig ? exitCodes.config : exitCodes.failure);
  };

  let parsed;
  try {
    parsed = parseConfig(description.name, spec, process.argv.slice(2), process.env);
  } catch (error) {
    fail(error);
    return;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(`${parsed.text}\n`);
    return;
  }
  tuneRuntime();
  // A programmer error anywhere is fatal: log it and exit rather than run on in an unknown state.
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);

  const config = parsed.config as ConfigOf<S> & HostConfig;
  // Signal handlers go in before anything starts: a stop asked for during start-up (or right
  // after the ready line) must still be graceful.
  let service: RunningService<ConfigOf<S> & HostConfig> | undefined;
  let stopSignal: NodeJS.Signals | undefined;
  const stop = (running: RunningService<ConfigOf<S> & HostConfig>, signal: NodeJS.Signals): void => {
    // A stop that hangs (a stuck hook, a close that never completes) must not outlive the
    // grace Kubernetes gives the pod: give up a second after our own grace.
    setTimeout(() => {
      process.stderr.write(`${description.name}: did not stop within ${running.config.shutdownGraceMs + stopOverrunMs} ms; exiting\n`);
      process.exit(exitCodes.failure);
    }, running.config.shutdownGraceMs + stopOverrunMs).unref();
    running.stop(signal).then(() => process.exit(exitCodes.ok), fail);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopSignal !== undefined) {
      process.stderr.write(`${description.name}: second ${signal}: exiting without waiting\n`);
      process.exit(exitCodes.failure);
    }
    stopSignal = signal;
    if (service !== undefined) stop(service, signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  startService(description, config).then((running) => {
    service = running;
    for (const name of parsed.ignoredEnvironment) {
      running.logger.warn({ event: 'unknown-environment-variable', name }, `ignoring ${name}: ${description.name} has no such setting (misspelt?)`);
    }
    if (stopSignal !== undefined) stop(running, stopSignal);
  }, fail);
}
