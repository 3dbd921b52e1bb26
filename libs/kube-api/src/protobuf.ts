// Request bodies in the Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`). client-go typed
// clients send built-in kinds that way (kubernetes#125314): helm 4 POSTs and PUTs its release Secret (or
// ConfigMap under HELM_DRIVER=configmap) so, `kubectl create <kind>` sends its object so, and a typed
// client's DELETE with options carries DeleteOptions so. The wire format is the `k8s\0` magic, then a runtime.Unknown envelope {typeMeta, raw,
// contentEncoding, contentType} whose `raw` is the object (apimachinery pkg/runtime/serializer/protobuf).
// The kinds decoded, with their field numbers, are in protobuf-kinds.ts. The decoded object is the object's
// JSON form, so the rest of the server never sees protobuf; answers stay JSON, which clients accept.
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { type FieldKind, type MessageSpec, decodableKinds, unknownEnvelope } from './protobuf-kinds';
import { KubeStatusError, badRequest } from './status';
import { type KubeObject } from './store';

export const protobufContentType = 'application/vnd.kubernetes.protobuf';
/** Every protobuf-encoded Kubernetes object starts with these four bytes (protobuf.go `protoEncodingPrefix`). */
export const protobufMagic = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/* eslint-disable @typescript-eslint/no-explicit-any -- decoded messages are plain JSON */
function int64ToNumber(v: bigint | string): number {
  // Generations, grace periods and timestamps are far below 2^53.
  return Number(v);
}

/** Reads a length prefix; the end is counted from after it. */
function endOfLengthDelimited(r: BinaryReader): number {
  const length = r.uint32();
  return r.pos + length;
}

/** Go's zero time.Time (0001-01-01), which an unset Time marshals as; its JSON form is null. */
const zeroTimeSeconds = -62_135_596_800;

/** meta/v1 Time {seconds = 1, nanos = 2} → RFC 3339 with second precision, as its JSON form. */
function readTime(r: BinaryReader): string | undefined {
  const end = endOfLengthDelimited(r);
  let seconds = 0;
  while (r.pos < end) {
    const [no, wire] = r.tag();
    if (no === 1 && wire === WireType.Varint) seconds = int64ToNumber(r.int64());
    else r.skip(wire, no);
  }
  return seconds === zeroTimeSeconds ? undefined : `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`;
}

/** FieldsV1 {Raw = 1}: the raw bytes are JSON, and the JSON form of FieldsV1 is that JSON. */
function readFieldsV1(r: BinaryReader): unknown {
  const end = endOfLengthDelimited(r);
  let raw: unknown = {};
  while (r.pos < end) {
    const [no, wire] = r.tag();
    if (no === 1 && wire === WireType.LengthDelimited) raw = JSON.parse(Buffer.from(r.bytes()).toString('utf8'));
    else r.skip(wire, no);
  }
  return raw;
}

/** A map entry message {key = 1, value = 2}. */
function readMapEntry(r: BinaryReader, value: 'string' | 'bytes'): [string, string] {
  const end = endOfLengthDelimited(r);
  let key = '';
  let out = '';
  while (r.pos < end) {
    const [no, wire] = r.tag();
    if (no === 1 && wire === WireType.LengthDelimited) key = r.string();
    // JSON carries bytes as base64, as the Secret's `data` is served.
    else if (no === 2 && wire === WireType.LengthDelimited) out = value === 'string' ? r.string() : Buffer.from(r.bytes()).toString('base64');
    else r.skip(wire, no);
  }
  return [key, out];
}

function wireTypeOf(kind: FieldKind): WireType {
  return kind === 'bool' || kind === 'int64' ? WireType.Varint : WireType.LengthDelimited;
}

/**
 * Go's generated marshallers write every non-pointer field, empty or not; the JSON form omits empty ones
 * (`omitempty`), so zero values are left out here too (an empty resourceVersion must read as none).
 */
