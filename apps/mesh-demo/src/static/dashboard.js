// The dashboard page: draws the demo's snapshots, pushed once per tick over server-sent events (/events),
// with uPlot. Plain browser script, no build step; `uPlot` is the global of uPlot's IIFE bundle.
/* global uPlot */
const COLORS = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#4d7c0f', '#be185d'];
const charts = {};
let nodeNames = [];

function el(id) {
  return document.getElementById(id);
}

function fmtMs(v) {
  return v === null || v === undefined || Number.isNaN(v) ? '–' : `${v.toFixed(v < 10 ? 2 : 1)} ms`;
}

function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

function chartWidth(id) {
  return Math.max(280, el(id).clientWidth || 360);
}

function makeChart(id, series, yLabel, stepped) {
  const opts = {
    width: chartWidth(id),
    height: 200,
    legend: { live: false },
    scales: { x: { time: false } },
    axes: [{ label: 'seconds' }, { label: yLabel, size: 60 }],
    series: [
      {},
      ...series.map((s, i) => ({
        label: s,
        stroke: COLORS[i % COLORS.length],
        // Nodes on the same key draw over each other: wider lines underneath keep every colour visible.
        width: stepped ? 2 + 2 * (series.length - 1 - i) : 2,
        points: { show: !stepped },
        ...(stepped ? { paths: uPlot.paths.stepped({ align: 1 }) } : {}),
      })),
    ],
  };
  return new uPlot(opts, [[], ...series.map(() => [])], el(id));
}

function ensureCharts(names) {
  if (charts.versions && names.join() === nodeNames.join()) return;
  nodeNames = names;
  for (const id of ['chart-throughput', 'chart-latency', 'chart-versions']) el(id).replaceChildren();
  charts.throughput = makeChart('chart-throughput', ['calls/s', 'failures so far'], 'calls/s');
  charts.latency = makeChart('chart-latency', ['p50 ms', 'p99 ms'], 'ms');
  charts.versions = makeChart('chart-versions', names, 'key version', true);
}

function renderNodes(nodes) {
  const box = el('nodes');
  for (const n of nodes) {
    let card = box.querySelector(`[data-node="${n.name}"]`);
    if (!card) {
      card = document.createElement('div');
      card.className = 'node';
      card.dataset.node = n.name;
      box.append(card);
    }
    card.dataset.status = n.status;
    card.dataset.restarts = String(n.restarts);
    card.dataset.keyVersion = n.keyVersion ?? '';
    card.innerHTML = `
      <h3><span>${n.name}${n.leader ? ' <span class="badge leader">leader</span>' : ''}</span><span class="badge ${n.status}">${n.status}</span></h3>
      <dl>
        <dt>key version</dt><dd class="version">v${n.keyVersion ?? '?'}</dd>
        <dt>encrypts under key</dt><dd><code>${n.primaryKeyId ?? '–'}</code></dd>
        <dt>primary keys (AES, Fernet)</dt><dd>${n.keys.primary ?? 0}</dd>
        <dt>decrypt-only keys</dt><dd>${n.keys['decrypt-only'] ?? 0}</dd>
        <dt>calls made</dt><dd>${n.totals.callsOk}</dd>
        <dt>requests answered</dt><dd>${n.totals.served}</dd>
        <dt>failures</dt><dd class="${n.totals.callsFailed + n.totals.cryptoFailures ? 'fail' : 'good'}">${n.totals.callsFailed + n.totals.cryptoFailures}</dd>
        <dt>restarts</dt><dd>${n.restarts}</dd>
        ${n.degraded === null ? '' : `<dt>fleet (etcd)</dt><dd class="${n.degraded ? 'fail' : 'good'}">${n.degraded ? 'degraded' : 'healthy'}</dd>`}
        ${n.leader === null ? '' : `<dt>new keys staged first</dt><dd>${n.totals.promotionsStagedFirst}</dd>`}
        <dt>/metrics</dt><dd><a href="http://127.0.0.1:${n.port}/metrics">:${n.port}</a></dd>
      </dl>`;
  }
}

function render(s) {
  const names = s.nodes.map((n) => n.name);
  ensureCharts(names);
  el('store').textContent = `${s.nodes.length} services · key store: ${s.store}`;
  el('clock').textContent = s.done
    ? `finished after ${s.durationS} s`
    : `${s.t.toFixed(0)} s of ${s.durationS} s`;
  const last = s.series[s.series.length - 1];
  el('rps').textContent = last ? last.callsPerSecond.toFixed(0) : '–';
  el('p50').textContent = last ? fmtMs(last.p50Ms) : '–';
  el('p99').textContent = last ? fmtMs(last.p99Ms) : '–';
  const failures = last ? last.failures : 0;
  el('failures').textContent = String(failures);
  el('failures').className = `value ${failures ? 'fail' : 'good'}`;
  el('rotations').textContent = String(s.rotations.length);
  el('rotations').dataset.count = String(s.rotations.length);
  const saved = s.nodes.reduce((sum, n) => sum + n.totals.compressionIn - n.totals.compressionOut, 0);
  el('saved').textContent = fmtBytes(saved);
  renderNodes(s.nodes);

  const t = s.series.map((p) => p.t);
  charts.throughput.setData([t, s.series.map((p) => p.callsPerSecond), s.series.map((p) => p.failures)]);
  charts.latency.setData([t, s.series.map((p) => p.p50Ms), s.series.map((p) => p.p99Ms)]);
  charts.versions.setData([t, ...names.map((name) => s.series.map((p) => p.versions[name] ?? null))]);

  el('rotation-list').innerHTML = s.rotations
    .slice(-12)
    .reverse()
    .map((r) => `<li>${r.t.toFixed(1)} s: key v${r.keyVersion} (<code>${r.keyId}</code>), by ${r.by}</li>`)
    .join('');
  el('event-list').innerHTML = s.events
    .slice(-12)
    .reverse()
    .map((e) => `<li>${e.t.toFixed(1)} s: ${e.text}</li>`)
    .join('');
}

const source = new EventSource('/events');
source.onmessage = (event) => render(JSON.parse(event.data));
source.onerror = () => {
  el('clock').textContent = 'demo stopped (no more updates)';
};
