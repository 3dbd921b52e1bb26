// Kubernetes `Status` failures with the reasons and codes the real API server uses
// (k8s.io/apimachinery/pkg/api/errors), so clients branch on them as they would in a cluster.

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field?: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly causes?: readonly StatusCause[];
}

export class KubeStatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** What the messages call a resource: `secrets`, `topics.starlane.dev`. */
export interface ResourceName {
  readonly group: string;
  readonly plural: string;
}

const qualified = (r: ResourceName): string => (r.group ? `${r.plural}.${r.group}` : r.plural);

export function notFound(r: ResourceName, name: string): KubeStatusError {
  return new KubeStatusError(404, 'NotFound', `${qualified(r)} "${name}" not found`, { name, group: r.group, kind: r.plural });
}

export function alreadyExists(r: ResourceName, name: string): KubeStatusError {
  return new KubeStatusError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, { name, group: r.group, kind: r.plural });
}

export function conflict(r: ResourceName, name: string): KubeStatusError {
  return new KubeStatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: r.group, kind: r.plural },
  );
}

export function invalid(kind: string, group: string, name: string, causes: readonly StatusCause[]): KubeStatusError {
  const text = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ');
  return new KubeStatusError(422, 'Invalid', `${kind} "${name}" is invalid: ${text}`, { name, group, kind, causes });
}

export function expired(rv: number, oldest: number): KubeStatusError {
  return new KubeStatusError(410, 'Expired', `too old resource version: ${rv} (${oldest})`);
}

export function unsupportedMediaType(type: string): KubeStatusError {
  return new KubeStatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format (${type}) - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
}

export function badRequest(message: string): KubeStatusError {
  return new KubeStatusError(400, 'BadRequest', message);
}

export function methodNotAllowed(): KubeStatusError {
  return new KubeStatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

export function internalError(message: string): KubeStatusError {
  return new KubeStatusError(500, 'InternalError', `Internal error occurred: ${message}`);
}
