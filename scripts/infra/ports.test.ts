import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { describeTaken, portFree, portHolder } from './ports.ts';

describe('ports', () => {
  it('tells a taken port from a free one, and names the process holding it', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      expect(await portFree(port)).toBe(false);
      expect(portHolder(port)).toMatch(new RegExp(`^pid ${process.pid} \\(.+\\)$`));
      expect(describeTaken(port, 'Kafka')).toMatch(
        new RegExp(`^port ${port} \\(Kafka\\) is in use by pid ${process.pid} `),
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(await portFree(port)).toBe(true);
    expect(portHolder(port)).toBeUndefined();
  });
});
