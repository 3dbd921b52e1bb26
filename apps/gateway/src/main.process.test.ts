import { describeAppContract } from '@starlane/testing';

jest.setTimeout(60_000);

describeAppContract({
  app: 'gateway',
  services: ['starlane.v1.AdminService', 'starlane.v1.ConsumerGroupService', 'starlane.v1.ConsumerService', 'starlane.v1.ProducerService'],
  // Alone it has no controller, so no cluster metadata: it listens but is not ready.
  readyAlone: false,
});
