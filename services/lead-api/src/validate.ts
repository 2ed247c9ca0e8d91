import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { OPENAPI } from './openapi.ts';

/**
 * Request validation taken from the OpenAPI document itself (OpenAPI first): an operation's
 * query parameters and request body are checked against the schemas the document publishes, by
 * Ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1), so what the contract says and what the
 * service accepts cannot drift apart. Unknown query parameters are refused too: a misspelt
 * `updatedsince` must not silently list everything.
 */
const ajv = new Ajv2020({ allErrors: false, coerceTypes: true, strict: false });
ajv.addSchema({ $id: 'openapi', components: OPENAPI.components }, 'openapi');

type Paths = typeof OPENAPI.paths;
interface Param {
  name: string;
  in: string;
  required?: boolean;
  schema: object;
}

export interface Invalid {
  error: 'bad_parameter' | 'bad_request';
  message: string;
}

/** A validator of an operation's query string: the parameters as one object, values coerced. */
export function queryValidator(
  path: keyof Paths,
  method: 'get',
): (url: URL) => { ok: true; query: Record<string, string | number> } | { ok: false; problem: Invalid } {
  const op = (OPENAPI.paths[path] as unknown as Record<string, { parameters?: readonly Param[] }>)[method]!;
  const params = (op.parameters ?? []).filter((p) => p.in === 'query');
  const check = ajv.compile({
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
    required: params.filter((p) => p.required).map((p) => p.name),
  });
  return (url) => {
    const query: Record<string, string | number> = {};
    for (const [k, v] of url.searchParams) {
      if (k in query)
        return { ok: false, problem: { error: 'bad_parameter', message: `${k}: given more than once` } };
      query[k] = v;
    }
    if (check(query)) return { ok: true, query };
    return { ok: false, problem: { error: 'bad_parameter', message: describe(check.errors, 'query') } };
  };
}

/** A validator of a JSON body against a schema of the document's components. */
export function bodyValidator(schema: keyof typeof OPENAPI.components.schemas): ValidateFunction {
  return ajv.compile({ $ref: `openapi#/components/schemas/${schema}` });
}

/** One readable sentence: where and what, e.g. "limit: must be <= 200". */
export function describe(errors: ErrorObject[] | null | undefined, root: 'query' | 'body'): string {
  const e = errors?.[0];
  if (!e) return `${root}: invalid`;
  if (e.keyword === 'additionalProperties') {
    const name = (e.params as { additionalProperty: string }).additionalProperty;
    return root === 'query'
      ? `${name}: not a parameter of this operation`
      : `${name}: not a field of the body`;
  }
  const where = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
  return `${where || root}: ${e.message ?? 'invalid'}`;
}