function setIfSet(into: Record<string, any>, name: string, value: unknown): void {
  if (value !== '' && value !== 0 && value !== false && value !== undefined) into[name] = value;
}

function readField(r: BinaryReader, kind: FieldKind, into: Record<string, any>, name: string): void {
  if (kind === 'string') setIfSet(into, name, r.string());
  else if (kind === 'bool') setIfSet(into, name, r.bool());
  else if (kind === 'int64') setIfSet(into, name, int64ToNumber(r.int64()));
  else if (kind === 'bytes') into[name] = Buffer.from(r.bytes());
  else if (kind === 'time') setIfSet(into, name, readTime(r));
  else if (kind === 'fieldsV1') into[name] = readFieldsV1(r);
  else if ('message' in kind) into[name] = readMessage(r, kind.message, endOfLengthDelimited(r));
  else if ('map' in kind) {
    // One entry per field occurrence: added in place (copying the map per entry made a large map quadratic).
    // defineProperty keeps a `__proto__` key an own field (refused later with 400) instead of a prototype.
    const [key, value] = readMapEntry(r, kind.map);
    Object.defineProperty((into[name] ??= {}), key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    const item = kind.repeated === 'string' ? r.string() : readMessage(r, kind.repeated, endOfLengthDelimited(r));
    ((into[name] ??= []) as unknown[]).push(item);
  }
}

function readMessage(r: BinaryReader, message: MessageSpec, end: number): Record<string, any> {
  const out: Record<string, any> = {};
  while (r.pos < end) {
    const [no, wire] = r.tag();
    const field = message.get(no);
    // Fields this server does not model (and any with an unexpected wire type) are skipped, as protobuf
    // readers do; the JSON form then simply lacks them.
    if (field && wire === wireTypeOf(field.kind)) readField(r, field.kind, out, field.name);
    else r.skip(wire, no);
  }
  if (r.pos !== end) throw new RangeError('a field runs past the end of its message');
  return out;
}

/**
 * Decodes a protobuf request body into the JSON form of the object it carries (with `apiVersion` and
 * `kind` from the envelope). Kinds not in `decodableKinds` → 415; malformed
 * bytes → 400.
 */
export function decodeProtobufObject(body: Buffer): KubeObject {
  if (body.length < protobufMagic.length || !body.subarray(0, protobufMagic.length).equals(protobufMagic)) {
    throw badRequest('the body of the request is not a Kubernetes protobuf object: it does not start with the "k8s\\0" prefix');
  }
  let envelope: Record<string, any>;
  let decoded: Record<string, any>;
  let gvk: string;
  try {
    const bytes = body.subarray(protobufMagic.length);
    envelope = readMessage(new BinaryReader(bytes), unknownEnvelope, bytes.length);
    const { apiVersion = '', kind = '' } = envelope.typeMeta ?? {};
    gvk = `${apiVersion}/${kind}`;
    const message = decodableKinds.get(gvk);
    if (!message) throw unsupportedProtobuf(`${apiVersion || '""'} ${kind || '""'}`);
    if (envelope.contentEncoding) throw unsupportedProtobuf(`contentEncoding ${String(envelope.contentEncoding)}`);
    const raw: Buffer = envelope.raw ?? Buffer.alloc(0);
    decoded = readMessage(new BinaryReader(raw), message, raw.length);
  } catch (error) {
    if (error instanceof KubeStatusError) throw error;
    throw badRequest(`the body of the request is not a valid Kubernetes protobuf object: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { apiVersion, kind } = envelope.typeMeta as { apiVersion: string; kind: string };
  return { apiVersion, kind, ...decoded } as KubeObject;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

function unsupportedProtobuf(what: string): KubeStatusError {
  return new KubeStatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format (${protobufContentType}): this server decodes only ${[...decodableKinds.keys()].join(', ')} in protobuf, not ${what}; send JSON (application/json) instead`,
  );
}
