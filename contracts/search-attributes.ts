// Search attributes the Temporal UI lists and filters on (registered by `ferry stack up`).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Search attributes the Temporal UI lists and filters on (registered by `ferry stack up`).
export const searchAttributes = {
  phase: defineSearchAttributeKey('FerryPhase', SearchAttributeType.KEYWORD),
  spec: defineSearchAttributeKey('FerrySpec', SearchAttributeType.KEYWORD),
  rowsCopied: defineSearchAttributeKey('FerryRowsCopied', SearchAttributeType.INT),
  rowsTotal: defineSearchAttributeKey('FerryRowsTotal', SearchAttributeType.INT),
  progress: defineSearchAttributeKey('FerryProgress', SearchAttributeType.DOUBLE),
  verify: defineSearchAttributeKey('FerryVerify', SearchAttributeType.KEYWORD),
  lagSeconds: defineSearchAttributeKey('FerryLagSeconds', SearchAttributeType.DOUBLE),
  shadowMismatches: defineSearchAttributeKey('FerryShadowMismatches', SearchAttributeType.INT),
  /** The reverse sync's lag (target → source, after the switch): how far a rollback's drain has to go. */
  reverseLagSeconds: defineSearchAttributeKey('FerryReverseLagSeconds', SearchAttributeType.DOUBLE),
};
