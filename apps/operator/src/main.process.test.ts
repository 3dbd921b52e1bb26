import { describeAppContract } from '@starlane/testing';

jest.setTimeout(60_000);

describeAppContract({ app: 'operator', services: [] });
