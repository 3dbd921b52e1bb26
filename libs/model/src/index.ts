export {
  AssertionFailure,
  GrpcStatus,
  StarlaneError,
  assert,
  errorCatalogue,
  errorCodeFromWire,
  wireErrorCode,
  isErrorCode,
  type ErrorCode,
  type ErrorSpec,
  type GrpcStatusCode,
} from './errors';
export { backoffDoublingsMax, backoffMs, type BackoffBounds } from './backoff';
export { errorText, transportDetail } from './error-text';
export { topicNameLengthMax, validateTopicName } from './topic-name';
