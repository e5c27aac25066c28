/** The request/response shapes passed between the HTTP server and the API handlers. */
import type { Credential } from './auth.ts';
import type { BuildRecord, OrgRecord, UserRecord, World } from './state.ts';

/** A parsed API request. `body` is parsed JSON, the raw text, or null when empty. */
export interface ApiRequest {
  method: string;
  /** The path as received, e.g. /v2/organizations/…/builds */
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** True when a body was sent that is not valid JSON. */
  bodyInvalid: boolean;
  credential: Credential;
  /** The simulator's own base, e.g. http://127.0.0.1:3999/v2, for links. */
  baseUrl: string;
}

/** An answer: JSON `body`, plain `text`, or neither (202). `created` is a build POST made. */
export interface ApiResponse {
  status: number;
  body?: unknown;
  text?: string;
  headers?: Record<string, string>;
  created?: BuildRecord;
}

/** What a resource handler gets once auth, rate limit and scope are checked. */
export interface Scope {
  request: ApiRequest;
  world: World;
  user: UserRecord;
  org: OrgRecord;
  params: Record<string, string>;
  nowMs: number;
}

/** `{"errors": [message]}` with a status, the API's error shape outside /auth. */
export function errors(status: number, ...messages: string[]): ApiResponse {
  return { status, body: { errors: messages } };
}
