// A small Kafka Connect REST client. Connect echoes connector configs (password included) in
// its answers, so nothing it returns is passed on unfiltered: messages are scrubbed of the
// secrets the caller names, and the Connect URL is named by its spec reference only.
import { ApplicationFailure } from '@temporalio/common';
import type { Spec } from '../../contracts/spec';
import { describeRef } from '../../contracts/references';
import { resolveUrl } from '../../engines/connections';

export interface ConnectorStatus {
  connector: { state: string; trace?: string };
  tasks: Array<{ id: number; state: string; trace?: string }>;
}

/** Thrown for a Connect answer that is an error; `status` 0 means Connect was not reached. */
export class ConnectError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = 'ConnectError';
  }
}

/** The first line of a Java stack trace and its deepest "Caused by", which usually says why. */
export function traceSummary(trace: string | undefined): string {
  if (!trace) return 'no trace given';
  const lines = trace.split('\n').map((l) => l.trim());
  const causes = lines.filter((l) => l.startsWith('Caused by:'));
  const last = causes.at(-1);
  return last && last !== lines[0] ? `${lines[0]} … ${last}` : lines[0];
}

export class ConnectClient {
  private readonly base: string;
  private readonly auth: string | undefined;

  /** `label` names the URL in messages (e.g. `sync.connect from ${FERRY_CONNECT_URL}`); `secrets` are scrubbed from them. */
  constructor(url: string, private readonly label: string, private readonly secrets: string[] = []) {
    // fetch refuses URLs with credentials: basic auth moves to a header.
    const u = new URL(url);
    if (u.username || u.password) {
      this.auth = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
      this.secrets = [...secrets, decodeURIComponent(u.password)];
      u.username = '';
      u.password = '';
    }
    this.base = u.toString().replace(/\/+$/, '');
  }

  scrub(text: string): string {
    let out = text.replace(/("database\.password"\s*:\s*")(?:[^"\\]|\\.)*"/g, '$1***"');
    for (const s of this.secrets) if (s) out = out.split(s).join('***');
    return out;
  }

  private async request(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...(this.auth ? { authorization: this.auth } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = e.cause?.code ?? e.cause?.message ?? e.message;
      throw new ConnectError(`Kafka Connect (${this.label}) is unreachable: ${this.scrub(why)}; is it running, and is the URL right?`, 0);
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }

  private fail(what: string, status: number, json: unknown): never {
    const message = typeof json === 'object' && json && 'message' in json ? String((json as { message: unknown }).message) : String(json);
    throw new ConnectError(`Kafka Connect (${this.label}): ${what} answered ${status}: ${this.scrub(message)}`, status);
  }

  /** Creates or updates (PUT is idempotent: an unchanged config restarts nothing). */
  async putConfig(name: string, config: Record<string, string>): Promise<void> {
    const { status, json } = await this.request('PUT', `/connectors/${encodeURIComponent(name)}/config`, config);
    if (status !== 200 && status !== 201) this.fail(`registering connector ${name}`, status, json);
  }

  /** The connector classes this Connect cluster can run. */
  async plugins(): Promise<string[]> {
    const { status, json } = await this.request('GET', '/connector-plugins');
    if (status !== 200) this.fail('listing connector plugins', status, json);
    return (json as Array<{ class: string }>).map((p) => p.class);
  }

  /**
   * Connect's own check of a config (the connector validates it, Debezium by connecting to the
   * source): one "key: error" line per problem. Values are left out: the answer echoes them all.
   */
  async validate(connectorClass: string, config: Record<string, string>): Promise<string[]> {
    const plugin = encodeURIComponent(connectorClass.split('.').at(-1)!);
    const { status, json } = await this.request('PUT', `/connector-plugins/${plugin}/config/validate`, config);
    if (status !== 200) this.fail('validating the connector config', status, json);
    const configs = (json as { configs?: Array<{ value?: { name?: string; errors?: string[] } }> }).configs ?? [];
    return configs.flatMap((c) => (c.value?.errors ?? []).map((e) => this.scrub(`${c.value?.name}: ${e}`)));
  }

  /** The connector's stored config (password included: never pass it on), or null when it does not exist. */
  async config(name: string): Promise<Record<string, string> | null> {
    const { status, json } = await this.request('GET', `/connectors/${encodeURIComponent(name)}/config`);
    if (status === 404) return null;
    if (status !== 200) this.fail(`config of connector ${name}`, status, json);
    return json as Record<string, string>;
  }

  /** Null when the connector does not exist. */
  async status(name: string): Promise<ConnectorStatus | null> {
    const { status, json } = await this.request('GET', `/connectors/${encodeURIComponent(name)}/status`);
    if (status === 404) return null;
    if (status !== 200) this.fail(`status of connector ${name}`, status, json);
    return json as ConnectorStatus;
  }

  /** Restarts a failed connector and its failed tasks (after its configuration was fixed). */
  async restartFailed(name: string): Promise<void> {
    const { status, json } = await this.request('POST', `/connectors/${encodeURIComponent(name)}/restart?includeTasks=true&onlyFailed=true`);
    if (status >= 300 && status !== 404) this.fail(`restarting connector ${name}`, status, json);
  }

  /** Stops the connector (Connect ≥ 3.5) so its offsets may be deleted; false when that is not possible. */
  async stop(name: string): Promise<boolean> {
    const { status } = await this.request('PUT', `/connectors/${encodeURIComponent(name)}/stop`);
    return status < 300;
  }

  /** Deletes the offsets Connect keeps for a stopped connector (Connect ≥ 3.6); false when it could not. */
  async deleteOffsets(name: string): Promise<boolean> {
    const { status } = await this.request('DELETE', `/connectors/${encodeURIComponent(name)}/offsets`);
    return status < 300;
  }

  /** Deletes the connector; an absent one is fine. */
  async remove(name: string): Promise<void> {
    const { status, json } = await this.request('DELETE', `/connectors/${encodeURIComponent(name)}`);
    if (status >= 300 && status !== 404) this.fail(`deleting connector ${name}`, status, json);
  }
}

/** The client for a spec's `sync.connect`, resolved here (inside the activity). */
export function connectFor(spec: Spec, secrets: string[] = []): ConnectClient {
  if (!spec.sync) throw ApplicationFailure.nonRetryable('the spec has no sync section (mode online needs one)', 'SpecError');
  return new ConnectClient(resolveUrl(spec.sync.connect, 'sync.connect'), `sync.connect ${describeRef(spec.sync.connect)}`, secrets);
}

/** The source password (scrubbed from everything Connect says, since its configs carry it). */
export function sourcePassword(spec: Spec): string {
  try {
    return decodeURIComponent(new URL(resolveUrl(spec.source.url, 'source.url')).password);
  } catch {
    return '';
  }
}

/** A sentence when the connector is missing or not running (for the sync's alerts), else null. */
export async function connectorHealth(spec: Spec, name: string): Promise<string | null> {
  const client = connectFor(spec, [sourcePassword(spec)]);
  const s = await client.status(name);
  if (!s) return `connector ${name} is not registered in Kafka Connect: changes are not captured; restart the migration's prepare or re-register it`;
  if (s.connector.state !== 'RUNNING') return `connector ${name} is ${s.connector.state}: ${client.scrub(traceSummary(s.connector.trace))}`;
  if (!s.tasks.length) return `connector ${name} has no task running yet`;
  const bad = s.tasks.find((t) => t.state !== 'RUNNING');
  if (bad) return `connector ${name} task ${bad.id} is ${bad.state}: ${client.scrub(traceSummary(bad.trace))}`;
  return null;
}
