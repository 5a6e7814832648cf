// The baseline for health_rtt_us: the same Health service on a bare grpc-js
// server with no interceptors, in its own process. Prints its port, then serves
// until stdin closes.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus, type HealthServer, HealthService } from '../proto/gen/grpc/health/v1/health';

const server = new Server();
const health: HealthServer = {
  check: (_call, callback) => callback(null, { status: HealthCheckResponse_ServingStatus.SERVING }),
  watch: (call) => call.end(),
};
server.addService(HealthService, health);
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.stdout.write(`${JSON.stringify({ address: `127.0.0.1:${port}`, pid: process.pid })}\n`);
});
process.stdin.on('end', () => server.forceShutdown());
process.stdin.resume();
