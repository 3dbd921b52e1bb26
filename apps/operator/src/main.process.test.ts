import { describeAppContract } from '@starlane/testing';

jest.setTimeout(60_000);

// Alone, without a Kubernetes API to fill its caches from, the operator listens and stops cleanly but is not ready.
describeAppContract({ app: 'operator', services: [], readyAlone: false });
