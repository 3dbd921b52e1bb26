import { describeAppContract } from '@starlane/testing';

jest.setTimeout(60_000);

describeAppContract({
  app: 'controller',
  services: ['starlane.internal.v1.ControllerService', 'starlane.v1.AdminService'],
  dataDirFlag: '--data-dir',
});
