import { type ServerWritableStream, status } from '@grpc/grpc-js';
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthServer,
} from '../proto/gen/grpc/health/v1/health';

/** The standard grpc.health.v1 service: '' is the whole server, other names are services. */
export class HealthRegistry {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Set<{ service: string; call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse> }>();

  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const watcher of this.watchers) {
      if (watcher.service === service) watcher.call.write({ status });
    }
  }

  /** Marks everything NOT_SERVING and ends open Watch streams, for shutdown. */
  shutDown(): void {
    for (const service of this.statuses.keys()) this.set(service, ServingStatus.NOT_SERVING);
    for (const watcher of this.watchers) watcher.call.end();
    this.watchers.clear();
  }

  readonly implementation: HealthServer = {
    check: (call, callback) => {
      const current = this.statuses.get(call.request.service);
      if (current === undefined) {
        callback({ code: status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
      } else {
        callback(null, { status: current });
      }
    },
    watch: (call) => {
      const watcher = { service: call.request.service, call };
      this.watchers.add(watcher);
      call.write({ status: this.statuses.get(call.request.service) ?? ServingStatus.SERVICE_UNKNOWN });
      call.on('cancelled', () => this.watchers.delete(watcher));
      call.on('close', () => this.watchers.delete(watcher));
    },
  };
}

export { ServingStatus };
