import type { Dispatcher } from 'undici';
import { AirlockError } from '../../errors.js';
import { hostOf } from './endpoint.js';
import { undici } from './undici-parts.js';

/**
 * One HTTP round trip on undici's `Dispatcher.request()` (the same Agent/ProxyAgent, so the same TLS trust and
 * proxy, that the client built), answered as a WHATWG `Response` so the protocol modules keep one API.
 *
 * Why not `fetch`: fetch copies every request body it is given (`Uint8Array` bodies are cloned before they are
 * sent) and moves response bytes through web streams that clone each chunk; with a streamed request body it
 * applies no backpressure (the whole blob ends up buffered). `Dispatcher.request()` writes a `Uint8Array` as is,
 * pulls an async-iterable body only as fast as the socket drains, and hands response bytes over as the Buffers
 * the socket read.
 *
 * The `Response` body is a web stream that reads the undici body lazily, only when someone reads it (error
 * bodies, manifests, `arrayBuffer()`); the blob paths take the undici body itself with `takeNodeBody()` and
 * iterate it without any web-stream hop. Whichever is used first wins; the other is then unusable.
 */

type UndiciBody = Dispatcher.ResponseData['body'];

/** A request body undici accepts: bytes (written as is) or an async iterable (pulled as the socket drains). */
export type WireBody = Uint8Array | AsyncIterable<Uint8Array> | undefined;

interface BodyState {
  node: UndiciBody;
  /** Taken by takeNodeBody(): the web stream must not read it. */
  taken: boolean;
  /** Read (or cancelled) through the web stream: takeNodeBody() must not hand it out. */
  webUsed: boolean;
}

const bodies = new WeakMap<Response, BodyState>();
/** Statuses whose responses have no body (the Response constructor refuses one). */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
/** An unread body up to this size is read and dropped so its connection can be reused; a larger one is cut. */
const DUMP_LIMIT = 64 * 1024;
const noop = (): void => undefined;

export async function sendRequest(
  dispatcher: Dispatcher,
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: WireBody,
  signal: AbortSignal | undefined,
): Promise<Response> {
  const opts: Dispatcher.RequestOptions = {
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: method as Dispatcher.HttpMethod,
    headers,
    // undici writes a Uint8Array as is and iterates an async iterable with backpressure (its types omit the latter).
    body: body as Dispatcher.RequestOptions['body'],
  };
  if (signal) opts.signal = signal;
  const r = await undici().request(dispatcher, opts);
  return toResponse(url, method, r);
}

function toResponse(url: URL, method: string, r: Dispatcher.ResponseData): Response {
  // A body destroyed before anyone listens must not become an uncaught 'error' event.
  r.body.on('error', noop);
  if (r.statusCode < 200 || r.statusCode > 599) {
    r.body.destroy();
    throw new AirlockError('REGISTRY_ERROR', `${hostOf(url)} answered with the invalid HTTP status ${r.statusCode}; it is not speaking HTTP correctly.`);
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(r.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      try {
        headers.append(name, v);
      } catch {
        // A header value the Headers class refuses (control characters): nothing we read is in it.
      }
    }
  }
  const init: ResponseInit = r.statusText ? { status: r.statusCode, statusText: r.statusText, headers } : { status: r.statusCode, headers };
  let res: Response;
  if (method === 'HEAD' || NULL_BODY_STATUS.has(r.statusCode)) {
    void r.body.dump({ limit: DUMP_LIMIT }).catch(noop);
    res = new Response(null, init);
  } else {
    const state: BodyState = { node: r.body, taken: false, webUsed: false };
    res = new Response(lazyWebBody(state), init);
    bodies.set(res, state);
  }
  // fetch's Response.url, which the client and the error messages read; a constructed Response has none.
  Object.defineProperty(res, 'url', { value: url.href });
  return res;
}

/** A web stream over the undici body that reads nothing until it is read (highWaterMark 0). */
function lazyWebBody(state: BodyState): ReadableStream<Uint8Array> {
  let it: AsyncIterator<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (state.taken) {
          controller.error(new TypeError('The response body was already taken.'));
          return;
        }
        state.webUsed = true;
        it ??= (state.node as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
        try {
          const r = await it.next();
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        } catch (e) {
          controller.error(e);
        }
      },
      async cancel() {
        await releaseBody(state);
      },
    },
    { highWaterMark: 0 },
  );
}

async function releaseBody(state: BodyState): Promise<void> {
  const { node } = state;
  if (node.destroyed || node.readableEnded) return;
  if (state.taken || state.webUsed) {
    node.destroy();
    return;
  }
  // Untouched: a small remainder is read so the connection goes back to the pool; a large one is cut.
  await node.dump({ limit: DUMP_LIMIT }).catch(noop);
}

/**
 * The response's body as undici delivered it (Node Buffers, no copy), for the blob streaming paths; undefined
 * when the body has already been read through the web stream (or there is none). Cancelling the Response's body
 * (`res.body.cancel()`, what `discard()` does) still releases it.
 */
export function takeNodeBody(res: Response): AsyncIterable<Uint8Array> | undefined {
  const state = bodies.get(res);
  if (!state || state.taken || state.webUsed || res.bodyUsed) return undefined;
  state.taken = true;
  return state.node;
}
