// Nodes of the cluster and live charts of the last 10 minutes, from polling
// GET /admin/api/nodes every few seconds (the window is kept here, in memory).
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { get, type NodeInfo } from '../api';
import { Empty, ErrorBox, Loading, formatDuration } from '../ui';

const POLL_MS = 3000;
const WINDOW_S = 600;

interface Sample {
  t: number; // seconds
  clients: number;
  users: number;
  channels: number;
  pubs: number; // per second, since the previous sample
  deliveries: number;
  calls: number;
  errors: number;
}

interface Counters {
  pubs: number;
  deliveries: number;
  calls: number;
  errors: number;
}

/** The cumulative counters of one node, from its metrics items. */
export function counters(items: Record<string, number> = {}): Counters {
  return { pubs: items['node.publications'] || 0, deliveries: items['node.deliveries'] || 0, calls: items['api.calls'] || 0, errors: items['api.errors'] || 0 };
}

// Kept across visits to the page while the tab lives.
const samples: Sample[] = [];
let last: { t: number; byNode: Map<string, Counters> } | null = null;

function addSample(nodes: NodeInfo[], t: number) {
  const byNode = new Map<string, Counters>();
  const rate = { pubs: 0, deliveries: 0, calls: 0, errors: 0 };
  for (const n of nodes) {
    const c = counters(n.metrics?.items);
    byNode.set(n.id, c);
    const prev = last?.byNode.get(n.id);
    if (prev && last) {
      const dt = t - last.t;
      for (const k of Object.keys(rate) as (keyof Counters)[]) {
        // A node that restarted starts from 0: no negative rates.
        rate[k] += Math.max(0, c[k] - prev[k]) / dt;
      }
    }
  }
  const sum = (f: (n: NodeInfo) => number) => nodes.reduce((a, n) => a + (f(n) || 0), 0);
  const s: Sample = {
    t,
    clients: sum((n) => n.num_clients),
    users: sum((n) => n.num_users),
    channels: sum((n) => n.num_channels),
    ...rate,
  };
  if (!last) {
    // No rate yet for the first sample.
    s.pubs = s.deliveries = s.calls = s.errors = 0;
  }
  last = { t, byNode };
  samples.push(s);
  while (samples.length && samples[0].t < t - WINDOW_S) samples.shift();
}

interface ChartDef {
  id: string;
  title: string;
  series: { key: keyof Sample; label: string; color: string }[];
  unit: string;
}

const CHARTS: ChartDef[] = [
  {
    id: 'connections',
    title: 'Connections, users and channels',
    unit: '',
    series: [
      { key: 'clients', label: 'Connections', color: '#e0533b' },
      { key: 'users', label: 'Users', color: '#2f80ed' },
      { key: 'channels', label: 'Channels', color: '#27ae60' },
    ],
  },
  {
    id: 'messages',
    title: 'Publications and deliveries per second',
    unit: '/s',
    series: [
      { key: 'pubs', label: 'Publications/s', color: '#9b51e0' },
      { key: 'deliveries', label: 'Deliveries/s', color: '#f2994a' },
    ],
  },
  {
    id: 'api',
    title: 'API calls and errors per second',
    unit: '/s',
    series: [
      { key: 'calls', label: 'API calls/s', color: '#2d9cdb' },
      { key: 'errors', label: 'API errors/s', color: '#eb5757' },
    ],
  },
];

function fmt(v: number | null | undefined, unit: string) {
  if (v == null) return '–';
  const s = Number.isInteger(v) ? String(v) : v < 10 ? v.toFixed(2) : v.toFixed(0);
  return s + unit;
}

