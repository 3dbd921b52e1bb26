/**
 * Which leader each followed partition is fetched from: one `LeaderFetcher` per leader this
 * node follows partitions of, recomputed from the metadata and the open logs (`sync`) after
 * every image and whenever a log finishes opening. A fetcher whose leader moved to another
 * address is replaced, so its next stream goes to the new one.
 */
import type { HostedPartition } from './hosted-partition';
import { LeaderFetcher, type ReplicaFetcherOptions } from './leader-fetcher';

/** Keeps one `LeaderFetcher` per leader this node follows partitions of. */
export class ReplicaFetchers {
  private readonly fetchers = new Map<number, LeaderFetcher>();
  private closed = false;

  constructor(private readonly options: ReplicaFetcherOptions) {}

  /** Recomputes which partitions follow which leader from the metadata and the open logs. */
  sync(): void {
    if (this.closed) return;
    const image = this.options.manager.metadata;
    const byLeader = new Map<number, HostedPartition[]>();
    if (image !== undefined) {
      for (const hosted of this.options.manager.partitions()) {
        if (!hosted.isFollower || hosted.onlineLog === undefined) continue;
        const list = byLeader.get(hosted.state.leader) ?? [];
        list.push(hosted);
        byLeader.set(hosted.state.leader, list);
      }
    }
    for (const [leaderId, fetcher] of this.fetchers) {
      const node = image?.nodes.get(leaderId);
      if (byLeader.has(leaderId) && node !== undefined && node.host === fetcher.leader.host && node.port === fetcher.leader.port) continue;
      fetcher.close();
      this.fetchers.delete(leaderId);
    }
    for (const [leaderId, partitions] of byLeader) {
      const node = image?.nodes.get(leaderId);
      if (node === undefined) continue;
      let fetcher = this.fetchers.get(leaderId);
      if (fetcher === undefined) {
        fetcher = new LeaderFetcher({ nodeId: leaderId, host: node.host, port: node.port }, this.options);
        this.fetchers.set(leaderId, fetcher);
      }
      fetcher.setPartitions(partitions);
    }
  }

  close(): void {
    this.closed = true;
    for (const fetcher of this.fetchers.values()) fetcher.close();
    this.fetchers.clear();
  }
}
