import { runService } from '@starlane/service-host';
import { controllerApp } from './controller-app';

runService(controllerApp, { grpcPort: 9091, metricsPort: 9191 });
