/**
 * The read-only metadata RPCs of starlane.v1.AdminService (ListTopics, DescribeTopics) answered
 * from a metadata image. The controller answers them from its own image; a gateway answers them
 * from the image it follows, as every Kafka broker answers Metadata and DescribeTopics from its
 * metadata cache, so producing and consuming never depend on reaching the active controller.
 * One translation serves both, so the two answers cannot drift apart.
 */
import { describePartitions, describeTopicConfigs, listTopics, lookupTopics, type ConfigSource, type ItemError, type MetadataImage } from '@starlane/metadata';
import { StarlaneError } from '@starlane/model';
import { v1 } from '@starlane/proto';
import { errorCodeToProto, partitionToProto } from './codec';

/** Most items (topics, names, ids, partitions) one admin request may name. */
export const adminRequestItemsMax = 10_000;

const configSources: Record<ConfigSource, v1.ConfigSource> = { default: v1.ConfigSource.DEFAULT, cluster: v1.ConfigSource.CLUSTER, topic: v1.ConfigSource.TOPIC };

/** A per-item error as a result's error_code and error_message. */
export function itemErrorFields(error: ItemError | undefined): { errorCode: v1.ErrorCode; errorMessage: string } {
  return error === undefined ? { errorCode: v1.ErrorCode.NONE, errorMessage: '' } : { errorCode: errorCodeToProto(error.code), errorMessage: error.message };
}

/** Refuses a request naming more than `adminRequestItemsMax` items as a whole (INVALID_REQUEST). */
export function checkAdminItemCount(count: number, what: string): void {
  if (count > adminRequestItemsMax) throw new StarlaneError('INVALID_REQUEST', `a request may name at most ${adminRequestItemsMax} ${what}, got ${count}`);
}

/** One page of the topic listing. */
export function listTopicsResponse(image: MetadataImage, request: v1.ListTopicsRequest): v1.ListTopicsResponse {
  const page = listTopics(image, { includeInternal: request.includeInternal, pageSize: request.pageSize, pageToken: request.pageToken });
  return {
    topics: page.topics.map((topic) => ({ name: topic.name, topicId: topic.topicId, partitionCount: topic.partitions.length, internal: topic.internal })),
    nextPageToken: page.nextPageToken,
  };
}

/** The topics named by name or id, with partitions and, when asked, effective configs; unknown ones carry their error. */
export function describeTopicsResponse(image: MetadataImage, request: v1.DescribeTopicsRequest): v1.DescribeTopicsResponse {
  checkAdminItemCount(request.topics.length + request.topicIds.length, 'topics');
  return {
    topics: lookupTopics(image, request.topics, request.topicIds).map((lookup): v1.TopicDescription => {
      const topic = lookup.topic;
      if (topic === undefined) return { name: lookup.name, topicId: lookup.topicId, internal: false, partitions: [], configs: {}, ...itemErrorFields(lookup.error) };
      const configs: Record<string, v1.ConfigValue> = {};
      if (request.includeConfigs) {
        for (const [name, effective] of describeTopicConfigs(image, topic)) configs[name] = { value: effective.value, source: configSources[effective.source] };
      }
      return { name: topic.name, topicId: topic.topicId, internal: topic.internal, partitions: describePartitions(image, topic).map(partitionToProto), configs, ...itemErrorFields(undefined) };
    }),
  };
}
