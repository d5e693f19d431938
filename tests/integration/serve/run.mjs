// pocket serve against the official `openai` npm client (pinned in package-lock.json, installed by this script into
// a folder of the build directory), plus raw-HTTP hostile requests and a bounded load test.
//   node run.mjs --pocket BUILD/pocket --work BUILD/serve-node
// Starts servers on free loopback ports (--port 0), runs every check, exits 1 if any failed.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const POCKET = path.resolve(args.pocket ?? 'pocket');
const WORK = path.resolve(args.work ?? 'serve-node');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- install the pinned client into WORK (not the source tree) ----
function installClient() {
  fs.mkdirSync(WORK, { recursive: true });
  const lock = fs.readFileSync(path.join(HERE, 'package-lock.json'), 'utf8');
  const installedLock = path.join(WORK, 'node_modules', '.package-lock.json');
  const pinned = JSON.parse(lock).packages['node_modules/openai'].version;
  const have = path.join(WORK, 'node_modules', 'openai', 'package.json');
  if (fs.existsSync(have) && JSON.parse(fs.readFileSync(have, 'utf8')).version === pinned && fs.existsSync(installedLock)) {
    return pinned;
  }
  fs.copyFileSync(path.join(HERE, 'package.json'), path.join(WORK, 'package.json'));
  fs.writeFileSync(path.join(WORK, 'package-lock.json'), lock);
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: WORK, stdio: 'inherit' });
  return pinned;
}

