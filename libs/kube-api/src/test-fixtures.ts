// A Topic-like CRD for the tests: a schema with defaults, bounds, an enum, a string map, printer columns,
// short names and both subresources.
export const topicCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'topics.starlane.dev' },
  spec: {
    group: 'starlane.dev',
    scope: 'Namespaced',
    names: { plural: 'topics', singular: 'topic', kind: 'Topic', listKind: 'TopicList', shortNames: ['st'] },
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

export const topicPath = { group: 'starlane.dev', version: 'v1alpha1', plural: 'topics' };

/**
 * Creates the CRD as kubectl would send it. (client-node's typed CRD models rename `default` and the
 * `x-kubernetes-*` keys, so a plain-object CRD written through them loses those.)
 */
export async function createTopicCrd(serverUrl: string): Promise<void> {
  const res = await fetch(`${serverUrl}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(topicCrd),
  });
  if (res.status !== 201) throw new Error(`CRD create failed: ${res.status} ${await res.text()}`);
}
