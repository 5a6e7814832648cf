/** A WHIP request that fails with this HTTP status and a reason for the publisher. */
export class WhipError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
