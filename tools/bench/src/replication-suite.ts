/**
 * The `replication` suite: produce throughput at acks=all with replication factor 3, and at
 * acks=leader with replication factor 1, through one cluster of three storage nodes on this
 * machine, against the raw write bandwidth of the same disk measured in the same run. The three
 * replicas share one disk here, so the goal is set against a third of it.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { v1 } from '@starlane/proto';
import { startCluster, type TestCluster } from '@starlane/launcher';
import { batchOf, channelOptions, createTopic, produceThroughput } from './e2e-suite';
import { kibibyte, listRounds, mebibyte, median, megabytesPerSecond } from './measure';
import { pairedRounds, pairedWithRawWrites } from './raw-io';
import type { Figure, Suite, SuiteContext, SuiteResult } from './suite';

const recordBytes = kibibyte;
const batchRecords = 256;
const replicatedTopic = 'bench-rf3';
const singleTopic = 'bench-rf1';

async function runReplicationSuite(context: SuiteContext): Promise<SuiteResult> {
  const totalBytes = Math.max(16 * mebibyte, Math.round(512 * mebibyte * context.scale));
  const rawBytes = Math.max(16 * mebibyte, Math.round(1024 * mebibyte * context.scale));

  context.progress('starting a cluster: controller, 3 storage nodes, gateway');
  const cluster: TestCluster = await startCluster({ storageNodes: 3, dataDir: join(context.scratchDirectory, 'cluster') });
  const credentials = grpc.credentials.createInsecure();
  const admin = new v1.AdminServiceClient(cluster.gatewayAddress, credentials, channelOptions);
  const producer = new v1.ProducerServiceClient(cluster.gatewayAddress, credentials, channelOptions);
  try {
    await cluster.waitForActiveNodes(3);
    const segmentBytes = String(256 * mebibyte);
    await createTopic(admin, replicatedTopic, 3, { 'min.insync.replicas': '2', 'segment.bytes': segmentBytes });
    await createTopic(admin, singleTopic, 1, { 'segment.bytes': segmentBytes });
    await cluster.waitForLeaders(replicatedTopic);
    await cluster.waitForLeaders(singleTopic);

    const batches = await Promise.all(Array.from({ length: 4 }, () => batchOf(batchRecords, () => randomBytes(recordBytes))));
    const batchCount = Math.ceil(totalBytes / (batchRecords * recordBytes));
    const payloadBytes = batchCount * batchRecords * recordBytes;
    const replicated = { topic: replicatedTopic, acks: v1.Acks.ALL };
    const single = { topic: singleTopic, acks: v1.Acks.LEADER };
    context.progress('warm-up: acks=all RF=3 and acks=leader RF=1');
    await produceThroughput(producer, batches, Math.min(32, batchCount), replicated);
    await produceThroughput(producer, batches, Math.min(32, batchCount), single);
    const rate = async (target: { topic: string; acks: v1.Acks }): Promise<number> => megabytesPerSecond(payloadBytes, await produceThroughput(producer, batches, batchCount, target));
    context.progress(
      `produce: ${pairedRounds} rounds of ${batchCount} batches of ${batchRecords} × ${recordBytes} B records at acks=all RF=3, then at acks=leader RF=1, each round next to a raw write of ${rawBytes / mebibyte} MiB`,
    );
    const paired = await pairedWithRawWrites(
      context.scratchDirectory,
      rawBytes,
      async () => ({ acksAll: await rate(replicated), acks1: await rate(single) }),
      (round, rawMBps, produced) =>
        context.progress(
          `round ${round + 1}/${pairedRounds}: acks=all RF=3 ${produced.acksAll.toFixed(1)} MB/s, acks=leader RF=1 ${produced.acks1.toFixed(1)} MB/s, raw write ${rawMBps.toFixed(1)} MB/s`,
        ),
    );
    const acksAllRf3MBps = median(paired.measured.map((produced) => produced.acksAll));
    const acks1Rf1MBps = median(paired.measured.map((produced) => produced.acks1));
    const rawMBps = median(paired.rawMBps);
    const ratios = paired.measured.map((produced, round) => produced.acksAll / ((paired.rawMBps[round] as number) / 3));

    const figures: Figure[] = [
      {
        name: 'acksAllRf3Ratio',
        value: median(ratios),
        digits: 2,
        description: 'acks=all RF=3 throughput over a third of raw fs write bandwidth (three replicas share the disk)',
        goal: { comparison: 'atLeast', value: 0.5 },
      },
      { name: 'acksAllRf3MBps', value: acksAllRf3MBps, digits: 1, description: 'record bytes produced per second, acks=all, replication factor 3 (MB/s)' },
      { name: 'acks1Rf1MBps', value: acks1Rf1MBps, digits: 1, description: 'record bytes produced per second, acks=leader, replication factor 1 (MB/s)' },
      { name: 'rawWriteMBps', value: rawMBps, digits: 1, description: 'raw fs sequential write, fdatasync at the end (MB/s)' },
    ];
    const method =
      `One run, one machine: a controller, three storage nodes and a gateway start as separate processes from the built bundles on this machine (one disk, two cores), and this process acts as the client. ` +
      `${pairedRounds} rounds, each a raw write of ${rawBytes / mebibyte} MiB with plain fs in 1 MiB writes and one fdatasync at the end next to the two produce measurements, alternating which goes first; ` +
      `MB/s figures are medians over rounds and acksAllRf3Ratio is the median of the per-round ratios, listed above in run order, since this machine's raw write rate swings by several times: one that runs while earlier writes are still being flushed (right after a produce measurement) ran near 300 MB/s, one on a clean disk near 1,200; each round's raw file is kept until the rounds are done, as the logs keep theirs, because a file written where a deleted one just was reuses its blocks, which this disk took about three times faster than new space. ` +
      `Each produce measurement sends ${batchCount} RecordBatch v2 batches of ${batchRecords} uncompressed ${recordBytes}-byte records on one ProduceStream to a one-partition topic, 32 requests in flight, after an unmeasured warm-up; ` +
      `first acks=all to a topic with replication factor 3 and min.insync.replicas 2 (answered once both followers have fetched the records, so the high watermark passed them), ` +
      `then acks=leader to a topic with replication factor 1. Figures count record value bytes only. The goal compares acks=all RF=3 with a third of the raw bandwidth, since every replica writes to the same disk.`;
    const details = { batches: batchCount, acksAllRf3RatioRounds: listRounds(ratios, 2), rawWriteMBpsRounds: listRounds(paired.rawMBps, 0) };
    return { suite: 'replication', figures, details, method };
  } finally {
    admin.close();
    producer.close();
    await cluster.stop();
  }
}

export const replicationSuite: Suite = {
  name: 'replication',
  summary: 'produce throughput at acks=all with replication factor 3 and at acks=leader with factor 1, against raw fs writes',
  run: runReplicationSuite,
};
