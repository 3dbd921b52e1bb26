// Rules the real API server applies to a CRD (apiextensions-apiserver's structural schema and
// printer-column checks), checked here because the tests' local API server does not.
import Ajv from 'ajv';
import { clusterCrd } from './cluster';
import { resourceSchema, type CrdDefinition, type OpenApiSchema } from './schema';
import { topicCrd } from './topic';

const definitions: readonly CrdDefinition[] = [topicCrd, clusterCrd];

function walk(schema: OpenApiSchema, path: string, visit: (schema: OpenApiSchema, path: string) => void): void {
  visit(schema, path);
  for (const [name, child] of Object.entries(schema.properties ?? {})) walk(child, `${path}.${name}`, visit);
  if (schema.items) walk(schema.items, `${path}[]`, visit);
  if (schema.additionalProperties) walk(schema.additionalProperties, `${path}{}`, visit);
}

/** The schema at a simple JSONPath (`.a.b`, `.a[?(@.x=="y")].b`), or undefined when none. */
function schemaAt(root: OpenApiSchema, jsonPath: string): OpenApiSchema | undefined {
  let node: OpenApiSchema | undefined = root;
  for (const step of jsonPath.replace(/\[\?\(.*?\)\]/g, '[]').split('.').filter((s) => s !== '')) {
    const isList = step.endsWith('[]');
    const name = isList ? step.slice(0, -2) : step;
    node = node?.properties?.[name];
    if (isList) node = node?.items;
  }
  return node;
}

describe.each(definitions.map((d) => [d.kind, d] as const))('%s CRD', (_kind, def) => {
  const root = resourceSchema(def);

  it('is structural: every field has a type', () => {
    const untyped: string[] = [];
    walk(root, '', (schema, path) => {
      if (schema.type === undefined) untyped.push(path);
    });
    expect(untyped).toEqual([]);
  });

  it('has defaults that satisfy their own field schema', () => {
    const ajv = new Ajv();
    walk(root, '', (schema, path) => {
      if (schema.default === undefined) return;
      const { default: value, ...rest } = schema;
      expect([path, ajv.validate(rest as object, value)]).toEqual([path, true]);
    });
  });

  it('has printer columns whose paths name fields of the schema with the column type', () => {
    for (const column of def.printerColumns) {
      if (column.jsonPath === '.metadata.creationTimestamp') continue;
      const field = schemaAt(root, column.jsonPath);
      expect([column.name, field?.type]).toEqual([column.name, column.type === 'date' ? 'string' : column.type]);
    }
  });

  it('has scale paths that name an integer in spec, an integer in status and a string selector', () => {
    if (!def.scale) return;
    expect(schemaAt(root, def.scale.specReplicasPath)?.type).toBe('integer');
    expect(def.scale.specReplicasPath.startsWith('.spec.')).toBe(true);
    expect(schemaAt(root, def.scale.statusReplicasPath)?.type).toBe('integer');
    expect(def.scale.statusReplicasPath.startsWith('.status.')).toBe(true);
    if (def.scale.labelSelectorPath) expect(schemaAt(root, def.scale.labelSelectorPath)?.type).toBe('string');
  });
});
