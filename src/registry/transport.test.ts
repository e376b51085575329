import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTransport, defaultTimeouts, isLoopback } from './transport.ts';

const servers: Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

void test('credentials never follow a redirect to another host; they do to the same host', async () => {
  const seen: IncomingHttpHeaders[] = [];
  const cdn = await serve((req, res) => {
    seen.push(req.headers);
    res.end('blob');
  });
  const registry = await serve((req, res) => {
    if (req.url === '/same') {
      res.writeHead(307, { location: '/final' }).end();
      return;
    }
    if (req.url === '/final') {
      seen.push(req.headers);
      res.end('same');
      return;
    }
    res.writeHead(307, { location: `http://localhost:${cdn}/blob?sig=abc` }).end();
  });
  const t = createTransport({ insecureRegistries: [], timeouts: defaultTimeouts });
  try {
    const cross = await t.send({
      method: 'GET',
      url: new URL(`http://127.0.0.1:${registry}/v2/x/blobs/sha256:1`),
      headers: { authorization: 'Bearer secret' },
    });
    assert.equal(await cross.body.text(), 'blob');
    const same = await t.send({
      method: 'GET',
      url: new URL(`http://127.0.0.1:${registry}/same`),
      headers: { authorization: 'Bearer secret' },
    });
    assert.equal(await same.body.text(), 'same');
    assert.deepEqual(
      seen.map((h) => h.authorization),
      [undefined, 'Bearer secret'],
    );
  } finally {
    await t.close();
  }
});

void test('loopback hosts', () => {
  assert.deepEqual(
    ['localhost:5000', '127.0.0.1', '127.3.4.5:80', '[::1]:5000', 'example.com', '10.0.0.1:5000'].map(isLoopback),
    [true, true, true, true, false, false],
  );
});

void test('HTTP_PROXY from the environment carries non-loopback requests (loopback stays direct)', async () => {
  const proxied: string[] = [];
  const proxy = await serve((req, res) => {
    proxied.push(`${req.method} ${req.url}`);
    res.end('via proxy');
  });
  const saved = process.env.HTTP_PROXY;
  process.env.HTTP_PROXY = `http://127.0.0.1:${proxy}`;
  const t = createTransport({ insecureRegistries: [], timeouts: defaultTimeouts });
  try {
    const res = await t.send({ method: 'GET', url: new URL('http://registry.invalid/v2/'), headers: {} });
    assert.equal(await res.body.text(), 'via proxy');
    const direct = await serve((_req, r) => r.end('direct'));
    assert.equal(
      await (await t.send({ method: 'GET', url: new URL(`http://127.0.0.1:${direct}/v2/`), headers: {} })).body.text(),
      'direct',
    );
    assert.deepEqual(proxied, ['GET http://registry.invalid/v2/']);
  } finally {
    if (saved === undefined) delete process.env.HTTP_PROXY;
    else process.env.HTTP_PROXY = saved;
    await t.close();
  }
});
