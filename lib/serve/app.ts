/**
 * The HTTP application: fastify with JSON-schema validation, our JSON body parser, one error
 * format, metrics on every reply, and the routes of routes-v1 / routes-v2 / routes-ops.
 *
 * Why fastify: a well-kept framework whose routing, schema validation (Ajv, compiled once per
 * route) and request handling cost little next to node:http, and whose close() stops accepting
 * connections and waits for requests in flight (what a drain needs).
 *
 * The JSON parser is ours so that a body that is not valid UTF-8 is a 400 (the default decodes
 * it with U+FFFD replacements and would predict on mangled text), and malformed JSON is a 400
 * with the parser's message.
 */
import { isUtf8 } from 'buffer';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';

import type { ServerContext } from './context';
import { badRequest, errorBody, HttpError, overLimit } from './errors';
import { registerOpsRoutes } from './routes-ops';
import { registerV1Routes } from './routes-v1';
import { registerV2Routes } from './routes-v2';

export function buildApp(ctx: ServerContext, serverVersion: string): FastifyInstance {
  const { limits } = ctx.options;
  const app = Fastify({
    logger: ctx.options.logRequests ? { level: 'info' } : false,
    bodyLimit: limits.maxBodyBytes,
    // Validation without coercion ("1" is not a number, 1 is not a string), defaults or removal.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    // A slow client may take this long to send its request (headers and body).
    requestTimeout: Math.max(limits.requestTimeoutMs, 1000) * 3,
    // On close: idle keep-alive sockets close at once; busy ones after their reply.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    const bytes = body as Buffer;
    if (bytes.length === 0) return done(badRequest('the request body is empty; send a JSON object', 'INVALID_JSON'), undefined);
    if (!isUtf8(bytes)) return done(badRequest('the request body is not valid UTF-8', 'INVALID_UTF8'), undefined);
    try {
      done(null, JSON.parse(bytes.toString('utf8')));
    } catch (err) {
      done(badRequest(`the request body is not valid JSON: ${(err as Error).message}`, 'INVALID_JSON'), undefined);
    }
  });

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    const http = toHttpError(error, limits.maxBodyBytes);
    if (http.status >= 500 && http.status !== 503) request.log.error(error);
    const v2 = request.url.startsWith('/v2/');
    reply.code(http.status).headers(http.headers).type('application/json; charset=utf-8').send(errorBody(http, v2));
  });
  app.setNotFoundHandler((request, reply) => {
    const http = new HttpError(404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
    reply.code(404).type('application/json; charset=utf-8').send(errorBody(http, request.url.startsWith('/v2/')));
  });

  // While draining, every reply closes its connection, so keep-alive clients reconnect
  // elsewhere and the drain does not wait for their idle sockets to time out.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (ctx.state.draining) reply.header('connection', 'close');
    done(null, payload);
  });

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    ctx.metrics.requests.inc({ route, status: String(reply.statusCode) });
    ctx.metrics.duration.observe({ route }, reply.elapsedTime / 1000);
    done();
  });

  registerV1Routes(app, ctx);
  registerV2Routes(app, ctx, serverVersion);
  registerOpsRoutes(app, ctx);
  return app;
}

/** Our errors as they are; fastify's (validation, body size, media type) in our form; anything else a 500. */
function toHttpError(error: FastifyError | HttpError, maxBodyBytes: number): HttpError {
  if (error instanceof HttpError) return error;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return overLimit('BODY_TOO_LARGE', `request body larger than maxBodyBytes (${maxBodyBytes} bytes)`, 'maxBodyBytes', maxBodyBytes);
  }
  if (error.validation) {
    const first = error.validation[0];
    const where = `${error.validationContext ?? 'body'}${first?.instancePath ?? ''}`;
    return badRequest(`${where} ${first?.message ?? 'is invalid'}`, 'INVALID_REQUEST');
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return badRequest('the request body is empty; send a JSON object', 'INVALID_JSON');
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) return new HttpError(error.statusCode, error.code ?? 'BAD_REQUEST', error.message);
  return new HttpError(500, 'INTERNAL', `internal error: ${error.message}`);
}
