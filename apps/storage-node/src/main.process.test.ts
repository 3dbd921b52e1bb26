import { describeAppContract } from '@starlane/testing';

jest.setTimeout(60_000);

describeAppContract({ app: 'storage-node', services: ['starlane.internal.v1.StorageNodeService'], dataDirFlag: '--data-dir' });
