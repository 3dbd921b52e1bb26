import { StarlaneError } from '@starlane/model';
import { etcdFailure } from './client';

describe('etcdFailure', () => {
  it('is STORAGE_UNAVAILABLE saying what failed, without grpc-js boilerplate', () => {
    const unreachable = Object.assign(new Error('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379. Resolution note: '), { code: 14 });
    const failure = etcdFailure('grant the controller lease', unreachable);
    expect(failure).toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: 'etcd: cannot grant the controller lease: connect ECONNREFUSED 127.0.0.1:2379' });
    expect(failure.cause).toBe(unreachable);
  });

  it('passes catalogue errors through', () => {
    const refused = new StarlaneError('NOT_CONTROLLER', 'the controller election is closed');
    expect(etcdFailure('campaign', refused)).toBe(refused);
  });
});
