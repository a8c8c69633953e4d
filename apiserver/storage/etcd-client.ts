// The apiserver's gRPC connection to etcd: one @grpc/grpc-js client per member, requests and responses in etcd's
// wire format through etcd-wire.ts. Calls are never retried here (transactions are not idempotent); the storage's
// callers own retrying. Failures are grpc-js ServiceErrors (code, details), mapped by toStorageError.
//
// With several members (--etcd-servers a,b,c) each call goes to a member drawn at random among those not passed
// over, preferring members whose connection is up: a member that died is reconnected to in the background (its
// address may swallow connection attempts for many seconds) while calls go to the live ones. A member whose call
// failed UNAVAILABLE, or ran out of time without a connection, is passed over for a second, so requests go to the
// live members instead of failing whenever a dead one is drawn. With every member passed over the call fails
// UNAVAILABLE.
import { Client, connectivityState, credentials, Metadata, status, type ClientDuplexStream, type ServiceError } from "@grpc/grpc-js";

/** How long a member whose call failed UNAVAILABLE is passed over when there are others. */
const SKIP_FAILED_MEMBER_MS = 1000;

interface Member {
  client: Client;
  skipUntil: number;
}

/** A gRPC failure made here, shaped like grpc-js's ServiceError (code and details) so that one mapping handles both. */
export class EtcdCallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${status[code] ?? "UNKNOWN"}: ${details}`);
  }
}

export class EtcdClient {
  private readonly members: Member[];

  constructor(endpoints: readonly string[], channelOptions: Record<string, number>) {
    if (endpoints.length === 0) throw new Error("no etcd endpoints");
    this.members = endpoints.map((endpoint) => {
      const { target, secure } = grpcTarget(endpoint);
      return { client: new Client(target, secure ? credentials.createSsl() : credentials.createInsecure(), channelOptions), skipUntil: 0 };
    });
  }

  /** One unary call of `method` ("/etcdserverpb.KV/Range") with an encoded request. */
  unary<T>(method: string, request: Buffer, decode: (response: Buffer) => T, deadline: number): Promise<T> {
    const member = this.pick();
    if (member === undefined) return Promise.reject(new EtcdCallError(status.UNAVAILABLE, "every etcd member was passed over after a failed call"));
    return new Promise<T>((resolve, reject) => {
      member.client.makeUnaryRequest(method, identity, decode, request, new Metadata(), { deadline }, (err: ServiceError | null, res?: T) => {
        if (err) {
          if (this.members.length > 1 && (err.code === status.UNAVAILABLE || (err.code === status.DEADLINE_EXCEEDED && !isConnected(member)))) {
            member.skipUntil = Date.now() + SKIP_FAILED_MEMBER_MS;
          }
          reject(err);
        } else if (res !== undefined) resolve(res);
        else reject(new EtcdCallError(status.INTERNAL, `etcd sent no response to ${method}`));
      });
    });
  }

  /** A bidirectional stream of `method` (etcd's Watch); the caller attaches 'data', 'error' and 'end' listeners. */
  stream<Res>(method: string, decode: (response: Buffer) => Res): ClientDuplexStream<Buffer, Res> {
    const member = this.pick() ?? this.members[0];
    if (member === undefined) throw new EtcdCallError(status.UNAVAILABLE, "no etcd member");
    return member.client.makeBidiStreamRequest(method, identity, decode, new Metadata());
  }

  close(): void {
    for (const member of this.members) member.client.close();
  }

  private pick(): Member | undefined {
    if (this.members.length === 1) return this.members[0];
    const now = Date.now();
    const live = this.members.filter((m) => m.skipUntil <= now);
    const connected = live.filter(isConnected);
    // Members without a connection are asked to connect, so that they are ready when drawn.
    for (const m of live) if (!isConnected(m)) m.client.getChannel().getConnectivityState(true);
    const candidates = connected.length > 0 ? connected : live;
    return candidates[Math.floor(Math.random() * candidates.length)];
  }
}

function isConnected(member: Member): boolean {
  return member.client.getChannel().getConnectivityState(false) === connectivityState.READY;
}

/** "http://127.0.0.1:2379" → plaintext "127.0.0.1:2379"; "https://host:2379" → TLS; a bare "host:port" is plaintext. */
export function grpcTarget(endpoint: string): { target: string; secure: boolean } {
  if (!/^[a-z]+:\/\//i.test(endpoint)) return { target: endpoint, secure: false };
  const url = new URL(endpoint);
  return { target: url.host, secure: url.protocol === "https:" };
}

function identity(b: Buffer): Buffer {
  return b;
}
