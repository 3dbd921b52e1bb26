import { runService } from '@starlane/service-host';
import { gatewayApp } from './gateway-app';

runService(gatewayApp, { grpcPort: 9090, metricsPort: 9190 });
