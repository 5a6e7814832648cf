import { status } from '@grpc/grpc-js';

/** An error of the model files code that a gRPC caller sees as `code` with this message. */
export class FilesError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

export function isFilesError(error: unknown, code?: status): error is FilesError {
  return error instanceof FilesError && (code === undefined || error.code === code);
}

/** A gRPC error from a store call (grpc-js puts the status in `code`). */
export function grpcCodeOf(error: unknown): status | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}
