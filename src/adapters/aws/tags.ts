// AWS tag lists ({Key, Value}[]) as the maps the rest of the code works with.
export type Tags = Record<string, string>;

export const toTags = (tags: { Key?: string; Value?: string }[] | undefined): Tags =>
  Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));

export const fromTags = (tags: Tags) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
