/**
 * Strict validation of Kubernetes manifests against the Kubernetes API's JSON schemas, offline.
 *
 * Where the schemas come from (npm devDependencies, pinned exactly):
 * - kubernetes-models 4.3.1: the Kubernetes 1.27 OpenAPI definitions as JSON Schema (core/v1, apps/v1, ...).
 * - @kubernetes-models/prometheus-operator 4.0.0: the openAPIV3Schema of the Prometheus Operator CRDs
 *   (monitoring.coreos.com/v1 PodMonitor, PrometheusRule, ...).
 * - @kubernetes-models/cert-manager 4.3.1: the openAPIV3Schema of cert-manager's CRDs (cert-manager.io/v1 Issuer,
 *   Certificate), for deploy/kube-ovn/.
 * Later versions of both ship precompiled validator code instead of the schemas, hence the exact pins.
 *
 * Both packages hand every schema to `register(id, schema)` of @kubernetes-models/validate (their own ajv
 * wrapper, which is lenient: unknown fields pass). This helper stands in for that module while the model
 * classes load, collects the schemas, and compiles them with its own ajv in strict mode: every object
 * schema that lists its properties and says nothing about others gets `additionalProperties: false` (what
 * `kubectl --validate=strict` and kubeconform's -strict do), so a misspelled field is an error.
 */
import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';
import AjvModule from 'ajv';
import type { ErrorObject, SchemaObject } from 'ajv';
import addFormatsModule from 'ajv-formats';

const Ajv = AjvModule.default;
const addFormats = addFormatsModule.default;
const require = createRequire(import.meta.url);

/** The packages whose model classes register schemas; their shared validate module is replaced. */
const MODEL_PACKAGES = ['kubernetes-models', '@kubernetes-models/prometheus-operator', '@kubernetes-models/cert-manager'];

const collected = new Map<string, SchemaObject>();
let lastId: string | undefined;

function installCollector(): void {
  const stand = {
    register(id: string, schema: SchemaObject): void {
      if (!collected.has(id)) collected.set(id, schema);
    },
    validate(id: string): void {
      lastId = id;
    },
  };
  const paths = new Set<string>();
  for (const pkg of MODEL_PACKAGES) {
    const pkgDir = dirname(require.resolve(pkg));
    paths.add(require.resolve('@kubernetes-models/validate', { paths: [pkgDir] }));
    for (const dep of ['@kubernetes-models/base', '@kubernetes-models/apimachinery']) {
      const depDir = dirname(require.resolve(dep, { paths: [pkgDir] }));
      paths.add(require.resolve('@kubernetes-models/validate', { paths: [depDir] }));
    }
  }
  for (const path of paths) {
    if (require.cache[path] && require.cache[path].exports !== stand) throw new Error(`${path} was loaded before the schema collector`);
    const m = new Module(path);
    m.filename = path;
    m.loaded = true;
    m.exports = stand;
    require.cache[path] = m;
  }
}
installCollector();

/** The model module of an apiVersion (`v1`, `apps/v1`, `monitoring.coreos.com/v1`). */
function modelModule(apiVersion: string): string {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  if (apiVersion.startsWith('cert-manager.io/')) return `@kubernetes-models/cert-manager/${apiVersion}`;
  return `kubernetes-models/${apiVersion}`;
}

interface ModelCtor {
  new (data: object): { validate(): void };
}

/** The schema id of apiVersion/kind, registering its schema (and every schema it refers to). Throws when unknown. */
export function schemaIdOf(apiVersion: string, kind: string): string {
  let mod: Record<string, unknown>;
  try {
    mod = require(modelModule(apiVersion)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`no schemas for apiVersion ${apiVersion}: ${(e as Error).message}`, { cause: e });
  }
  const Ctor = mod[kind] as ModelCtor | undefined;
  if (typeof Ctor !== 'function') throw new Error(`no schema for ${apiVersion} ${kind}`);
  lastId = undefined;
  new Ctor({}).validate(); // registers the schemas through the stand-in, then "validates" (records the id)
  if (!lastId) throw new Error(`${apiVersion} ${kind} has no schema id`);
  return lastId;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A deep copy of `schema` where every object schema with listed properties rejects unlisted ones. */
export function strictSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (!isObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'properties' && isObject(v)) out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, strictSchema(s)]));
    else if (k === 'enum' || k === 'default' || k === 'required' || k === 'example') out[k] = v;
    else out[k] = strictSchema(v);
  }
  const props = schema.properties;
  if (
    isObject(props) &&
    Object.keys(props).length > 0 &&
    !('additionalProperties' in schema) &&
    schema['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

// Kubernetes' resource.Quantity (the same rule @kubernetes-models/validate applies).
const QUANTITY = /^[+-]?(?:\d+|\d+\.\d+|\d+\.|\.\d+)(?:[KMGTPE]i|[YZEPTGMkhdcmunpfazy]|da|[eE][+-]?(?:\d+|\d+\.\d+|\d+\.|\.\d+))?$/;

let ajv: InstanceType<typeof Ajv> | undefined;
const compiledIds = new Set<string>();

function validatorFor(id: string): ReturnType<InstanceType<typeof Ajv>['getSchema']> {
  if (!ajv) {
    ajv = new Ajv({ strict: false, allErrors: true, allowUnionTypes: true });
    addFormats(ajv);
    ajv.addFormat('quantity', { type: 'string', validate: QUANTITY });
  }
  for (const [sid, schema] of collected) {
    if (compiledIds.has(sid)) continue;
    ajv.addSchema(strictSchema(schema) as SchemaObject, sid);
    compiledIds.add(sid);
  }
  return ajv.getSchema(id);
}

/** Drops the noise of `oneOf: [{$ref}, {type: null}]` (how the schemas spell "optional"): keeps the real errors. */
function meaningful(errors: ErrorObject[]): ErrorObject[] {
  return errors.filter((e) => {
    if (e.keyword === 'type' && (e.params as { type?: unknown }).type === 'null') return false;
    if (e.keyword === 'oneOf') return false;
    return true;
  });
}

function describeError(e: ErrorObject): string {
  const where = e.instancePath || '/';
  if (e.keyword === 'additionalProperties')
    return `${where}: unknown field ${JSON.stringify((e.params as { additionalProperty: string }).additionalProperty)}`;
  return `${where}: ${e.message ?? e.keyword}${e.keyword === 'enum' ? ` ${JSON.stringify((e.params as { allowedValues: unknown }).allowedValues)}` : ''}`;
}

export interface ManifestCheck {
  schemaId: string;
  errors: string[];
}

/** Validates one parsed manifest against its kind's strict schema. Throws when the kind has no schema. */
export function validateManifest(doc: unknown): ManifestCheck {
  if (!isObject(doc) || typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') {
    return { schemaId: '', errors: ['/: not a Kubernetes object (apiVersion and kind are required strings)'] };
  }
  const schemaId = schemaIdOf(doc.apiVersion, doc.kind);
  const validate = validatorFor(schemaId);
  if (!validate) throw new Error(`schema ${schemaId} did not compile`);
  if (validate(doc)) return { schemaId, errors: [] };
  const errors = meaningful(validate.errors ?? []);
  return { schemaId, errors: (errors.length > 0 ? errors : (validate.errors ?? [])).map(describeError) };
}