// ---- servers ----
async function startServer(extra = []) {
  const proc = spawn(POCKET, ['serve', '--port', '0', '--threads', '1', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  const server = { proc, log: '', exited: null };
  proc.stderr.on('data', (d) => { server.log += d; });
  server.exit = new Promise((resolve) => proc.on('exit', (code, signal) => { server.exited = { code, signal }; resolve(server.exited); }));
  server.url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no listening line in 30 s; stderr: ${server.log}`)), 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`pocket serve exited ${code}: ${server.log}`)); });
  });
  return server;
}

async function stopServer(server) {
  if (server.exited) return server.exited;
  server.proc.kill('SIGTERM');
  const timeout = sleep(15000).then(() => 'timeout');
  const r = await Promise.race([server.exit, timeout]);
  if (r === 'timeout') { server.proc.kill('SIGKILL'); throw new Error('pocket serve did not exit within 15 s of SIGTERM'); }
  return r;
}

function rssKb(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]);
}

// A raw HTTP exchange: writes `data`, returns whatever comes back until the server closes or `ms` pass.
function raw(url, data, ms = 1500) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const sock = net.connect(Number(port), hostname);
    let out = '';
    const done = () => { sock.destroy(); resolve(out); };
    sock.setTimeout(ms, done);
    sock.on('data', (d) => { out += d; });
    sock.on('end', done);
    sock.on('error', done);
    sock.on('connect', () => { for (const part of [].concat(data)) sock.write(part); });
  });
}
const statusOf = (text) => Number((text.match(/^HTTP\/1\.1 (\d{3})/) ?? [])[1] ?? 0);

// ---- the checks ----
const tests = [];
const test = (name, fn) => tests.push({ name, fn });

let OpenAI, srv, client, MODEL;
const collectStream = async (stream) => {
  let text = ''; let finish = null; let usage = null; let chunks = 0; let roleSeen = false;
  for await (const c of stream) {
    chunks++;
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) {
      if (ch.delta) { text += ch.delta.content ?? ''; roleSeen ||= ch.delta.role === 'assistant'; } else text += ch.text ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  return { text, finish, usage, chunks, roleSeen };
};

test('GET /v1/models lists the served model', async () => {
  const models = await client.models.list();
  assert.equal(models.data.length, 1);
  assert.equal(models.data[0].object, 'model');
  MODEL = models.data[0].id;
  assert.equal(MODEL, 'tiny-stories');
});

test('GET /health and /metrics', async () => {
  const h = await fetch(`${srv.url}/health`);
  assert.equal(h.status, 200);
  assert.deepEqual(await h.json(), { status: 'ok' });
  const m = await (await fetch(`${srv.url}/metrics`)).text();
  for (const name of ['pocket_requests_total', 'pocket_prompt_tokens_total', 'pocket_completion_tokens_total',
    'pocket_prefill_tokens_per_second', 'pocket_decode_tokens_per_second', 'pocket_queue_depth', 'pocket_active_slots',
    'pocket_time_to_first_token_seconds_bucket{le="+Inf"}']) assert.ok(m.includes(name), name);
});

// The server's KV cache is f16 by default (as llama-server's); `pocket run` is given the same setting.
const runGreedy = (prompt, n, kvType) => execFileSync(POCKET, ['run', '-p', prompt, '-n', String(n), '--temp', '0',
  '--no-echo', '--quiet', '--kv-type', kvType], { encoding: 'utf8' }).replace(/\n$/, '');

test('completions: greedy result equals `pocket run` for the same prompt', async () => {
  for (const prompt of ['Once upon a time', 'Tom and Lily went to the park.']) {
    const expected = runGreedy(prompt, 40, 'f16');
    const r = await client.completions.create({ model: MODEL, prompt, max_tokens: 40, temperature: 0 });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices[0].text, expected);
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage.completion_tokens, 40);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 40);
  }
});

test('--kv-type f32: greedy result equals `pocket run --kv-type f32`', async () => {
  const s = await startServer(['--kv-type', 'f32', '--quiet']);
  try {
    const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'x', maxRetries: 0 });
    for (const prompt of ['Once upon a time', 'Tom and Lily went to the park.']) {
      const r = await c.completions.create({ model: 'm', prompt, max_tokens: 40, temperature: 0 });
      assert.equal(r.choices[0].text, runGreedy(prompt, 40, 'f32'));
    }
  } finally {
    assert.deepEqual(await stopServer(s), { code: 0, signal: null });
  }
});

test('completions: streaming gives the same text as non-streaming, with usage last', async () => {
  const prompt = 'The little dog';
  const full = await client.completions.create({ model: MODEL, prompt, max_tokens: 30, temperature: 0 });
  const s = await collectStream(await client.completions.create({ model: MODEL, prompt, max_tokens: 30, temperature: 0,
    stream: true, stream_options: { include_usage: true } }));
  assert.equal(s.text, full.choices[0].text);
  assert.equal(s.finish, 'length');
  assert.equal(s.usage.prompt_tokens, full.usage.prompt_tokens);
  assert.equal(s.usage.completion_tokens, full.usage.completion_tokens);
  assert.equal(s.usage.total_tokens, full.usage.total_tokens);
});

test('chat: non-streaming greedy, usage, finish_reason; streaming equal', async () => {
  const messages = [{ role: 'system', content: 'You tell stories.' }, { role: 'user', content: 'Tell me about a cat.' }];
  const r = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 25, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 25);
  const s = await collectStream(await client.chat.completions.create({ model: MODEL, messages, max_tokens: 25,
    temperature: 0, stream: true, stream_options: { include_usage: true } }));
  assert.ok(s.roleSeen);
  assert.equal(s.text, r.choices[0].message.content);
  assert.equal(s.finish, r.choices[0].finish_reason);
  assert.equal(s.usage.completion_tokens, r.usage.completion_tokens);
  assert.equal(s.usage.prompt_tokens, r.usage.prompt_tokens);
});

test('chat: a follow-up turn reuses the cached prefix', async () => {
  const messages = [{ role: 'user', content: 'Once upon a time there was a girl named Lily who liked flowers.' }];
  const r1 = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 10, temperature: 0 });
  messages.push({ role: 'assistant', content: r1.choices[0].message.content }, { role: 'user', content: 'And then?' });
  const r2 = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 10, temperature: 0 });
  assert.ok(r2.usage.prompt_tokens_details.cached_tokens >= r1.usage.prompt_tokens - 1,
    JSON.stringify([r1.usage, r2.usage]));
});

test('stop strings end generation before the stop text', async () => {
  const prompt = 'Once upon a time';
  const full = (await client.completions.create({ model: MODEL, prompt, max_tokens: 40, temperature: 0 })).choices[0].text;
  const word = full.trim().split(/\s+/)[3];
  const cut = full.indexOf(word);
  const r = await client.completions.create({ model: MODEL, prompt, max_tokens: 40, temperature: 0, stop: [word, 'zzzz'] });
  assert.equal(r.choices[0].text, full.slice(0, cut));
  assert.equal(r.choices[0].finish_reason, 'stop');
  const s = await collectStream(await client.completions.create({ model: MODEL, prompt, max_tokens: 40, temperature: 0,
    stop: word, stream: true }));
  assert.equal(s.text, full.slice(0, cut));
  assert.equal(s.finish, 'stop');
});

test('seeds: the same seed reproduces a sampled completion, other seeds differ', async () => {
  const run = async (seed) => (await client.completions.create({ model: MODEL, prompt: 'One day', max_tokens: 40,
    temperature: 1, seed })).choices[0].text;
  const a = await run(42), b = await run(42), c = await run(43), d = await run(44);
  assert.equal(a, b);
  assert.ok(!(a === c && a === d), 'three seeds gave identical samples');
  const chat = async (seed) => (await client.chat.completions.create({ model: MODEL, max_tokens: 20, temperature: 0.9,
    seed, messages: [{ role: 'user', content: 'Hi' }] })).choices[0].message.content;
  assert.equal(await chat(5), await chat(5));
});

test('logprobs: chat top_logprobs and completions logprobs', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hello' }],
    max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 3 });
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, r.usage.completion_tokens);
  for (const t of content) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 3);
    assert.equal(t.top_logprobs[0].logprob, t.logprob);  // greedy: the chosen token is the most likely
    assert.ok(Array.isArray(t.bytes) && t.bytes.length > 0);
  }
  const c = await client.completions.create({ model: MODEL, prompt: 'The sun', max_tokens: 5, temperature: 0, logprobs: 2 });
  assert.equal(c.choices[0].logprobs.tokens.length, 5);
  assert.equal(c.choices[0].logprobs.token_logprobs.length, 5);
  assert.equal(Object.keys(c.choices[0].logprobs.top_logprobs[0]).length, 2);
});

test('response_format json_object: needs "json" in the messages', async () => {
  await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }],
    response_format: { type: 'json_object' } }), (e) => e.status === 400 && e.param === 'messages');
  const r = await client.chat.completions.create({ model: MODEL, max_tokens: 5, temperature: 0,
    messages: [{ role: 'user', content: 'Reply in JSON.' }], response_format: { type: 'json_object' } });
  assert.equal(typeof r.choices[0].message.content, 'string');
});

test('errors through the client: 400 with OpenAI error fields', async () => {
  const bad = async (body, param, code) => {
    await assert.rejects(client.chat.completions.create({ model: MODEL, ...body }), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, String(e));
      assert.equal(e.status, 400);
      if (param !== undefined) assert.equal(e.param, param);
      if (code !== undefined) assert.equal(e.code, code);
      assert.equal(e.type, 'invalid_request_error');
      return true;
    });
  };
  await bad({ messages: [] }, 'messages', 'empty_array');
  await bad({ messages: [{ role: 'user', content: 'hi' }], temperature: 'hot' }, 'temperature', 'invalid_type');
  await bad({ messages: [{ role: 'user', content: 'hi' }], n: 3 }, 'n');
  await bad({ messages: [{ role: 'user', content: 'hi' }], max_tokens: -1 }, 'max_tokens');
  await bad({ messages: [{ role: 'user', content: 'hi' }], not_a_field: 1 }, 'not_a_field', 'unknown_parameter');
  await bad({ messages: [{ role: 'user', content: 'word '.repeat(5000) }] }, 'messages', 'context_length_exceeded');
  await assert.rejects(client.completions.create({ model: MODEL, prompt: 'x'.repeat(1), max_tokens: 'ten' }),
    (e) => e.status === 400 && e.param === 'max_tokens');
});

test('errors over raw HTTP: malformed JSON 400, 404, 405, 413', async () => {
  const post = (p, body, headers = {}) => fetch(`${srv.url}${p}`, { method: 'POST', body,
    headers: { 'Content-Type': 'application/json', ...headers } });
  const r1 = await post('/v1/chat/completions', '{"messages": [');
  assert.equal(r1.status, 400);
  const e1 = await r1.json();
  assert.equal(e1.error.type, 'invalid_request_error');
  assert.ok('param' in e1.error && 'code' in e1.error);
  const r2 = await fetch(`${srv.url}/v1/nope`);
  assert.equal(r2.status, 404);
  assert.ok((await r2.json()).error.message.includes('/v1/nope'));
  const r3 = await fetch(`${srv.url}/v1/chat/completions`);
  assert.equal(r3.status, 405);
  assert.equal((await r3.json()).error.code, 'method_not_allowed');
  const r4 = await post('/v1/models', '{}');
  assert.equal(r4.status, 405);
  const r5 = await post('/v1/completions', JSON.stringify({ prompt: 'a'.repeat(5 << 20) }));
  assert.equal(r5.status, 413);
  const r6 = await post('/v1/completions', '{"prompt": "\\ud800 lone surrogate", "max_tokens": 2}');
  assert.ok([200, 400].includes(r6.status));
});

test('hostile requests never crash or hang the server', async () => {
  const u = srv.url;
  const host = new URL(u).host;
  const replies = [];
  replies.push(await raw(u, '\x00\x01\x02GARBAGE\r\n\r\n'));
  replies.push(await raw(u, `GET /${'a'.repeat(100000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`));
  replies.push(await raw(u, `GET /health HTTP/1.1\r\nHost: ${host}\r\n${'X-A: b\r\n'.repeat(5000)}\r\n`));
  replies.push(await raw(u, `POST /v1/completions HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 100\r\n\r\n{"prompt":`, 1500));
  // httplib answers a too-large Content-Length with 413 once its 5 s read timeout ends.
  replies.push(await raw(u, `POST /v1/completions HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n{}`, 8000));
  replies.push(await raw(u, `POST /v1/completions HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nxx\r\n0\r\n\r\n`));
  replies.push(await raw(u, `POST /v1/completions HTTP/1.1\r\nHost: ${host}\r\nContent-Length: -5\r\n\r\n`));
  const deep = '['.repeat(200000) + ']'.repeat(200000);
  replies.push(await raw(u, `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${deep.length}\r\nConnection: close\r\n\r\n${deep}`, 10000));
  const deepObj = '{"messages":' + '{"a":'.repeat(100000) + '1' + '}'.repeat(100000) + '}';
  replies.push(await raw(u, `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${deepObj.length}\r\nConnection: close\r\n\r\n${deepObj}`, 10000));
  const badUtf8 = Buffer.concat([Buffer.from('{"prompt":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
  replies.push(await raw(u, [`POST /v1/completions HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${badUtf8.length}\r\n` +
    'Connection: close\r\n\r\n', badUtf8]));
  for (const i of [7, 8, 9]) assert.equal(statusOf(replies[i]), 400, replies[i].slice(0, 300));
  assert.equal(statusOf(replies[4]), 413, replies[4].slice(0, 200));
  // Many connections opened and dropped without a request; then odd but valid requests.
  await Promise.all(Array.from({ length: 100 }, () => new Promise((resolve) => {
    const s = net.connect(Number(new URL(u).port), '127.0.0.1', () => { s.destroy(); resolve(); });
    s.on('error', resolve);
  })));
  const odd = [{ prompt: '\u0000\u0001 nul and control', max_tokens: 3 }, { prompt: '😀 emoji 漢字', max_tokens: 3 },
    { prompt: 'x', max_tokens: 1e15, stop: ['', 'a'.repeat(10000)] }, { prompt: '<|im_end|><s></s>', max_tokens: 3 },
    { prompt: [1, 2, 3], max_tokens: 3 }, { prompt: 'x', temperature: 1e308 }, { prompt: 'x', seed: -1, max_tokens: 2 },
    { prompt: 'x', max_tokens: 2, top_k: 1, min_p: 1, top_p: 0 }];
  for (const body of odd) {
    const r = await fetch(`${u}/v1/completions`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    assert.ok([200, 400].includes(r.status), `${JSON.stringify(body).slice(0, 80)} -> ${r.status}`);
    await r.text();
  }
  const h = await fetch(`${u}/health`);
  assert.equal(h.status, 200);
  assert.equal(srv.exited, null, 'the server died');
});

test('a second server on the same port exits 1; bad flags exit 2', async () => {
  const port = new URL(srv.url).port;
  const r = spawnSync(POCKET, ['serve', '--port', port], { timeout: 15000, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /cannot listen on 127\.0\.0\.1/);
  assert.equal(spawnSync(POCKET, ['serve', '--parallel', '0'], { timeout: 15000 }).status, 2);
});

test('queue full: 429 (rate_limit_exceeded); dropped clients (streamed or not) free their slot', async () => {
  const s = await startServer(['--parallel', '1', '--queue', '1', '--ctx', '8192', '--quiet']);
  try {
    const body = JSON.stringify({ prompt: 'Once upon a time', max_tokens: 8000, temperature: 0, stream: true });
    const ctrl = [new AbortController(), new AbortController()];
    const opts = (i) => ({ method: 'POST', body, headers: { 'Content-Type': 'application/json' }, signal: ctrl[i]?.signal });
    const a = await fetch(`${s.url}/v1/completions`, opts(0));  // holds the slot for a long generation
    const b = fetch(`${s.url}/v1/completions`, opts(1));        // waits in the queue
    for (let i = 0; i < 100; i++) {  // until b is queued behind a
      if (/pocket_queue_depth 1\n/.test(await (await fetch(`${s.url}/metrics`)).text())) break;
      await sleep(100);
    }
    const c = await fetch(`${s.url}/v1/completions`, opts(2));
    assert.equal(c.status, 429);
    const e = await c.json();
    assert.equal(e.error.code, 'rate_limit_exceeded');
    ctrl[0].abort();  // hang up: a's generation is cancelled, b gets the slot
    const rb = await b;
    assert.equal(rb.status, 200);
    ctrl[1].abort();
    await sleep(500);
    const m = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(m, /pocket_active_slots 0\n/);
    const d = await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'Hi', max_tokens: 3 }) });
    assert.equal(d.status, 200);
    assert.equal((await d.json()).usage.completion_tokens <= 3, true);
    // A non-streamed request whose client hangs up is cancelled too (the server writes a space each second).
    const tokensOut = async () => Number((await (await fetch(`${s.url}/metrics`)).text())
      .match(/pocket_completion_tokens_total (\d+)/)[1]);
    const before = await tokensOut();
    const ctrl3 = new AbortController();
    const p = fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 8000, temperature: 0 }), signal: ctrl3.signal })
      .catch(() => null);
    await sleep(500);
    ctrl3.abort();
    await p;
    let idle = false;
    for (let i = 0; i < 100 && !idle; i++) {
      idle = /pocket_active_slots 0\n/.test(await (await fetch(`${s.url}/metrics`)).text());
      if (!idle) await sleep(100);
    }
    assert.ok(idle, 'the abandoned non-streamed request still runs after 10 s');
    const generated = (await tokensOut()) - before;
    assert.ok(generated > 0 && generated < 8000, `the abandoned request generated ${generated} tokens`);
  } finally {
    assert.deepEqual(await stopServer(s), { code: 0, signal: null });
  }
});

test('--api-key: 401 without or with a wrong key, 200 with it', async () => {
  const s = await startServer(['--api-key', 'sekret', '--quiet']);
  try {
    const wrong = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'nope', maxRetries: 0 });
    await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401 &&
      e.code === 'invalid_api_key');
    const none = await fetch(`${s.url}/v1/models`);
    assert.equal(none.status, 401);
    assert.equal((await none.json()).error.code, 'invalid_api_key');
    const right = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sekret', maxRetries: 0 });
    const r = await right.completions.create({ model: 'x', prompt: 'Hi', max_tokens: 2 });
    assert.equal(r.choices.length, 1);
    assert.equal((await fetch(`${s.url}/health`)).status, 200);  // health needs no key
  } finally {
    assert.deepEqual(await stopServer(s), { code: 0, signal: null });
  }
});

test('load: 32 concurrent streams, 8 disconnect mid-stream, the rest complete; RSS returns near baseline', async () => {
  const s = await startServer(['--parallel', '4', '--quiet']);
  try {
    const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const prompts = ['Once upon a time', 'The cat', 'Lily and Ben', 'A big red ball'];
    const solo = [];
    for (const p of prompts) solo.push((await c.chat.completions.create({ model: 'm', max_tokens: 48, temperature: 0,
      messages: [{ role: 'user', content: p }] })).choices[0].message.content);
    const round = async () => Promise.all(Array.from({ length: 32 }, async (_, i) => {
      const stream = await c.chat.completions.create({ model: 'm', max_tokens: 48, temperature: 0, stream: true,
        stream_options: { include_usage: true }, messages: [{ role: 'user', content: prompts[i % 4] }] });
      if (i % 4 === 3 && i < 32) {  // 8 clients hang up after a few chunks
        let n = 0;
        for await (const _ of stream) { if (++n === 3) { stream.controller.abort(); break; } }
        return null;
      }
      const r = await collectStream(stream);
      assert.ok(['stop', 'length'].includes(r.finish), `client ${i}: finish ${r.finish}`);
      assert.ok(r.usage && r.usage.completion_tokens >= 1);
      assert.equal(r.text, solo[i % 4], `client ${i}: concurrent greedy text differs from the lone request's`);
      return r;
    }));
    const base = rssKb(s.proc.pid);
    await round();
    const afterWarm = rssKb(s.proc.pid);
    await round();
    await round();
    await sleep(300);
    const after = rssKb(s.proc.pid);
    const m = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(m, /pocket_active_slots 0\n/);
    assert.match(m, /pocket_queue_depth 0\n/);
    console.log(`    RSS kB: baseline ${base}, after 1st round ${afterWarm}, after 3 rounds ${after}`);
    if (process.env.POCKET_SKIP_RSS_CHECK === '1') {
      console.log('    RSS bound not checked: sanitizer build (its allocator quarantines freed memory)');
    } else {
      assert.ok(after <= afterWarm * 1.05 + 4096, `RSS grew from ${afterWarm} to ${after} kB`);
    }
  } finally {
    assert.deepEqual(await stopServer(s), { code: 0, signal: null });
  }
});

