import { runService } from '@starlane/service-host';
import { storageNodeApp } from './storage-node-app';

runService(storageNodeApp, { grpcPort: 9094, metricsPort: 9194 });
