/**
 * Which input columns hold the ad's id, image URL and text. Names are compared
 * without case and punctuation, so `creative_id`, `Creative ID` and `creativeId` match.
 */
export interface FieldColumns {
  id: string | null;
  url: string | null;
  text: string | null;
}

/** Aliases in order of preference: `creative_id` wins over a generic `id`. */
const ALIASES: Record<keyof FieldColumns, readonly string[]> = {
  id: ['creativeid', 'adid', 'id'],
  url: ['imageurl', 'imgurl', 'imageuri', 'imagelink', 'url', 'image', 'uri'],
  text: ['adtext', 'text', 'adcopy'],
};

function normalizeColumnName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export function isKnownColumnName(name: string): boolean {
  const key = normalizeColumnName(name);
  return Object.values(ALIASES).some((aliases) => aliases.includes(key));
}

export function findFieldColumns(columns: readonly string[]): FieldColumns {
  const byKey = new Map<string, string>();
  for (const column of columns) {
    const key = normalizeColumnName(column);
    if (!byKey.has(key)) byKey.set(key, column);
  }
  const pick = (field: keyof FieldColumns): string | null => {
    for (const alias of ALIASES[field]) {
      const column = byKey.get(alias);
      if (column !== undefined) return column;
    }
    return null;
  };
  return { id: pick('id'), url: pick('url'), text: pick('text') };
}

/** A value that is plainly meant as a link (used to find the URL column of a header-less list). */
export function looksLikeUrl(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(value.trim());
}
