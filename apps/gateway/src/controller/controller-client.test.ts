import { StarlaneError } from '@starlane/model';
import { freePort } from '@starlane/testing';
import { FakeMetadata, image } from '../fakes';
import { ControllerClient } from './controller-client';

describe('ControllerClient', () => {
  it('answers CONTROLLER_NOT_AVAILABLE naming the controller and the socket error, without grpc-js boilerplate', async () => {
    // Nothing listens on a port just found free: every attempt is refused.
    const address = `127.0.0.1:${await freePort()}`;
    const client = new ControllerClient([address], new FakeMetadata(image(1, [], [])));
    try {
      const failure = await client.admin('describeCluster', {}, Date.now() + 1500).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(StarlaneError);
      expect(failure).toMatchObject({ code: 'CONTROLLER_NOT_AVAILABLE' });
      const message = (failure as StarlaneError).message;
      expect(message).toMatch(new RegExp(`^controller at ${address}: connect ECONNREFUSED ${address}`));
      expect(message).not.toMatch(/Resolution note|Last error|No connection established/);
    } finally {
      client.close();
    }
  });
});
