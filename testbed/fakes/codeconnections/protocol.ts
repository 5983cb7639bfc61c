// The awsJson1.0 wire protocol of CodeStar Connections, server side.
//
// What the client sends (@aws-sdk/client-codestar-connections 3.1017.0, AwsJson1_0Protocol with
// serviceTarget "CodeStar_connections_20191201"): `POST /`, `X-Amz-Target:
// CodeStar_connections_20191201.<Operation>`, `Content-Type: application/x-amz-json-1.0`, a JSON
// body, SigV4 with signing name `codestar-connections`. botocore's metadata gives the long target
// prefix `com.amazonaws.codestar.connections.CodeStar_connections_20191201`; both are accepted.
//
// Errors go back as `{"__type": "<namespace>#<Name>", "message": "..."}` plus an
// `x-amzn-ErrorType` header. The SDK takes the name after `#` (sanitizeErrorCode in
// @smithy/core protocols) and maps it to its modeled class, so `instanceof
// ResourceNotFoundException` works; names the model lacks (ValidationException) arrive as the
// base CodeStarConnectionsServiceException with that `name`. The API reference gives HTTP 400 for
// every modeled error of these operations and for ThrottlingException; 500/503 are server faults.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Faults } from './faults.ts';

export const SERVICE_NAMESPACE = 'com.amazonaws.codestar.connections';
export const TARGET_PREFIXES = [
  'CodeStar_connections_20191201.',
  `${SERVICE_NAMESPACE}.CodeStar_connections_20191201.`,
];
export const SIGNING_NAME = 'codestar-connections';

export class ServiceError extends Error {
  readonly type: string;
  readonly status: number;
  readonly namespace: string;

  constructor(type: string, message: string, opts: { status?: number; namespace?: string } = {}) {
    super(message);
    this.type = type;
    this.status = opts.status ?? 400;
    this.namespace = opts.namespace ?? SERVICE_NAMESPACE;
  }
}

export const notFound = (message: string) => new ServiceError('ResourceNotFoundException', message);
export const unavailable = (message: string) => new ServiceError('ResourceUnavailableException', message);
export const limitExceeded = (message: string) => new ServiceError('LimitExceededException', message);

export interface RequestContext {
  /** From the SigV4 credential scope, else the fake's default Region. */
  region: string;
  requestId: string;
}

export type Handler = (body: Record<string, unknown>, ctx: RequestContext) => unknown;

export interface RecordedRequest {
  operation: string;
  body: Record<string, unknown>;
  timestamp: number;
  region: string;
  /** Filled in when the answer is written. */
  status?: number;
  errorType?: string;
}

export interface ProtocolServer {
  server: Server;
  endpoint: string;
  close: () => Promise<void>;
}

export async function startProtocolServer(opts: {
  host: string;
  port: number;
  defaultRegion: () => string;
  handlers: Record<string, Handler>;
  faults: Faults;
  requests: RecordedRequest[];
}): Promise<ProtocolServer> {
  const server = createServer((req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      // A bug in the fake itself: answer like an internal failure, loudly.
      console.error('codeconnections fake: unhandled error', err);
      if (!res.headersSent)
        sendError(res, randomUUID(), new ServiceError('InternalFailure', String(err), { status: 500 }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    endpoint: `http://${opts.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  opts: Parameters<typeof startProtocolServer>[0],
): Promise<void> {
  const raw = await readBody(req);
  const requestId = randomUUID();

  if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
    return sendError(
      res,
      requestId,
      new ServiceError('UnknownOperationException', '', { status: 404, namespace: CORAL }),
    );
  }

  // Signature: not verified, but required, as the real endpoint refuses unsigned calls.
  const auth = req.headers.authorization;
  if (!auth) {
    return sendError(
      res,
      requestId,
      new ServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token', {
        namespace: CORAL,
      }),
    );
  }
  const scope = /^AWS4-HMAC-SHA256\s+Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
  if (!scope) {
    return sendError(
      res,
      requestId,
      new ServiceError(
        'IncompleteSignatureException',
        `Authorization header requires a SigV4 Credential scope`,
        {
          namespace: CORAL,
        },
      ),
    );
  }
  if (scope[2] !== SIGNING_NAME) {
    return sendError(
      res,
      requestId,
      new ServiceError(
        'InvalidSignatureException',
        `Credential should be scoped to correct service: '${SIGNING_NAME}'. `,
        {
          namespace: CORAL,
        },
      ),
    );
  }
  const region = scope[1] ?? opts.defaultRegion();

  const target = String(req.headers['x-amz-target'] ?? '');
  const prefix = TARGET_PREFIXES.find((p) => target.startsWith(p));
  const operation = prefix ? target.slice(prefix.length) : '';
  const contentType = String(req.headers['content-type'] ?? '');
  if (!prefix || !/^application\/x-amz-json-1\.[01]\b/.test(contentType)) {
    // Coral finds no operation for an unknown target or a body in another protocol.
    return sendError(res, requestId, new ServiceError('UnknownOperationException', '', { namespace: CORAL }));
  }

  let body: Record<string, unknown>;
  try {
    const parsed: unknown = raw.length === 0 ? {} : JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    body = parsed as Record<string, unknown>;
  } catch {
    return sendError(
      res,
      requestId,
      new ServiceError('SerializationException', 'Start of structure or map found where not expected.', {
        namespace: CORAL,
      }),
    );
  }

  const record: RecordedRequest = { operation, body, timestamp: Date.now(), region };
  opts.requests.push(record);
  const done = (status: number, errorType?: string) => {
    record.status = status;
    if (errorType) record.errorType = errorType;
  };

  const fault = opts.faults.take(operation);
  if (fault.delayMs > 0) await new Promise((r) => setTimeout(r, fault.delayMs));
  if (fault.kind === 'disconnect') {
    done(0, 'disconnect');
    req.socket.destroy();
    return;
  }
  if (fault.kind === 'error') {
    const err = new ServiceError(fault.errorType, fault.message, { status: fault.status });
    done(err.status, err.type);
    return sendError(res, requestId, err);
  }

  const handler = Object.hasOwn(opts.handlers, operation) ? opts.handlers[operation] : undefined;
  if (!handler) {
    // A real operation of the service that this fake does not implement, or no such operation.
    const err = new ServiceError(
      'UnknownOperationException',
      `Operation ${operation} is not served by this fake`,
      {
        namespace: CORAL,
      },
    );
    done(err.status, err.type);
    return sendError(res, requestId, err);
  }
  try {
    const out = handler(body, { region, requestId });
    done(200);
    send(res, requestId, 200, out ?? {});
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err;
    done(err.status, err.type);
    sendError(res, requestId, err);
  }
}

const CORAL = 'com.amazon.coral.service';

function send(
  res: ServerResponse,
  requestId: string,
  status: number,
  payload: unknown,
  extra: Record<string, string> = {},
) {
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
    ...extra,
  });
  res.end(body);
}

function sendError(res: ServerResponse, requestId: string, err: ServiceError): void {
  send(
    res,
    requestId,
    err.status,
    { __type: `${err.namespace}#${err.type}`, message: err.message },
    {
      'x-amzn-errortype': err.type,
    },
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
