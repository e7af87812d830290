/** @iota/kerl's internal converter, which its package ships without a declaration at this path; the tests compare ours with it. */
declare module '@iota/kerl/out/kerl/src/word-converter' {
  export function wordsToTrits(words: Uint32Array): Int8Array;
}
