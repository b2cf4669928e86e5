import type { ReactNode } from 'react';

interface PanelProps {
  title: string;
  testId: string;
  /** Right-aligned in the panel's header: a status badge or an action. */
  aside?: ReactNode;
  /** Spans the full width of the grid. */
  wide?: boolean;
  children: ReactNode;
}

/** One card in the main grid. Every panel of the app (adapter, train, attention, ...) is one of these. */
export function Panel({ title, testId, aside, wide, children }: PanelProps) {
  return (
    <section className={wide ? 'panel panel-wide' : 'panel'} data-testid={testId} aria-labelledby={`${testId}-title`}>
      <header className="panel-header">
        <h2 id={`${testId}-title`}>{title}</h2>
        {aside}
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}
