export {
  LeaderReplicaState,
  isrEligible,
  isrProposalBackoffMsInitial,
  isrProposalBackoffMsMax,
  type FollowerProgress,
  type IsrChangeKind,
  type IsrEligibility,
  type IsrProposal,
  type LeaderAssignment,
  type ProposalAnswer,
  type ReplicaNodeView,
  type ReplicaSettings,
} from './leader';
export { divergingEpoch, followerHighWatermark, truncationFor, type EpochEnd, type EpochHistory, type Truncation } from './follower';
export { FetchPacing, type FetchPacingBounds, type FollowerLogState, type TruncationVerdict } from './fetch-pacing';
