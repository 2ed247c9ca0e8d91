import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got, signature checked. */
export interface Hit {
  eventId: string;
  leadId: string;
  toStage: string;
  at: number;
  /** What the receiver answered: a status, or how it misbehaved. */
  answer: Answer;
}

/** How to answer: a status (with headers), drop the connection, or never answer. */
export type Answer = { status: number; headers?: Record<string, string>; delayMs?: number } | 'drop' | 'hang';

/**
 * A local webhook receiver for tests: checks the signature (a bad one is a 401 and a test
 * failure), records every request, answers as `decide` says. `close()` also ends hung requests.
 */
export async function startReceiver(
  secret: string,
  decide: (r: { eventId: string; leadId: string; toStage: string }, attempt: number) => Answer,
) {
  const hits: Hit[] = [];
  const badSignatures: string[] = [];
  const hung = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const ts = String(req.headers['x-leadscorer-timestamp']);
      const expected = `v1=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`;
      if (req.headers['x-leadscorer-signature'] !== expected) {
        badSignatures.push(String(req.headers['x-leadscorer-event-id']));
        res.writeHead(401).end();
        return;
      }
      const r = JSON.parse(body) as { eventId: string; leadId: string; toStage: string };
      const attempt = hits.filter((h) => h.eventId === r.eventId).length + 1;
      const answer = decide(r, attempt);
      hits.push({ eventId: r.eventId, leadId: r.leadId, toStage: r.toStage, at: Date.now(), answer });
      if (answer === 'drop') req.socket.destroy();
      else if (answer === 'hang') hung.add(res);
      else if (answer.delayMs) {
        hung.add(res);
        setTimeout(() => {
          hung.delete(res);
          res.writeHead(answer.status, answer.headers).end();
        }, answer.delayMs);
      } else res.writeHead(answer.status, answer.headers).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    hits,
    badSignatures,
    /** Requests per event id. */
    attemptsOf: (eventId: string) => hits.filter((h) => h.eventId === eventId),
    /** Event ids answered 2xx, with how often. */
    delivered: () => {
      const n = new Map<string, number>();
      for (const h of hits)
        if (typeof h.answer === 'object' && h.answer.status < 300)
          n.set(h.eventId, (n.get(h.eventId) ?? 0) + 1);
      return n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.socket?.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
