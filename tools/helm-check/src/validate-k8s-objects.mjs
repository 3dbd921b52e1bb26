// Validates Kubernetes objects (a JSON array on stdin) against the schemas of their kinds from the
// npm packages kubernetes-models and @kubernetes-models/prometheus-operator (generated from the
// Kubernetes OpenAPI). Those packages are ES modules only, so the jest tests run this in a child
// process. Prints a JSON array of { kind, name, error? }.
const modulesByGroup = {
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

async function modelFor(apiVersion, kind) {
  const module = modulesByGroup[apiVersion] ?? `kubernetes-models/${apiVersion}`;
  try {
    const exports = await import(module);
    return exports[kind];
  } catch {
    return undefined;
  }
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const object of JSON.parse(input)) {
  const { apiVersion, kind } = object;
  const name = object.metadata?.name;
  const Model = await modelFor(apiVersion, kind);
  if (!Model) {
    results.push({ kind, name, error: `no schema known for ${apiVersion} ${kind}` });
    continue;
  }
  try {
    new Model(object).validate();
    results.push({ kind, name });
  } catch (error) {
    results.push({ kind, name, error: error instanceof Error ? error.message : String(error) });
  }
}
process.stdout.write(JSON.stringify(results));
