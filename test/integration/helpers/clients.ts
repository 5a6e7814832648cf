// grpc-js clients from the generated code in proto/gen, with or without the bearer token.
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthClient,
} from '../../../proto/gen/grpc/health/v1/health';
import { type GetInfoResponse, SidecarServiceClient } from '../../../proto/gen/sidestream/v1/sidecar';

export { HealthCheckResponse_ServingStatus as ServingStatus };

export interface TestClients {
  health: HealthClient;
  sidecar: SidecarServiceClient;
  /** Metadata for one call: `authorization: Bearer <token>` unless the clients have no token. */
  metadata(): Metadata;
  check(service?: string): Promise<HealthCheckResponse>;
  getInfo(): Promise<GetInfoResponse>;
  close(): void;
}

/**
 * `authorization` is the raw metadata value to send: `Bearer <token>` for the right
 * token, anything else to test refusals, undefined to send none.
 */
export function connect(address: string, authorization: string | undefined, timeoutMs = 5000): TestClients {
  const health = new HealthClient(address, credentials.createInsecure());
  const sidecar = new SidecarServiceClient(address, credentials.createInsecure());
  const metadata = () => {
    const m = new Metadata();
    if (authorization !== undefined) m.set('authorization', authorization);
    return m;
  };
  const options = () => ({ deadline: Date.now() + timeoutMs });
  return {
    health,
    sidecar,
    metadata,
    check: (service = '') =>
      new Promise((resolve, reject) =>
        health.check({ service }, metadata(), options(), (error: ServiceError | null, response) => (error ? reject(error) : resolve(response))),
      ),
    getInfo: () =>
      new Promise((resolve, reject) =>
        sidecar.getInfo({}, metadata(), options(), (error: ServiceError | null, response) => (error ? reject(error) : resolve(response))),
      ),
    close: () => {
      health.close();
      sidecar.close();
    },
  };
}

export const bearer = (token: string) => `Bearer ${token}`;
