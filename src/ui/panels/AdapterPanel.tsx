import { formatLimit, limitLabel } from '../format.ts';
import { useAppStore } from '../store.ts';
import { Panel } from './Panel.tsx';

function adapterName(a: { description: string; device: string; vendor: string; architecture: string }): string {
  return a.description || a.device || [a.vendor, a.architecture].filter(Boolean).join(' ') || 'Unnamed adapter';
}

/** What WebGPU adapter the app runs on: who made it, whether it is a software fallback, its limits and features. */
export function AdapterPanel() {
  const phase = useAppStore((s) => s.phase);
  const adapter = useAppStore((s) => s.adapter);
  const kernels = useAppStore((s) => s.kernels);

  if (!adapter) {
    return (
      <Panel title="GPU adapter" testId="adapter-panel">
        <p className="muted" data-testid="adapter-status">
          {phase === 'acquiring' || phase === 'idle' ? 'Looking for a WebGPU adapter…' : 'No WebGPU adapter.'}
        </p>
      </Panel>
    );
  }

  return (
    <Panel
      title="GPU adapter"
      testId="adapter-panel"
      aside={<span className={adapter.isFallbackAdapter ? 'badge badge-warn' : 'badge badge-ok'}>{adapter.isFallbackAdapter ? 'software' : 'hardware'}</span>}
    >
      <p className="adapter-name" data-testid="adapter-name">
        {adapterName(adapter)}
      </p>
      <dl className="facts">
        <dt>Vendor</dt>
        <dd data-testid="adapter-vendor">{adapter.vendor || '—'}</dd>
        <dt>Architecture</dt>
        <dd data-testid="adapter-architecture">{adapter.architecture || '—'}</dd>
        <dt>Fallback adapter</dt>
        <dd data-testid="adapter-fallback" data-value={String(adapter.isFallbackAdapter)}>
          {adapter.isFallbackAdapter ? 'yes' : 'no'}
        </dd>
        {kernels && (
          <>
            <dt title="Which kernels the engine runs here: CPU-shaped ones (few large workgroups, no barriers) or GPU-shaped ones">Kernels</dt>
            <dd data-testid="adapter-kernels" data-cpu-shape={String(kernels.cpuStyle)} data-source={kernels.source}>
              {kernels.cpuStyle ? 'CPU' : 'GPU'} shape, {kernels.matmul === 'subgroups' ? 'subgroup' : 'tiled'} matmul{' '}
              <span className="muted">({kernels.source === 'measured' ? 'measured here' : 'from the adapter kind'})</span>
            </dd>
          </>
        )}
      </dl>
      {adapter.isFallbackAdapter && (
        <p className="muted" data-testid="adapter-fallback-note">
          A fallback adapter runs on the CPU: results are correct, but training is slow. A browser on a machine with a GPU is much faster.
        </p>
      )}

      <details className="more">
        <summary>
          <h3>Limits</h3>
        </summary>
        <dl className="facts limits" data-testid="adapter-limits">
          {Object.entries(adapter.limits).map(([name, value]) => (
            <LimitRow key={name} name={name} value={value} />
          ))}
        </dl>
      </details>

      <h3>Features</h3>
      {adapter.features.length > 0 ? (
        <ul className="chips" data-testid="adapter-features">
          {adapter.features.map((f) => (
            <li key={f}>{f}</li>
          ))}
        </ul>
      ) : (
        <p className="muted" data-testid="adapter-features">
          None beyond core WebGPU.
        </p>
      )}
    </Panel>
  );
}

function LimitRow({ name, value }: { name: string; value: number }) {
  return (
    <>
      <dt title={name}>{limitLabel(name)}</dt>
      <dd data-testid={`limit-${name}`} data-value={value} title={`${value}`}>
        {formatLimit(name, value)}
      </dd>
    </>
  );
}