test('SIGTERM during a stream: the stream ends and the server exits 0', async () => {
  const s = await startServer(['--ctx', '4096']);
  const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const stream = await c.completions.create({ model: 'm', prompt: 'Once', max_tokens: 100000, stream: true });
  let n = 0;
  let ended = false;
  try {
    for await (const _ of stream) { if (++n === 2) s.proc.kill('SIGTERM'); }
    ended = true;
  } catch (e) {
    ended = true;  // a connection closed by the shutdown also ends it
  }
  assert.ok(ended);
  const r = await Promise.race([s.exit, sleep(15000).then(() => 'timeout')]);
  assert.deepEqual(r, { code: 0, signal: null });
  assert.match(s.log, /shutting down/);
});

// ---- main ----
const t0 = Date.now();
const version = installClient();
OpenAI = createRequire(path.join(WORK, 'package.json'))('openai');
OpenAI = OpenAI.default ?? OpenAI;
console.log(`openai ${version} installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
srv = await startServer();
client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60000 });
let failed = 0;
for (const { name, fn } of tests) {
  const start = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - start} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n     ${e.stack ?? e}`);
  }
}
const logLines = srv.log.split('\n').filter((l) => l.includes('" 200 ')).length;
const exit = await stopServer(srv).catch((e) => ({ error: String(e) }));
if (exit.code !== 0) { failed++; console.log(`FAIL main server exit: ${JSON.stringify(exit)}\n${srv.log.slice(-2000)}`); }
if (logLines === 0) { failed++; console.log('FAIL no request log lines on stderr'); }
console.log(`${tests.length - failed}/${tests.length} checks passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