function Chart({ def, version }: { def: ChartDef; version: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = (): uPlot.AlignedData => [samples.map((s) => s.t), ...def.series.map((sr) => samples.map((s) => s[sr.key] as number))];
  useEffect(() => {
    const el = box.current!;
    const css = getComputedStyle(document.documentElement);
    const fg = css.getPropertyValue('--muted').trim() || '#888';
    const grid = css.getPropertyValue('--line').trim() || '#ddd';
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 200,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [axis, { ...axis, size: 50 }],
      // The current values are shown above the plot instead of uPlot's legend.
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      series: [{}, ...def.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, value: (_u: uPlot, v: number | null) => fmt(v, def.unit) }))],
    };
    plot.current = new uPlot(opts, data(), el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 200 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(data());
  }, [version]);
  const cur = samples[samples.length - 1];
  return (
    <section class="card chart" aria-labelledby={`chart-${def.id}`} data-chart={def.id}>
      <h2 id={`chart-${def.id}`}>{def.title}</h2>
      <dl class="now">
        {def.series.map((s) => (
          <div key={s.key}>
            <dt>
              <span class="swatch" style={{ background: s.color }} aria-hidden="true" />
              {s.label}
            </dt>
            <dd data-series={s.key}>{cur ? fmt(cur[s.key] as number, def.unit) : '–'}</dd>
          </div>
        ))}
      </dl>
      <div ref={box} class="plot" role="img" aria-label={`${def.title}, the last 10 minutes`} />
    </section>
  );
}

export function Dashboard() {
  const [nodes, setNodes] = useState<NodeInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  const [loading, setLoading] = useState(true);
  useEffect(() => {
    let stop = false;
    let timer = 0;
    const poll = async () => {
      setLoading(true);
      try {
        const r = await get<{ nodes: NodeInfo[] }>('/nodes');
        if (stop) return;
        const list = [...(r.nodes || [])].sort((a, b) => a.name.localeCompare(b.name));
        addSample(list, Date.now() / 1000);
        setNodes(list);
        setError(null);
        setVersion((v) => v + 1);
      } catch (e) {
        if (!stop) setError(e);
      } finally {
        if (!stop) {
          setLoading(false);
          timer = window.setTimeout(poll, POLL_MS);
        }
      }
    };
    poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, []);

  return (
    <div class="page">
      <div class="page-head">
        <h1>Dashboard</h1>
        <span class="muted">
          {loading ? 'Updating…' : `Updated every ${POLL_MS / 1000} s`}
        </span>
      </div>
      <ErrorBox error={error} />
      <section class="card" aria-labelledby="nodes-title">
        <h2 id="nodes-title">Nodes</h2>
        {nodes === null ? (
          error ? null : <Loading what="Loading nodes" />
        ) : nodes.length === 0 ? (
          <Empty>No node is running.</Empty>
        ) : (
          <div class="table-wrap">
            <table class="nodes">
              <thead>
                <tr>
                  <th scope="col">Node</th>
                  <th scope="col">Version</th>
                  <th scope="col">Engine</th>
                  <th scope="col">Store</th>
                  <th scope="col">Uptime</th>
                  <th scope="col" class="num">Connections</th>
                  <th scope="col" class="num">Users</th>
                  <th scope="col" class="num">Channels</th>
                  <th scope="col" class="num">Subscriptions</th>
                </tr>
              </thead>
              <tbody>
                {nodes.map((n) => (
                  <tr key={n.id} data-node={n.name}>
                    <th scope="row">{n.name}</th>
                    <td data-label="Version">{n.version}</td>
                    <td data-label="Engine">{n.engine}</td>
                    <td data-label="Store">{n.store}</td>
                    <td data-label="Uptime">{formatDuration(n.uptime_seconds)}</td>
                    <td class="num" data-field="clients" data-label="Connections">{n.num_clients}</td>
                    <td class="num" data-field="users" data-label="Users">{n.num_users}</td>
                    <td class="num" data-field="channels" data-label="Channels">{n.num_channels}</td>
                    <td class="num" data-field="subscriptions" data-label="Subscriptions">{n.num_subscriptions}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {nodes && nodes.length > 1 && (
        <p class="help">
          The charts add up the nodes' own numbers: a user connected to two nodes, a channel with subscribers on two nodes, or a publication delivered by two nodes counts once per node.
        </p>
      )}
      <div class="charts">
        {CHARTS.map((c) => (
          <Chart key={c.id} def={c} version={version} />
        ))}
      </div>
    </div>
  );
}
