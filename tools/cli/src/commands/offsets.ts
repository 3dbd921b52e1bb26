/**
 * `starlane offsets TOPIC`: the earliest and latest offset of each partition.
 */
import { exitCodes } from '../errors';
import { toJson } from '../json';
import { renderTable } from '../table';
import { parseInteger } from '../values';
import { listOffsets, topicPartitions } from './lookups';
import type { CommandSpec } from '../command';

export const offsetsCommand: CommandSpec = {
  path: ['offsets'],
  summary: 'Show the earliest and latest offset of each partition of a topic',
  usage: 'TOPIC',
  positionals: { min: 1, max: 1 },
  options: {
    partition: { type: 'string', short: 'p', multiple: true, valueName: 'N', description: 'Only this partition' },
    json: { type: 'boolean', description: 'Print one JSON object per partition' },
  },
  details: `EARLIEST is the first retained offset (the log start offset); LATEST is the high
watermark, where the next record will be written. LATEST - EARLIEST counts the records
retained, less any removed by compaction.`,
  async run(context, args) {
    const topic = args.positionals[0]!;
    const partitions = args.has('partition')
      ? args.strings('partition').map((text) => parseInteger(text, '--partition', 0))
      : await topicPartitions(context.gateway, topic);
    const [earliest, latest] = await listOffsets(context.gateway, topic, partitions, [{ boundary: 'earliest' }, { boundary: 'latest' }]);
    if (args.flag('json')) {
      partitions.forEach((partition, index) => context.print(toJson({ topic, partition, earliest: earliest![index]!, latest: latest![index]! })));
      return exitCodes.ok;
    }
    const rows = partitions.map((partition, index) => [String(partition), String(earliest![index]), String(latest![index])]);
    for (const line of renderTable(['PARTITION', 'EARLIEST', 'LATEST'], rows)) context.print(line);
    return exitCodes.ok;
  },
};
