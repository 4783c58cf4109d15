// Shared by the client tests: starts `sluice sim` and `sluice serve` on
// 127.0.0.1 port 0, runs the real client CLIs with an isolated HOME, and
// stops everything it started. Run: SLUICE_BIN=... node --test
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const bin = process.env.SLUICE_BIN;
assert.ok(bin, 'SLUICE_BIN must name the sluice binary');

const here = dirname(fileURLToPath(import.meta.url));
export const claudeBin = join(here, 'node_modules', '.bin', 'claude');
export const codexBin = join(here, 'node_modules', '.bin', 'codex');

// Never handed to a child: real provider keys, proxies, and the caller's own
// client settings (which could point a client somewhere else).
const DROPPED = [
  'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'OPENROUTER_API_KEY', 'ZAI_API_KEY', 'MOONSHOT_API_KEY',
  'GROQ_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY',
  'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy', 'NODE_OPTIONS',
];
const DROPPED_PREFIXES = ['ANTHROPIC_', 'OPENAI_', 'CLAUDE_', 'CODEX_', 'SLUICE_'];

// process.env without keys, proxies and client settings, plus `extra`.
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (DROPPED.includes(k) || DROPPED_PREFIXES.some((p) => k.startsWith(p))) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

const children = new Set();
const dirs = [];

// If the test process ends without after() (a crash, a runner's timeout),
// the processes it started end with it.
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

// A fresh directory, removed by stopAll().
export function tempDir(prefix = 'sluice-clients-') {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

const daemons = [];  // every sluice process started, for the logs

// Starts a long-running sluice process; resolves with its stdout matches of
// `pattern` once `count` distinct lines matched (rejects on exit or after 20 s).
function startDaemon(args, env, pattern, count) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    daemons.push({ name: args[0], child });
    child.log = '';
    const matches = [];
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timeout starting sluice ${args.join(' ')}\n${child.log}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      child.log += d;
      for (const line of out.split('\n')) {
        const m = line.match(pattern);
        if (m && !matches.some((x) => x[0] === m[0])) matches.push(m);
      }
      if (matches.length >= count) { clearTimeout(timer); resolve({ child, matches }); }
    });
    child.stderr.on('data', (d) => { child.log += d; });
    child.on('exit', (code, signal) => {
      children.delete(child);
      clearTimeout(timer);
      reject(new Error(`sluice ${args[0]} exited ${code ?? signal}\n${child.log}`));
    });
  });
}

// Starts `sluice sim --config` with `yaml` (every provider listening on
// 127.0.0.1:0); resolves with { name: "http://127.0.0.1:PORT" }.
export async function startSim(yaml) {
  const dir = tempDir('sluice-sim-');
  const file = join(dir, 'sim.yaml');
  writeFileSync(file, yaml);
  const names = [...yaml.matchAll(/^ {2}([A-Za-z0-9_.-]+):/gm)].map((m) => m[1]);
  const { matches } = await startDaemon(['sim', '--config', file], cleanEnv(),
    /^sim: (\S+) \(\w+\) listening on (http:\/\/127\.0\.0\.1:\d+)/, names.length);
  return Object.fromEntries(matches.map((m) => [m[1], m[2]]));
}

// Starts `sluice serve -c` with `yaml`; `env` supplies the env:VAR keys.
// Resolves with { base: "http://127.0.0.1:PORT", child }.
export async function startGateway(yaml, env = {}) {
  const dir = tempDir('sluice-gw-');
  const file = join(dir, 'sluice.yaml');
  writeFileSync(file, yaml);
  const { child, matches } = await startDaemon(['serve', '-c', file], cleanEnv({ HOME: dir, ...env }),
    /serving on (http:\/\/127\.0\.0\.1:\d+)/, 1);
  return { base: matches[0][1], child };
}

// Runs a client to completion: stdin closed, a hard timeout (SIGKILL), output
// collected. Resolves with { code, signal, stdout, stderr } (never rejects).
export function run(cmd, args, { env, cwd, timeoutMs = 60000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (e) => { stderr += String(e); });
    child.on('close', (code, signal) => {
      children.delete(child);
      clearTimeout(timer);
      resolve({ code, signal, timedOut, stdout, stderr });
    });
  });
}

// A readable account of a finished client run, for assertion messages.
export function explain(r) {
  return `exit ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`;
}

// An isolated home for one CLI run: { home, work } (work is the cwd).
export function isolatedHome(prefix) {
  const home = tempDir(`sluice-${prefix}-`);
  const work = join(home, 'work');
  mkdirSync(work);
  return { home, work };
}

