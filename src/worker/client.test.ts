import { describe, expect, it } from 'vitest';
import { type EngineEvent, EngineClient, type WorkerPort } from './client.ts';
import type { Command, WorkerEvent } from './protocol.ts';

/** A worker that records what it is sent and answers when told. */
class FakeWorker implements WorkerPort {
  sent: Command[] = [];
  onmessage: ((event: MessageEvent<WorkerEvent>) => void) | null = null;
  onerror: ((event: ErrorEvent) => void) | null = null;
  terminated = false;
  postMessage(message: Command): void {
    this.sent.push(message);
  }
  answer(event: WorkerEvent): void {
    this.onmessage?.({ data: event } as MessageEvent<WorkerEvent>);
  }
  terminate(): void {
    this.terminated = true;
  }
}

const idOf = (command: Command | undefined): number => (command as { requestId: number }).requestId;

describe('the engine client', () => {
  it('numbers requests and resolves each with its own answer, whatever the order', async () => {
    const worker = new FakeWorker();
    const client = new EngineClient(worker);
    const list = client.listCheckpoints();
    const views = client.analysis({ kind: 'views', step: 3, sample: 0, draw: 0 });
    const [a, b] = worker.sent;
    expect(idOf(a)).not.toBe(idOf(b));
    expect(b).toEqual({ type: 'analysis', requestId: idOf(b), request: { kind: 'views', step: 3, sample: 0, draw: 0 } });
    const result = { kind: 'views' as const, step: 3, sample: 0, example: 48, trained: true, images: [], texts: ['a'], caption: 'a' };
    worker.answer({ type: 'analysis', requestId: idOf(b), result });
    worker.answer({ type: 'checkpoints', requestId: idOf(a), saved: [{ name: 'x.pt', size: 1, modified: 2 }] });
    expect(await views).toEqual(result);
    expect(await list).toEqual([{ name: 'x.pt', size: 1, modified: 2 }]);
  });

  it('reports progress, rejects with the worker sentence, and passes other events to listeners', async () => {
    const worker = new FakeWorker();
    const client = new EngineClient(worker);
    const heard: EngineEvent[] = [];
    client.on((e) => heard.push(e));
    const progress: number[] = [];
    const load = client.loadCheckpoint([new File([], 'model.pt')], 'student', (p) => progress.push(p.done / p.total));
    const id = idOf(worker.sent[0]);
    worker.answer({ type: 'progress', requestId: id, what: 'student weights', done: 1, total: 4 });
    worker.answer({ type: 'progress', requestId: id, what: 'student weights', done: 4, total: 4 });
    worker.answer({ type: 'error', requestId: id, message: 'Could not load the checkpoint: model.pt is not a zip archive' });
    await expect(load).rejects.toThrow('model.pt is not a zip archive');
    expect(progress).toEqual([0.25, 1]);

    worker.answer({ type: 'state', state: 'running' });
    worker.answer({ type: 'error', message: 'The GPU device was lost' });
    expect(heard).toEqual([
      { type: 'state', state: 'running' },
      { type: 'error', message: 'The GPU device was lost' },
    ]);
  });

  it('fails open requests and tells listeners when the worker dies', async () => {
    const worker = new FakeWorker();
    const client = new EngineClient(worker);
    const heard: EngineEvent[] = [];
    client.on((e) => heard.push(e));
    const saving = client.saveCheckpoint();
    worker.onerror?.({ message: 'SyntaxError in engine.worker.js' } as ErrorEvent);
    await expect(saving).rejects.toThrow(/engine stopped: SyntaxError/);
    expect(heard[0]).toMatchObject({ type: 'error', message: expect.stringContaining('Reload the page') });
  });

  it('sends control commands as they are', () => {
    const worker = new FakeWorker();
    new EngineClient(worker).send({ type: 'pause' });
    expect(worker.sent).toEqual([{ type: 'pause' }]);
  });
});
