// The cutover's gates, evaluated from what the migration knows: the latest live reading of
// the sync (lag and how long it has held, dead letters, capture health), the last
// verification, the shadow reads and the spec's fence. Pure: the Update's validator, the gates
// query and `cutover.approval: auto` all call it, so the CLI and the UI get the same answer.
import type { GateReading, GateResult } from '../../contracts/cutover';
import type { MigrationStatus } from '../../contracts/migration';
import type { Spec } from '../../contracts/spec';

const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;

export function evaluateGates(spec: Spec, status: MigrationStatus, reading: GateReading | null, nowMs: number): GateResult[] {
  const g = spec.cutover.gates;
  const gates: GateResult[] = [];

  const heldMs = reading?.lagOkSince ? nowMs - Date.parse(reading.lagOkSince) : 0;
  gates.push({
    name: 'lag',
    pass: !!reading?.lagOkSince && heldMs >= g.holdSeconds * 1000,
    value: !reading ? 'not measured yet' : reading.lagOkSince ? `${reading.lagSeconds.toFixed(1)} s, held ${seconds(heldMs)}` : `${reading.lagSeconds.toFixed(1)} s (sync ${reading.syncState})`,
    limit: `≤ ${g.maxLagSeconds} s, caught up, for ${g.holdSeconds} s`,
  });

  const v = status.verification;
  const ageMs = v ? nowMs - Date.parse(v.checkedAt) : 0;
  const differing = v ? v.tables.reduce((n, t) => n + t.missing + t.extra + t.different + (t.sourceRows !== t.targetRows && v.method === 'counts' ? 1 : 0), 0) : 0;
  gates.push({
    name: 'verification',
    pass: !!v && v.clean && ageMs <= g.verifyMaxAgeSeconds * 1000,
    value: !v ? 'none yet' : v.clean ? `clean, ${seconds(ageMs)} old` : `${differing} difference(s) (${v.verifyId}), ${seconds(ageMs)} old`,
    limit: `clean, at most ${g.verifyMaxAgeSeconds} s old`,
  });

  const shadow = status.shadow;
  if (!spec.shadow.enabled) gates.push({ name: 'shadow', pass: true, value: 'disabled (shadow.enabled: false)', limit: `≤ ${g.maxShadowMismatches} mismatches` });
  else {
    gates.push({
      name: 'shadow',
      pass: !!shadow && shadow.rounds > 0 && shadow.mismatches <= g.maxShadowMismatches,
      value: !shadow || shadow.rounds === 0 ? 'no shadow round yet' : `${shadow.mismatches} mismatch(es) in ${shadow.keysCompared} keys, ${shadow.rounds} round(s)`,
      limit: `≤ ${g.maxShadowMismatches} mismatches`,
    });
  }

  const deadLetters = reading?.deadLetters ?? status.sync?.deadLetters ?? 0;
  gates.push({ name: 'dead-letters', pass: deadLetters <= g.maxDeadLetters, value: `${deadLetters}`, limit: `≤ ${g.maxDeadLetters}` });

  gates.push({
    name: 'capture',
    pass: !!reading && reading.captureProblem === null,
    value: !reading ? 'not checked yet' : (reading.captureProblem ?? 'connector and slot healthy'),
    limit: 'connector running, slot active, sync not halted',
  });

  const fence = spec.cutover.fence;
  gates.push({
    name: 'fence',
    pass: !!fence,
    value: !fence ? 'none configured' : 'pgbouncer' in fence ? `PgBouncer database ${fence.pgbouncer.database}` : `roles ${fence.roles.join(', ')}`,
    limit: 'cutover.fence set (pgbouncer or roles)',
  });
  return gates;
}
