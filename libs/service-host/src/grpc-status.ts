import * as grpc from '@grpc/grpc-js';
import { errorCatalogue, type StarlaneError } from '@starlane/model';

/** Trailer that carries the stable error code from the catalogue next to the gRPC status. */
export const errorCodeMetadataKey = 'starlane-error-code';

/** Turns an operating error into a gRPC status with the catalogue code in the trailers. */
export function toGrpcError(error: StarlaneError): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set(errorCodeMetadataKey, error.code);
  return { code: errorCatalogue[error.code].grpcStatus as number as grpc.status, details: error.message, metadata };
}
