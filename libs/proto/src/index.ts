// The generated gRPC contract. Everything under gen/ comes from proto/ through
// `npm run proto:generate`; this file only names the two packages.
//
//   import { v1, internalV1 } from '@starlane/proto';
//   v1.AdminServiceService, v1.DescribeClusterResponse, internalV1.ControllerServiceService, ...
export * as v1 from './gen/starlane/v1/index';
export * as internalV1 from './gen/starlane/internal/v1/index';
export { fileDescriptorSet } from './gen/descriptor-set';
