/**
 * The OpenAPI 3.1 document of the local API, generated from the route table and its zod
 * schemas with zod's own JSON Schema output (OpenAPI 3.1 schemas are JSON Schema 2020-12).
 */
import { z } from 'zod';
import type { Route } from './routes.js';
import { ApiErrorBody } from './schemas.js';

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** Path or query parameters from a zod object schema. */
function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const json = schemaOf(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property as { description?: string };
    return { name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: rest, ...(description ? { description } : {}) };
  });
}

const ERROR_STATUSES: Record<string, string> = {
  '400': 'Invalid request: the message and `issues` name the fields',
  '401': 'Missing or wrong API key',
  '403': 'Foreign Origin or Host',
  '404': 'No such run, service or route',
  '409': 'The run is not in a state that allows this',
  '413': 'Body or image too large',
  '415': 'Unsupported Content-Type',
  '422': 'Valid, but could not be done (e.g. no ad in the list)',
  '503': 'The engine is not available',
};

export function buildOpenApi(routes: readonly Route[], info: { version: string; serverUrl?: string }): JsonSchema {
  const errorSchema = schemaOf(ApiErrorBody, 'output');
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const content: Record<string, unknown> = {};
    if (route.response.json) content['application/json'] = { schema: schemaOf(route.response.json, 'output') };
    if (route.response.ndjson) content['application/x-ndjson'] = { schema: schemaOf(route.response.ndjson, 'output') };
    if (route.response.alternatives) content['application/x-ndjson'] = { schema: schemaOf(route.response.alternatives.ndjson, 'output') };
    if (route.response.sse) content['text/event-stream'] = { schema: { type: 'string' } };
    if (route.response.html) content['text/html'] = { schema: { type: 'string' } };
    const description = route.response.alternatives ? `${route.response.description}; with ${route.response.alternatives.when}: NDJSON, one row per line` : route.response.description;
    const responses: Record<string, unknown> = { [String(route.response.status)]: { description, content } };
    for (const [status, description] of Object.entries(ERROR_STATUSES)) {
      if (route.public && status !== '403' && status !== '404') continue;
      responses[status] = { description, content: { 'application/json': { schema: errorSchema } } };
    }
    const operation: Record<string, unknown> = {
      operationId: `${route.method.toLowerCase()}${route.path.replace(/^\/v1/, '').replace(/[{}]/g, '').replace(/[/.](\w)/g, (_m, c: string) => c.toUpperCase())}`,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      parameters: [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query')],
      responses,
      security: route.public ? [] : [{ apiKey: [] }],
    };
    if (route.body) {
      const bodyContent: Record<string, unknown> = {};
      if (route.body.json) bodyContent['application/json'] = { schema: schemaOf(route.body.json, 'input') };
      for (const type of route.body.raw ?? []) bodyContent[type] = { schema: { type: 'string', contentMediaType: type } };
      operation.requestBody = { required: route.method !== 'PUT' ? !!route.body.raw || !!route.body.json : true, description: `${route.body.description} (at most ${route.body.maxBytes} bytes)`, content: bodyContent };
    }
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Parallel Vision local API',
      version: info.version,
      description: 'The running app on 127.0.0.1: the same engines, scheduler, store and resume as its window. Send the key from the data folder\'s `api-key` file (or `parallel-vision api --print-key`) as `Authorization: Bearer <key>`.',
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    paths,
    components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'The per-install key in <data folder>/api-key' } } },
  };
}
