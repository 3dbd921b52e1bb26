import * as http2 from 'node:http2';
import { grpcFlowControlWindowBytes, startGrpcServer, stopGrpcServer } from './grpc';

describe('startGrpcServer', () => {
  it('advertises the wide flow-control window to clients, as its own clients use', async () => {
    const endpoint = await startGrpcServer({ host: '127.0.0.1', port: 0, services: [] });
    const session = http2.connect(`http://127.0.0.1:${endpoint.port}`);
    try {
      const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
      expect(settings.initialWindowSize).toBe(grpcFlowControlWindowBytes);
    } finally {
      session.close();
      await stopGrpcServer(endpoint, 1000);
    }
  });
});
