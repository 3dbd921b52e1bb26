export {
  booleanOption,
  durationMsOption,
  enumOption,
  envName,
  flagName,
  helpText,
  addressListOption,
  hostOption,
  integerOption,
  parseConfig,
  portOption,
  stringOption,
  type ConfigOf,
  type ConfigSpec,
  type OptionSpec,
  type ParsedArgs,
} from './config';
export { BoundedLabels } from './bounded-labels';
export { ensureWritableDirectory } from './directories';
export {
  errorCodeMetadataKey,
  formatAddress,
  grpcFlowControlWindowBytes,
  grpcMessageBytesMax,
  healthServiceName,
  serviceName,
  toGrpcError,
  withUnimplemented,
  type GrpcEndpoint,
  type GrpcService,
} from './grpc';
export {
  exitCodes,
  stopOverrunMs,
  hostOptions,
  runService,
  startService,
  type AppContext,
  type HostConfig,
  type RunningApp,
  type RunningService,
  type ServiceDescription,
} from './host';
export { createLogger, logLevels, type LogLevel, type Logger } from './logging';
export { failedResultCodes, methodLabel, rpcDurationBucketsSeconds, type RequestDone, type RpcMetrics } from './rpc-metrics';
export { tuneRuntime } from './runtime';
