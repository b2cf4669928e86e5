import { useAppStore } from './store.ts';

/** Sentences that concern the whole app: no WebGPU, a device that could not be created, a lost device. */
export function Notices() {
  const phase = useAppStore((s) => s.phase);
  const error = useAppStore((s) => s.error);
  const lost = useAppStore((s) => s.lost);

  return (
    <>
      {error && (
        <div className="notice notice-bad" role="alert" data-testid="webgpu-error" data-phase={phase}>
          <strong>{phase === 'unavailable' ? 'WebGPU is not available. ' : 'The GPU device could not be created. '}</strong>
          {error}
        </div>
      )}
      {lost && (
        <div className="notice notice-bad" role="alert" data-testid="device-lost">
          {lost}
        </div>
      )}
    </>
  );
}
