/**
 * The captions of a webdataset sample's `.json`, as the COSMOS reference samples them (src/training/data.py,
 * sample_dict): DreamLIP's recaptioned data sets hold lists of captions under seven fields, PixelProse one original
 * caption and one long caption to split into sentences.
 */

/** DreamLIP's fields, in the order the reference's `textcrop` mode concatenates them. */
export const DREAMLIP_FIELDS = [
  'raw_caption',
  'shortIB_captions',
  'shortSV_captions',
  'shortLLA_captions',
  'longIB_captions',
  'longSV_captions',
  'longLLA_captions',
] as const;

export interface JsonCaptions {
  /** What `textcrop` (DreamLIP) or `textcrop_pixelprose` draws its text crops from. */
  textCrops: string[];
  /** The data set's original captions (`raw` and `raw_pixelprose` modes): what retrieval ranks. */
  raw: string[];
}

/** The reference's split_caption: pieces between newlines, "</s>" and full stops, trimmed, empty ones dropped. */
export function splitCaption(text: string): string[] {
  return text
    .split(/\n|<\/s>|\./)
    .map((piece) => piece.trim())
    .filter((piece) => piece.length > 0);
}

/** A field's captions: one string or a list of them; anything else is no caption. */
function strings(value: unknown): string[] {
  const values = Array.isArray(value) ? value : [value];
  return values.filter((v): v is string => typeof v === 'string').filter((v) => v.trim() !== '');
}

/** The captions of a parsed sample json, or a sentence saying why it has none. */
export function jsonCaptions(value: unknown): JsonCaptions | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the .json is not an object of caption fields';
  const json = value as Record<string, unknown>;
  if (DREAMLIP_FIELDS.some((field) => field in json)) {
    const textCrops = DREAMLIP_FIELDS.flatMap((field) => strings(json[field]));
    const raw = strings(json.raw_caption);
    if (textCrops.length === 0) return `the .json's caption fields (${DREAMLIP_FIELDS.join(', ')}) are all empty`;
    return { textCrops, raw: raw.length > 0 ? raw : textCrops };
  }
  if ('original_caption' in json || 'caption' in json) {
    const original = strings(json.original_caption);
    const long = strings(json.caption).flatMap(splitCaption);
    const textCrops = [...original, ...long];
    if (textCrops.length === 0) return 'the .json\'s "original_caption" and "caption" are empty';
    return { textCrops, raw: original.length > 0 ? original : strings(json.caption) };
  }
  return `the .json has none of DreamLIP's caption fields (${DREAMLIP_FIELDS.join(', ')}) nor PixelProse's (original_caption, caption)`;
}
