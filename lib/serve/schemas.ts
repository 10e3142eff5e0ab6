/**
 * JSON schemas of the request bodies, checked by fastify (Ajv) before a handler runs: a wrong
 * type is a 400 that names the field. Ajv runs without type coercion, so ["a", 1] is refused
 * rather than read as ["a", "1"]. Size limits (texts per request, text length) are checked by
 * the handlers, which name the limit in a 413.
 */

export const predictBodySchema = {
  type: 'object',
  required: ['texts'],
  additionalProperties: false,
  properties: {
    texts: { type: 'array', items: { type: 'string' } },
    topK: { type: 'integer', minimum: 1 },
    model: { type: 'string' },
  },
} as const;

export interface PredictBody {
  texts: string[];
  topK?: number;
  model?: string;
}

/** Open Inference Protocol (KServe v2) inference request, JSON form (no binary tensor extension). */
export const inferBodySchema = {
  type: 'object',
  required: ['inputs'],
  properties: {
    id: { type: 'string' },
    parameters: { type: 'object' },
    inputs: {
      type: 'array',
      minItems: 1,
      maxItems: 1,
      items: {
        type: 'object',
        required: ['name', 'shape', 'datatype', 'data'],
        properties: {
          name: { type: 'string' },
          shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
          datatype: { type: 'string' },
          parameters: { type: 'object' },
          data: { type: 'array' },
        },
      },
    },
    outputs: {
      type: 'array',
      items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, parameters: { type: 'object' } } },
    },
  },
} as const;

export interface InferBody {
  id?: string;
  inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[];
  outputs?: { name: string }[];
}

export const modelParamsSchema = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string' }, version: { type: 'string' } },
} as const;
