// Is every ref a trust-policy pattern admits protected in GitLab? A spec ref
// is an IAM glob (* any run of characters, ? one character); a protected
// branch or tag is a name or a GitLab wildcard (* any run of characters,
// slashes included). The ref is covered when one protected name admits every
// ref the glob admits: the protected pattern must match the glob with the
// glob's own * and ? taken as letters that only a protected * can stand for.

/** Whether the protected name `pattern` admits every ref that the glob `ref` admits. */
export function covers(pattern: string, ref: string): boolean {
  // memo[i][j]: pattern from i covers ref from j
  const memo = new Map<number, boolean>();
  const at = (i: number, j: number): boolean => {
    const key = i * (ref.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === pattern.length) result = j === ref.length;
    else if (pattern[i] === '*') result = at(i + 1, j) || (j < ref.length && at(i, j + 1));
    else
      result =
        j < ref.length && ref[j] !== '*' && ref[j] !== '?' && pattern[i] === ref[j] && at(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return at(0, 0);
}

/** The refs (spec globs) that no protected name covers. */
export function unprotectedRefs(refs: string[], protectedNames: string[]): string[] {
  return refs.filter((ref) => !protectedNames.some((p) => covers(p, ref)));
}
