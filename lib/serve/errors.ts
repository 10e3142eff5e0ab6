/**
 * Errors the server answers with. Every error reply is JSON; those caused by a limit name it, so
 * a client can tell which limit it hit (and an operator which flag raises it):
 *   /v1 and /admin:  {"error": {"code": "TOO_MANY_TEXTS", "message": "...", "limit": "maxTexts", "value": 1024}}
 *   /v2 (KServe):    {"error": "..."}  (the Open Inference Protocol's error body)
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly limit?: { name: string; value: number },
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function badRequest(message: string, code = 'BAD_REQUEST'): HttpError {
  return new HttpError(400, code, message);
}

/** 413 for a request over a size limit. */
export function overLimit(code: string, message: string, name: string, value: number): HttpError {
  return new HttpError(413, code, message, { name, value });
}

/** 503 with Retry-After: the client should try again shortly (overload, timeout, draining). */
export function unavailable(code: string, message: string, retryAfterSeconds: number, limit?: { name: string; value: number }): HttpError {
  return new HttpError(503, code, message, limit, { 'retry-after': String(retryAfterSeconds) });
}

/** The JSON body of an error reply; `v2` = the KServe form. */
export function errorBody(err: HttpError, v2: boolean): string {
  if (v2) return JSON.stringify({ error: err.message });
  const error: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.limit) {
    error.limit = err.limit.name;
    error.value = err.limit.value;
  }
  return JSON.stringify({ error });
}