// Stops every process started here and removes the temp dirs. With
// SLUICE_CLIENT_TEST_LOGS=DIR, the sim's and the gateways' output is kept there.
export async function stopAll() {
  const logDir = process.env.SLUICE_CLIENT_TEST_LOGS;
  const waits = [];
  for (const c of children) {
    waits.push(new Promise((r) => { c.once('exit', r); setTimeout(r, 3000).unref(); }));
    c.kill('SIGTERM');
  }
  await Promise.all(waits);
  for (const c of children) c.kill('SIGKILL');
  if (logDir) {
    mkdirSync(logDir, { recursive: true });
    const file = process.argv[1]?.split('/').pop()?.replace(/\.test\.mjs$/, '') ?? 'test';
    daemons.forEach((d, i) => writeFileSync(join(logDir, `${file}.${i}.${d.name}.log`), d.child.log));
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

// GET/POST JSON against the sim or the gateway.
export async function getJson(url) {
  const r = await fetch(url);
  return r.json();
}
export async function postJson(url, body, headers = {}) {
  const r = await fetch(url, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, body: await r.json() };
}

// A sim provider's counters (GET /_sim/stats): requests, successes, rejections, per key.
export async function simStats(simUrl) {
  return getJson(`${simUrl}/_sim/stats`);
}

// The gateway settings shared by the files: `providers` and `models` bodies
// (already indented by two spaces).
export function gatewayYaml({ providers, models }) {
  return `server: {listen: "127.0.0.1:0"}
state: {backend: memory}
providers:
${providers}
models:
${models}
`;
}

// The rate-limited provider every client meets: two requests per 2 s window,
// one in flight, per key, as a sim provider of `dialect`.
export function limitedSim(name, dialect) {
  return `  ${name}: {dialect: ${dialect}, listen: "127.0.0.1:0", keys: [${name}-key], rpm: 2, window: 2s, concurrency: 1, latency: 50ms}\n`;
}

// ---- the agent CLIs, offline ---------------------------------------------

// Every model name Claude Code may ask for, mapped to one sluice alias.
export const claudeModelEnv = (alias) => ({
  ANTHROPIC_MODEL: alias,
  ANTHROPIC_DEFAULT_OPUS_MODEL: alias,
  ANTHROPIC_DEFAULT_SONNET_MODEL: alias,
  ANTHROPIC_DEFAULT_HAIKU_MODEL: alias,
  ANTHROPIC_SMALL_FAST_MODEL: alias,
});

// Runs `claude ARGS` against `base` with an isolated HOME and everything
// that would leave 127.0.0.1 switched off.
export function runClaude(base, args, extraEnv = {}) {
  const { home, work } = isolatedHome('claude');
  const env = cleanEnv({
    HOME: home,
    CLAUDE_CONFIG_DIR: `${home}/.claude`,
    ANTHROPIC_BASE_URL: base,
    ANTHROPIC_API_KEY: 'sluice-client-test',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_BUG_COMMAND: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    // A 429 or 5xx must be absorbed by sluice, not retried by the client.
    CLAUDE_CODE_MAX_RETRIES: '0',
    ...extraEnv,
  });
  return run(claudeBin, args, { env, cwd: work, timeoutMs: 60000 });
}

// CODEX_HOME/config.toml: a custom provider pointing at the gateway, and
// everything that would leave 127.0.0.1 switched off (plugins would run
// `git ls-remote` against GitHub at start-up).
export function codexConfig(base) {
  return `model_provider = "sluice"
check_for_update_on_startup = false

[analytics]
enabled = false

[features]
plugins = false

[model_providers.sluice]
name = "sluice"
base_url = "${base}/v1"
env_key = "SLUICE_CLIENT_KEY"
wire_api = "responses"
# Failures are sluice's to absorb: no client-side stream retries.
request_max_retries = 0
stream_max_retries = 0
`;
}

export function runCodex(base, model, prompt) {
  const { home, work } = isolatedHome('codex');
  const codexHome = join(home, '.codex');
  mkdirSync(codexHome);
  writeFileSync(join(codexHome, 'config.toml'), codexConfig(base));
  const env = cleanEnv({ HOME: home, CODEX_HOME: codexHome, SLUICE_CLIENT_KEY: 'sluice-client-test' });
  return run(codexBin, ['exec', '--skip-git-repo-check', '--strict-config', '--json', '-m', model, prompt],
    { env, cwd: work, timeoutMs: 60000 });
}

