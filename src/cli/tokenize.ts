/** `cosmos tokenize --text T... [--json]`: CLIP BPE token ids, SOT + ids + EOT, zero-padded to 77. */
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import { defineCommand } from './command.ts';

export const tokenizeCommand = defineCommand({
  name: 'tokenize',
  summary: 'CLIP BPE token ids of texts (77 per text, zero-padded)',
  flags: { text: { kind: 'list', required: true, value: 'T' } },
  async run(flags, ctx) {
    const tokens = (await loadClipTokenizer()).tokenize(flags.text).map((row) => [...row]);
    ctx.result({ tokens }, () =>
      tokens
        .map((row, i) => {
          const used = row.length - [...row].reverse().findIndex((id) => id !== 0);
          return `${JSON.stringify(flags.text[i])}: ${row.slice(0, used).join(' ')} (+${row.length - used} padding)`;
        })
        .join('\n'),
    );
  },
});
