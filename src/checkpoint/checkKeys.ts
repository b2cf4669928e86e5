/** Strict state_dict matching: every key the model expects, nothing more, each with the expected shape. */

/** How many names of each kind the error lists before it says "and N more". */
const LISTED = 12;

function list(names: string[]): string {
  const shown = names.slice(0, LISTED).join(', ');
  return names.length > LISTED ? `${shown} and ${names.length - LISTED} more` : shown;
}

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Throws one error naming the missing, unexpected and mis-shaped keys; returns quietly when all match. */
export function checkKeys(expected: ReadonlyMap<string, readonly number[]>, got: ReadonlyMap<string, { readonly shape: readonly number[] }>): void {
  const missing = [...expected.keys()].filter((k) => !got.has(k));
  const unexpected = [...got.keys()].filter((k) => !expected.has(k));
  const misShaped: string[] = [];
  for (const [name, shape] of expected) {
    const t = got.get(name);
    if (t && shapeText(t.shape) !== shapeText(shape)) misShaped.push(`${name} (checkpoint ${shapeText(t.shape)}, model ${shapeText(shape)})`);
  }
  if (missing.length + unexpected.length + misShaped.length === 0) return;
  const parts = [
    missing.length ? `${missing.length} missing: ${list(missing)}` : '',
    unexpected.length ? `${unexpected.length} unexpected: ${list(unexpected)}` : '',
    misShaped.length ? `${misShaped.length} with another shape: ${list(misShaped)}` : '',
  ].filter(Boolean);
  throw new Error(`the checkpoint does not match the model: ${parts.join('; ')}`);
}
