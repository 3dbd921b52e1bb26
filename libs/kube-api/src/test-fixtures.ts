// A minimal CRD for the server's own tests (`widgets.example.com`): a schema with defaults, bounds, an enum, a
// string map, printer columns, short names and both subresources, each a feature the tests check in
// isolation. It is deliberately not Starlane's Topic (libs/crds' topicCrd, which kubectl.test.ts applies
// from helm/starlane/crds): the server is tested against a shape that stays put while the real CRDs evolve,
// and a different group and name keep anyone from mistaking it for the real one.
export const widgetCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList', shortNames: ['wd'] },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        subresources: { status: {}, scale: { specReplicasPath: '.spec.partitions', statusReplicasPath: '.status.partitions' } },
        additionalPrinterColumns: [{ name: 'Partitions', type: 'integer', jsonPath: '.spec.partitions' }],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['clusterRef'],
                properties: {
                  clusterRef: { type: 'string', minLength: 1 },
                  partitions: { type: 'integer', minimum: 1, default: 1 },
                  deletionPolicy: { type: 'string', enum: ['Delete', 'Retain'], default: 'Delete' },
                  config: { type: 'object', additionalProperties: { type: 'string' } },
                },
              },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    ],
  },
};

export const widgetPath = { group: 'example.com', version: 'v1alpha1', plural: 'widgets' };

/**
 * Creates the CRD as kubectl would send it. (client-node's typed CRD models rename `default` and the
 * `x-kubernetes-*` keys, so a plain-object CRD written through them loses those.)
 */
export async function createWidgetCrd(serverUrl: string): Promise<void> {
  const res = await fetch(`${serverUrl}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(widgetCrd),
  });
  if (res.status !== 201) throw new Error(`CRD create failed: ${res.status} ${await res.text()}`);
}
