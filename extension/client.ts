import {
  type CallOptions,
  type ChannelCredentials,
  type Client,
  type ClientOptions,
  credentials,
  type Interceptor,
  InterceptingCall,
  Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
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

export const deadline = (ms: number): CallOptions => ({ deadline: Date.now() + ms });

/** The user-facing text of a gRPC error (the sidecar's details), or of any other error. */
export function errorText(error: unknown): string {
  const details = (error as Partial<ServiceError> | undefined)?.details;
  return details || (error as Error | undefined)?.message || String(error);
}

type UnaryMethod<Req, Res> = (request: Req, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: Res) => void) => unknown;

/** One unary call of a generated client's `method` as a promise, with a deadline `timeoutMs` away. */
export function unaryCall<Req, Res>(client: Client, method: UnaryMethod<Req, Res>, request: Req, timeoutMs: number): Promise<Res> {
  return new Promise((resolve, reject) => method.call(client, request, new Metadata(), deadline(timeoutMs), (error, response) => (error ? reject(error) : resolve(response))));
}

/** The constructor of a generated grpc-js service client (ts-proto, outputServices=grpc-js). */
export type ServiceClientConstructor<C extends Client> = new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>) => C;

/** Typed, promise-based clients for one sidecar. */
export class SidecarClient {
  private readonly health: HealthClient;
  private readonly sidecar: SidecarServiceClient;
  private readonly options: Partial<ClientOptions>;
  private readonly serviceClients = new Map<ServiceClientConstructor<Client>, Client>();

  constructor(
    readonly address: string,
    /** The sidecar's bearer token (also what a WHIP publisher sends). */
    readonly token: string,
  ) {
    this.options = { ...channelOptions, interceptors: [bearerTokenInterceptor(token)] };
    this.health = this.service(HealthClient);
    this.sidecar = this.service(SidecarServiceClient);
  }

  /** The generated client of one of the sidecar's services, made once per sidecar, with the token on every call. */
  service<C extends Client>(constructor: ServiceClientConstructor<C>): C {
    let client = this.serviceClients.get(constructor);
    if (!client) {
      client = new constructor(this.address, credentials.createInsecure(), this.options);
      this.serviceClients.set(constructor, client);
    }
    return client as C;
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
    for (const client of this.serviceClients.values()) client.close();
    this.serviceClients.clear();
  }
}
