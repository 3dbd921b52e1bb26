import { runService } from '@starlane/service-host';
import { operatorApp } from './operator-app';

runService(operatorApp, { grpcPort: 9095, metricsPort: 9195 });
