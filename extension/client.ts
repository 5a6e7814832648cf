import { type CallOptions, credentials, type Interceptor, InterceptingCall, Metadata, type ServiceError } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus, HealthClient } from '../proto/gen/grpc/health/v1/health';
import { type GetInfoResponse, SidecarServiceClient } from '../proto/gen/sidestream/v1/sidecar';

const maxMessageBytes = 64 * 1024 * 1024;

export const channelOptions = {
  'grpc.max_receive_message_length': maxMessageBytes,
  'grpc.max_send_message_length': maxMessageBytes,
  // grpc-js's 64 KiB default window caps large streams (frames, model chunks) far below loopback speed.
  'grpc-node.flow_control_window': 16 * 1024 * 1024,
};

/** Adds `authorization: Bearer <token>` to every call. */
export function bearerTokenInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata: Metadata, listener, next) {
        metadata.set('authorization', `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

const deadline = (ms: number): CallOptions => ({ deadline: Date.now() + ms });

/** Typed, promise-based clients for one sidecar. */
export class SidecarClient {
  private readonly health: HealthClient;
  private readonly sidecar: SidecarServiceClient;

  constructor(readonly address: string, token: string) {
    const options = { ...channelOptions, interceptors: [bearerTokenInterceptor(token)] };
    this.health = new HealthClient(address, credentials.createInsecure(), options);
    this.sidecar = new SidecarServiceClient(address, credentials.createInsecure(), options);
  }

  /** Resolves when the sidecar reports SERVING; rejects with the gRPC error otherwise. */
  checkHealth(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.health.check({ service: '' }, new Metadata({ waitForReady: true }), deadline(timeoutMs), (error: ServiceError | null, response) => {
        if (error) reject(error);
        else if (response.status !== HealthCheckResponse_ServingStatus.SERVING) reject(new Error(`the sidecar reports status ${response.status}`));
        else resolve();
      });
    });
  }

  getInfo(timeoutMs = 10_000): Promise<GetInfoResponse> {
    return new Promise((resolve, reject) => {
      this.sidecar.getInfo({}, new Metadata(), deadline(timeoutMs), (error: ServiceError | null, response) =>
        error ? reject(error) : resolve(response),
      );
    });
  }

  close(): void {
    this.health.close();
    this.sidecar.close();
  }
}
