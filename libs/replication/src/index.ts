export { LeaderReplicaState, type FollowerProgress, type IsrProposal, type LeaderAssignment, type ReplicaSettings } from './leader';
export { divergingEpoch, followerHighWatermark, truncationFor, type EpochEnd, type EpochHistory, type Truncation } from './follower';
export { FetchPacing, type FetchPacingBounds, type FollowerLogState, type TruncationVerdict } from './fetch-pacing';
