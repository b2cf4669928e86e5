/** The class names of a zero-shot task (classify, segment), as the page, the worker and the CLI all read them. */

/**
 * "cat, dog,tabby cat," -> ["cat", "dog", "tabby cat"]: trimmed, in order, blank entries dropped. At least two
 * names, each given once: anything else is refused with a sentence.
 */
export function parseClassNames(text: string): string[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  if (names.length < 2) throw new Error(`Give at least two class names, separated by commas (${JSON.stringify(text)} has ${names.length}).`);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) throw new Error(`"${repeated}" is named twice: give each class once.`);
  return names;
}
